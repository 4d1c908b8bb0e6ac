/**
 * The clock port: where time comes from, and the one timer the worker keeps.
 */

/** A handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Time and a timer. The engine reads `now()` to stamp every transition and keeps at most one timer
 * (its next wake-up); per-message deadlines live in storage.
 */
export interface Clock {
  /** Milliseconds since the epoch. Must never go backwards. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds. A returned promise is awaited by fake clocks before they move on. */
  setTimeout(fn: () => unknown, ms: number): TimerHandle;
  /** Cancels a timer; unknown handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * The real clock: `Date.now()` and `setTimeout`, with delays past 24.8 days split so that Node never
 * clamps them to 1 ms.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const box: { t?: ReturnType<typeof setTimeout> } = {};
    const arm = (left: number) => {
      box.t = setTimeout(
        () => (left > MAX_TIMEOUT ? arm(left - MAX_TIMEOUT) : void fn()),
        Math.max(0, Math.min(left, MAX_TIMEOUT)),
      );
      box.t.unref?.();
    };
    arm(ms);
    return box;
  },
  clearTimeout(handle) {
    const box = handle as { t?: ReturnType<typeof setTimeout> } | undefined;
    if (box?.t) clearTimeout(box.t);
  },
};
