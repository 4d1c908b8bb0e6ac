import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAILURE_REASON_IDS, type FailureReasonId } from '../../../src/failure-reasons.js';
import { DEFAULT_POLICY, presendBackoffFor, resolvePolicy } from '../../../src/policy.js';
import type { MessageContext } from '../../../src/records.js';
import type { Channel } from '../../../src/statuses.js';
import { TinyEngine, type Unstamped } from '../../support/message-harness.js';

const MIN = 60_000;

/** Reasons a provider really reports (the library's own guesses and bookkeeping reasons left out). */
const providerReasons = FAILURE_REASON_IDS.filter(
  (r) => !['timed_out', 'expired', 'closed_by_user'].includes(r),
) as FailureReasonId[];

const terminal = fc.oneof(
  fc.constant<Unstamped>({ type: 'PROVIDER_DELIVERED' }),
  fc
    .tuple(fc.constantFrom(...providerReasons), fc.constantFrom('30003', '550', undefined))
    .map(([reason, code]): Unstamped => ({ type: 'PROVIDER_FAILED', reason, ...(code ? { code } : {}) })),
);

/** What the provider says about one message, in its true order. */
function truthOf(channel: Channel) {
  return fc
    .record({
      sending: fc.boolean(),
      progress: channel === 'sms' ? fc.integer({ min: 0, max: 1 }) : fc.integer({ min: 0, max: 3 }),
      end: fc.option(terminal, { nil: undefined }),
    })
    .map(({ sending, progress, end }) => {
      const events: Unstamped[] = [];
      if (sending) events.push({ type: 'PROVIDER_SENDING', providerMessageId: 'P1' });
      for (let i = 1; i <= progress; i++) {
        events.push(channel === 'sms' ? { type: 'PROVIDER_SENT' } : { type: 'PROVIDER_DEFERRED', attempt: i });
      }
      if (end) events.push(end);
      return { events, end };
    });
}

/** An SMS or email the dispatcher handed over at t = 0. */
function handedOver(channel: Channel): TinyEngine {
  const e = new TinyEngine(channel);
  e.send({ type: 'QUEUE' });
  e.send({ type: 'DISPATCH' });
  return e;
}

/** The delivery reordered and duplicated by the network: every event at least once, in any order. */
const deliveryOf = (events: Unstamped[]) =>
  fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: Math.max(0, events.length - 1) }), { maxLength: 6 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 12, maxLength: 12 }),
    )
    .map(([extra, keys]) => {
      const all = events.length ? [...events, ...extra.map((i) => events[i]!)] : [];
      return all
        .map((e, i) => ({ e, k: keys[i % keys.length]! + i * 1e-9 }))
        .sort((a, b) => a.k - b.k)
        .map((x) => x.e);
    });

/** How far a message has come by the provider's word. Guesses rank with the state they guessed from. */
function rank(state: string, context: MessageContext): number {
  switch (state) {
    case 'waiting':
    case 'queued':
    case 'backoff':
      return 0;
    case 'sending':
      return 1;
    case 'sent':
    case 'retrying':
    case 'assumed_delivered':
      return 2;
    case 'failed':
      return context.reason === 'timed_out' ? 1 : context.reason === 'expired' ? 2 : 3;
    default:
      return 3;
  }
}

