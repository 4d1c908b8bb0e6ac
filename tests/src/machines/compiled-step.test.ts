import { resolvePolicy } from 'campaign-lifecycle';
import { createMessageStepper, type MessageEvent } from 'campaign-lifecycle/machines';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, createMachine, initialTransition, setup } from 'xstate';
import { compileFlatMachine } from '../../../src/machines/compiled-step.js';
import { emailMessageMachine } from '../../../src/machines/email-message.js';
import { smsMessageMachine } from '../../../src/machines/sms-message.js';

type Unstamped = { type: string } & Record<string, unknown>;
const pool: Record<'sms' | 'email', Unstamped[]> = {
  sms: [
    { type: 'PROVIDER_SENT' },
    { type: 'PROVIDER_SENT', providerMessageId: 'SM2' },
    { type: 'xstate.after.presendBackoff.sms.backoff' },
    { type: 'xstate.after.sendingTimeout.sms.sending' },
    { type: 'xstate.after.receiptTimeout.sms.sent' },
  ],
  email: [
    { type: 'PROVIDER_DEFERRED' },
    { type: 'PROVIDER_DEFERRED', attempt: 2 },
    { type: 'xstate.after.presendBackoff.email.backoff' },
    { type: 'xstate.after.sendingTimeout.email.sending' },
    { type: 'xstate.after.deferralWindow.email.retrying' },
  ],
};
const common: Unstamped[] = [
  { type: 'QUEUE' },
  { type: 'DISPATCH' },
  { type: 'SEND_ACCEPTED', providerMessageId: 'p1' },
  { type: 'PROVIDER_SENDING', providerMessageId: 'p2' },
  { type: 'SEND_UNKNOWN', error: 'timeout' },
  { type: 'SEND_PRESEND_ERROR', error: '503', retryAfterMs: 600_000 },
  { type: 'SEND_PRESEND_ERROR', error: 'ECONNREFUSED' },
  { type: 'SEND_REJECTED', reason: 'opted_out', code: '21610' },
  { type: 'SEND_REJECTED', reason: 'invalid_number', code: '21211' },
  { type: 'PROVIDER_DELIVERED' },
  { type: 'PROVIDER_FAILED', reason: 'unreachable', code: '30003' },
  { type: 'PROVIDER_FAILED', reason: 'unknown', code: '30008' },
  { type: 'OPT_OUT', source: 'STOP' },
  { type: 'CANCEL' },
  { type: 'CLOSE' },
  { type: 'RETRY' },
];

describe('compiled step: the message machines compiled into a (state, event) table', () => {
  it('should compile both message machines (so the fast path is the one in use)', () => {
    for (const machine of [smsMessageMachine, emailMessageMachine]) {
      const compiled = compileFlatMachine(machine);
      expect(compiled?.initial).toBeTypeOf('function');
      expect(compiled?.step).toBeTypeOf('function');
    }
  });

  it.each(['sms', 'email'] as const)(
    'should agree with XState on every %s step, for any policy (Infinity deferral window included)',
    (channel) => {
      const events = [...common, ...pool[channel]];
      fc.assert(
        fc.property(
          fc.record({
            maxPresendRetries: fc.integer({ min: 0, max: 4 }),
            presendBackoff: fc.integer({ min: 1, max: 120_000 }),
            emailDeferralWindow: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 1, max: 1e9 })),
            smsReceiptTimeout: fc.integer({ min: 1, max: 3_600_000 }),
          }),
          fc.array(fc.tuple(fc.nat(events.length - 1), fc.nat(7_200_000)), { minLength: 10, maxLength: 40 }),
          fc.nat(2e12),
          (policyInput, moves, start) => {
            const policy = resolvePolicy(policyInput);
            const fast = createMessageStepper(channel, policy);
            const slow = createMessageStepper(channel, policy, { compiled: false });
            let a = fast.initial(start);
            let b = slow.initial(start);
            expect(a).toEqual(b);
            let at = start;
            for (const [i, gap] of moves) {
              at += gap;
              const event = { ...events[i], at } as MessageEvent;
              const x = fast.step(a, event);
              const y = slow.step(b, event);
              expect(x).toEqual(y);
              a = x;
              b = y;
            }
          },
        ),
        { seed: 20261123, numRuns: 300 },
      );
    },
  );

  it("should start like initialTransition(): the context made from the input, the initial state's timers raised", () => {
    const machine = setup({
      types: { context: {} as { n: number; at: number }, input: {} as { at: number } },
      delays: { wait: ({ context }) => context.n * 1000 },
    }).createMachine({
      context: ({ input }) => ({ n: 3, at: input.at }),
      initial: 'idle',
      states: { idle: { after: { wait: 'done', 500: 'done' } }, done: {} },
    });
    const compiled = compileFlatMachine<{ n: number; at: number }>(machine);
    const [snapshot, actions] = initialTransition(machine, { at: 42 });
    const raised = actions
      .filter((a) => a.type === 'xstate.raise')
      .map((a) => {
        const p = a.params as { id: string; delay: number; event: { type: string } };
        return { id: p.id, delay: p.delay, event: p.event };
      });
    expect(compiled?.initial({ at: 42 })).toEqual({
      state: snapshot.value,
      context: snapshot.context,
      set: raised,
      cancel: [],
    });
    expect(raised.map((r) => r.delay).sort((x, y) => x - y)).toEqual([500, 3000]);
    const fixed = createMachine({ context: { k: 1 }, initial: 'a', states: { a: {} } });
    expect(compileFlatMachine(fixed)?.initial(undefined)).toMatchObject({ state: 'a', context: { k: 1 } });
  });

  it('should refuse machines it does not handle, so the caller falls back to XState', () => {
    const nested = createMachine({ initial: 'a', states: { a: { initial: 'x', states: { x: {} } } } });
    const withEntry = setup({ actions: { go: assign({}) } }).createMachine({
      initial: 'a',
      states: { a: { entry: 'go' } },
    });
    const eventless = createMachine({ initial: 'a', states: { a: { always: 'b' }, b: {} } });
    const rootEntry = setup({ actions: { go: assign({}) } }).createMachine({
      entry: 'go',
      initial: 'a',
      states: { a: {} },
    });
    expect(compileFlatMachine(rootEntry)).toBeUndefined();
    expect(compileFlatMachine(nested)).toBeUndefined();
    expect(compileFlatMachine(withEntry)).toBeUndefined();
    expect(compileFlatMachine(eventless)).toBeUndefined();
  });
});
