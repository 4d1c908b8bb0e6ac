import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { providerEventProblem } from '../../src/provider-event-check.js';
import { ProviderEventSchema } from '../../src/provider-events.js';

// Text as a webhook may carry it: ordinary, empty, huge, with a NUL or half a surrogate pair.
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constant(''),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('SM\u0000abc', 'a\uD800', '\uDC00b', '\uD83D\uDE00ok'),
  fc.integer({ min: 90, max: 2100 }).map((n) => 'x'.repeat(n)),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY));

const statusEvent = fc.record(
  {
    type: fc.constant('status' as const),
    channel: fc.constantFrom('sms' as const, 'email' as const),
    status: fc.constantFrom('sending' as const, 'sent' as const, 'delivered' as const, 'failed' as const),
    messageId: maybe(text),
    providerMessageId: maybe(text),
    code: maybe(text),
    providerStatus: maybe(text),
    eventId: maybe(text),
    dedupeKey: maybe(text),
    detail: maybe(text),
    occurredAt: maybe(number),
    attempt: maybe(number),
    read: maybe(fc.oneof(fc.boolean(), fc.constantFrom('true', 1, null))),
  },
  { requiredKeys: ['type', 'channel', 'status'] },
);
const suppressionEvent = fc.record(
  {
    type: fc.constant('suppression' as const),
    action: fc.constantFrom('opt_out' as const, 'opt_in' as const),
    channel: fc.constantFrom('sms' as const, 'email' as const),
    address: text,
    scope: maybe(text),
    source: maybe(text),
    eventId: maybe(text),
    occurredAt: maybe(number),
  },
  { requiredKeys: ['type', 'action', 'channel', 'address'] },
);

// Drop keys set to undefined: parsers never set a field to undefined.
const defined = (event: object) => Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined));

describe('webhook parsers refuse exactly what ingest refuses (the zod-free check agrees with the schemas)', () => {
  it('should accept an event if and only if ProviderEventSchema accepts it', () => {
    fc.assert(
      fc.property(fc.oneof(statusEvent, suppressionEvent), (raw) => {
        const event = defined(raw) as Parameters<typeof providerEventProblem>[0];
        const schemaAccepts = ProviderEventSchema.safeParse(event).success;
        expect(providerEventProblem(event) === null).toBe(schemaAccepts);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000), seed: 20261129 },
    );
  });

  it('should name the field at fault: a NUL in MessageSid is refused as providerMessageId', () => {
    expect(
      providerEventProblem({ type: 'status', channel: 'sms', status: 'sent', providerMessageId: 'SM\u0000' }),
    ).toEqual({ path: 'providerMessageId', message: expect.stringContaining('NUL') });
  });
});
