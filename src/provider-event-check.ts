/**
 * The field checks of `StatusEventSchema` / `SuppressionEventSchema` that a webhook parser needs,
 * without zod: the adapters call this on the events they build, so a malformed field (a NUL in
 * `MessageSid`, half a surrogate pair) is refused where it arrives (4xx, or that event skipped) and
 * loading an adapter does not load the schemas. `ingest` still checks every event with the schemas;
 * a test keeps the two in agreement.
 */
import { LIMITS } from './limits.js';
import type { ProviderEvent } from './provider-events.js';
import { textProblem } from './validation-text.js';

/** Each string field an event may carry: its longest length and whether it may be empty. */
const STRING_FIELDS: Record<ProviderEvent['type'], Record<string, { max: number; nonEmpty: boolean }>> = {
  status: {
    messageId: { max: 200, nonEmpty: true },
    providerMessageId: { max: 300, nonEmpty: true },
    code: { max: 100, nonEmpty: false },
    providerStatus: { max: 100, nonEmpty: false },
    eventId: { max: 300, nonEmpty: true },
    dedupeKey: { max: 500, nonEmpty: true },
    detail: { max: 2000, nonEmpty: false },
  },
  suppression: {
    address: { max: LIMITS.addressLength, nonEmpty: true },
    scope: { max: 200, nonEmpty: true },
    source: { max: 100, nonEmpty: false },
    text: { max: 1600, nonEmpty: false },
    eventId: { max: 300, nonEmpty: true },
  },
};

/**
 * What is wrong with the text or number fields of an event a parser built, as `{ path, message }`,
 * or null when `ingest` will accept them. Enumerated fields (type, status, channel, reason) are the
 * parser's own constants and are not checked here.
 */
export function providerEventProblem(event: ProviderEvent): { path: string; message: string } | null {
  const fields = STRING_FIELDS[event.type];
  const record = event as unknown as Record<string, unknown>;
  for (const [name, rule] of Object.entries(fields)) {
    const value = record[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') return { path: name, message: 'must be text' };
    if (value.length > rule.max) return { path: name, message: `must be at most ${rule.max} characters` };
    if (rule.nonEmpty && value.length === 0) return { path: name, message: 'must not be empty' };
    const problem = textProblem(value);
    if (problem) return { path: name, message: `must be well-formed text: it ${problem}` };
  }
  if (record.occurredAt !== undefined && !Number.isFinite(record.occurredAt)) {
    return { path: 'occurredAt', message: 'must be a finite number' };
  }
  if (
    record.attempt !== undefined &&
    !(typeof record.attempt === 'number' && Number.isSafeInteger(record.attempt) && record.attempt >= 0)
  ) {
    return { path: 'attempt', message: 'must be a whole number, 0 or more' };
  }
  if (record.read !== undefined && typeof record.read !== 'boolean') {
    return { path: 'read', message: 'must be true or false' };
  }
  if (event.type === 'status' && event.messageId === undefined && event.providerMessageId === undefined) {
    return { path: 'messageId', message: 'A status event needs messageId or providerMessageId' };
  }
  return null;
}