describe('message machines: order and duplicates (late truth wins)', () => {
  it.each(['sms', 'email'] as const)(
    'should end a %s message in the same status for any delivery order, duplicates and delays when the truth is the same',
    (channel) => {
      fc.assert(
        fc.property(
          truthOf(channel).chain((truth) =>
            fc.tuple(
              fc.constant(truth),
              deliveryOf(truth.events),
              fc.array(fc.integer({ min: 0, max: 80 * 60 * MIN }), { minLength: 20, maxLength: 20 }),
            ),
          ),
          ([truth, delivered, gaps]) => {
            const ordered = handedOver(channel);
            for (const e of truth.events) ordered.send(e);
            const shuffled = handedOver(channel);
            // Without a terminal report the timeout rules decide, so delays only apply when the truth ends.
            delivered.forEach((e, i) => {
              if (truth.end) shuffled.advance(gaps[i % gaps.length]!);
              shuffled.send(e);
            });
            expect(shuffled.status).toBe(ordered.status);
            expect(shuffled.context.reason).toBe(ordered.context.reason);
          },
        ),
        { seed: channel === 'sms' ? 4242 : 4343, numRuns: 400 },
      );
    },
  );

  it.each(['sms', 'email'] as const)(
    'should never move a %s message backwards on provider reports and timers',
    (channel) => {
      const providerEvents: Unstamped[] = [
        { type: 'PROVIDER_SENDING', providerMessageId: 'P2' },
        { type: 'PROVIDER_SENT' },
        { type: 'PROVIDER_DEFERRED' },
        { type: 'PROVIDER_DELIVERED' },
        { type: 'PROVIDER_FAILED', reason: 'carrier_blocked', code: '30007' },
        { type: 'PROVIDER_FAILED', reason: 'opted_out' },
        { type: 'OPT_OUT', source: 'STOP' },
      ];
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.constantFrom(...providerEvents), fc.integer({ min: 0, max: 80 * 60 * MIN })), {
            minLength: 1,
            maxLength: 20,
          }),
          (moves) => {
            const e = handedOver(channel);
            let last = rank(e.state, e.context);
            for (const [event, gap] of moves) {
              e.advance(gap);
              expect(rank(e.state, e.context)).toBeGreaterThanOrEqual(last);
              last = rank(e.state, e.context);
              // After the provider's own final word only an opt-out (a fact about the contact) changes anything.
              const settled = last === 3 && (event.type !== 'OPT_OUT' || e.state === 'opted_out');
              const step = e.send(event);
              if (settled) expect(step.changed).toBe(false);
              expect(rank(e.state, e.context)).toBeGreaterThanOrEqual(last);
              last = rank(e.state, e.context);
            }
          },
        ),
        { seed: channel === 'sms' ? 777 : 778, numRuns: 400 },
      );
    },
  );

  it.each(['sms', 'email'] as const)('should change nothing when a %s event is delivered twice in a row', (channel) => {
    const events: Unstamped[] = [
      { type: 'QUEUE' },
      { type: 'DISPATCH' },
      { type: 'SEND_ACCEPTED', providerMessageId: 'P1' },
      { type: 'SEND_PRESEND_ERROR', error: '503' },
      { type: 'SEND_REJECTED', reason: 'invalid_number' },
      { type: 'PROVIDER_SENT' },
      { type: 'PROVIDER_DEFERRED', attempt: 2 },
      { type: 'PROVIDER_DELIVERED' },
      { type: 'PROVIDER_FAILED', reason: 'unreachable' },
      { type: 'OPT_OUT', source: 'STOP' },
      { type: 'CANCEL' },
      { type: 'CLOSE' },
      { type: 'RETRY' },
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...events), fc.integer({ min: 0, max: 20 * MIN })), { maxLength: 15 }),
        fc.constantFrom(...events),
        (prefix, repeated) => {
          const e = new TinyEngine(channel);
          for (const [event, gap] of prefix) {
            e.advance(gap);
            e.send(event);
          }
          e.send(repeated);
          const before = { state: e.state, context: e.context };
          expect(e.send(repeated).changed).toBe(false);
          expect({ state: e.state, context: e.context }).toEqual(before);
        },
      ),
      { seed: channel === 'sms' ? 99 : 100, numRuns: 400 },
    );
  });
});

