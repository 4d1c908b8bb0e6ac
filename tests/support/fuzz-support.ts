/**
 * Shared pieces of the fuzz tests: the run count and seed, the "typed or nothing" check, and a
 * snapshot of everything an engine holds, so that a refused input can be shown to change nothing.
 */
import { isOutreachError, type Outreach } from 'campaign-lifecycle';
import fc from 'fast-check';

/** Cases per property: 200 in `npm test`, 10,000 in `npm run test:fuzz`. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** A fixed seed, so a failure reproduces; override with `FUZZ_SEED` to explore further. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_260_105);

let announced = false;
/** The fast-check parameters of every property here (printed once per file, so a report names its seed). */
export function fuzzParams<T>(extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  if (!announced) {
    announced = true;
    console.info(`[fuzz] seed=${FUZZ_SEED} runs=${FUZZ_RUNS} (FUZZ_SEED / FUZZ_RUNS to change)`);
  }
  return { numRuns: FUZZ_RUNS, seed: FUZZ_SEED, ...extra };
}

/** What calling an input-handling function gave: a value, or the error it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs `fn` and keeps its value or its error (sync throws and rejections alike). */
export async function outcomeOf<T>(fn: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Fails with the untyped error itself, so fast-check's report shows what was thrown and by which input. */
export function assertTyped(outcome: Outcome<unknown>): void {
  if (!outcome.ok && !isOutreachError(outcome.error)) {
    const e = outcome.error;
    throw new Error(`untyped throw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, { cause: e });
  }
}

/**
 * Everything the engine holds that a command or event could change: every campaign (with counters),
 * and for the given campaigns their contacts, messages and message logs, plus the suppression state
 * of the given addresses.
 */
export async function engineSnapshot(
  outreach: Outreach,
  campaignIds: readonly string[],
  addresses: readonly { channel: 'sms' | 'email'; address: string; scope?: string }[] = [],
): Promise<string> {
  const campaigns = await outreach.listCampaigns();
  const owned = [];
  for (const id of campaignIds) {
    const messages = await outreach.listMessages(id, { limit: 100_000 });
    owned.push({
      id,
      contacts: await outreach.listContacts(id, { limit: 100_000 }),
      messages: await Promise.all(messages.map((m) => outreach.getMessage(m.id))),
    });
  }
  const suppressed = await Promise.all(addresses.map((a) => outreach.isSuppressed(a)));
  return JSON.stringify({ campaigns, owned, suppressed });
}

/** Strings with the characters that break naive parsers: quotes, separators, CR/LF, NUL, BOM, astral and lone surrogates. */
export const nastyString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc
      .array(fc.constantFrom(...'{}|"\',;\r\n\t =&%+?#\\\u0000\uFEFF\uD800'), { maxLength: 12 })
      .map((chars) => chars.join('')),
    fc.constantFrom('', ' ', '\u0000', '\uFEFF', '\uD800', '{{', '}}', '{{}}', '{{|}}', '__proto__', 'constructor'),
  );
