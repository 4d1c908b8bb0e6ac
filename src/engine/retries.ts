/**
 * Trying again: after a failed storage call (a lost connection, say), with backoff.
 */

/** Resolves after `ms` of real time (never the engine's clock: a fake clock would not advance). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, trying again with backoff after a failure, at most 8 times; each failure but the last goes to `onError`. */
export async function persistently<T>(fn: () => Promise<T>, onError: (error: unknown) => void): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 7) throw error;
      onError(error);
      await sleep(Math.min(2000, 50 * 2 ** attempt));
    }
  }
}