describe('message machines: every timeout rule fires at exactly its deadline', () => {
  const duration = fc.integer({ min: 1, max: 30 * 24 * 60 * MIN });
  const start = fc.integer({ min: 0, max: 2e12 });

  /** Asserts the engine is still in `state` one millisecond before `deadline` and has left it at `deadline`. */
  function expectDeadline(e: TinyEngine, state: string, deadline: number, then: string) {
    e.advanceTo(deadline - 1);
    expect(e.state).toBe(state);
    e.advanceTo(deadline);
    expect(e.state).toBe(then);
    expect(e.context.updatedAt).toBe(deadline);
  }

  it('should fail an SMS in sending at smsSendingTimeout, not a millisecond before', () => {
    fc.assert(
      fc.property(duration, start, (ms, t0) => {
        const e = new TinyEngine('sms', resolvePolicy({ smsSendingTimeout: ms }), t0);
        e.send({ type: 'QUEUE' });
        e.send({ type: 'DISPATCH' });
        expectDeadline(e, 'sending', t0 + ms, 'failed');
      }),
      { seed: 1, numRuns: 200 },
    );
  });

  it('should assume delivery of an SMS in sent at smsReceiptTimeout, not a millisecond before', () => {
    fc.assert(
      fc.property(duration, start, fc.integer({ min: 0, max: 5 * MIN }), (ms, t0, wait) => {
        const e = new TinyEngine('sms', resolvePolicy({ smsReceiptTimeout: ms, smsSendingTimeout: '1h' }), t0);
        e.send({ type: 'QUEUE' });
        e.send({ type: 'DISPATCH' });
        e.advance(wait);
        e.send({ type: 'PROVIDER_SENT' });
        expectDeadline(e, 'sent', t0 + wait + ms, 'assumed_delivered');
      }),
      { seed: 2, numRuns: 200 },
    );
  });

  it('should fail an email in sending at emailSendingTimeout, not a millisecond before', () => {
    fc.assert(
      fc.property(duration, start, (ms, t0) => {
        const e = new TinyEngine('email', resolvePolicy({ emailSendingTimeout: ms }), t0);
        e.send({ type: 'QUEUE' });
        e.send({ type: 'DISPATCH' });
        expectDeadline(e, 'sending', t0 + ms, 'failed');
      }),
      { seed: 3, numRuns: 200 },
    );
  });

  it('should expire a retrying email at first deferral + emailDeferralWindow, whatever deferrals follow', () => {
    fc.assert(
      fc.property(
        duration,
        start,
        fc.array(fc.double({ min: 0, max: 0.99, noNaN: true }), { maxLength: 5 }),
        (ms, t0, later) => {
          const e = new TinyEngine('email', resolvePolicy({ emailDeferralWindow: ms }), t0);
          e.send({ type: 'QUEUE' });
          e.send({ type: 'DISPATCH' });
          e.send({ type: 'PROVIDER_DEFERRED' });
          for (const f of [...later].sort()) {
            e.advanceTo(Math.max(e.now, t0 + Math.floor(f * (ms - 1))));
            e.send({ type: 'PROVIDER_DEFERRED' });
          }
          expectDeadline(e, 'retrying', t0 + ms, 'failed');
          expect(e.context.reason).toBe('expired');
        },
      ),
      { seed: 4, numRuns: 200 },
    );
  });

  it('should leave backoff at its pre-send backoff (or the longer Retry-After), not a millisecond before', () => {
    fc.assert(
      fc.property(
        start,
        fc.integer({ min: 1, max: DEFAULT_POLICY.maxPresendRetries }),
        fc.option(fc.integer({ min: 0, max: 20 * MIN }), { nil: undefined }),
        (t0, failures, retryAfterMs) => {
          const e = new TinyEngine('sms', DEFAULT_POLICY, t0);
          e.send({ type: 'QUEUE' });
          for (let i = 1; i < failures; i++) {
            e.send({ type: 'DISPATCH' });
            e.send({ type: 'SEND_PRESEND_ERROR', error: '503' });
            e.advance(presendBackoffFor(DEFAULT_POLICY, i));
          }
          e.send({ type: 'DISPATCH' });
          e.send({ type: 'SEND_PRESEND_ERROR', error: '429', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
          const wait = Math.max(presendBackoffFor(DEFAULT_POLICY, failures), retryAfterMs ?? 0);
          expectDeadline(e, 'backoff', e.now + wait, 'queued');
        },
      ),
      { seed: 5, numRuns: 200 },
    );
  });
});
