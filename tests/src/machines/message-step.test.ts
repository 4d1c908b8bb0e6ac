import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AnyMachineSnapshot, initialTransition, transition } from 'xstate';
import { isOutreachError, OutreachError } from '../../../src/errors.js';
import type { MessageEvent } from '../../../src/machines/message-events.js';
import { MESSAGE_STATE_STATUS } from '../../../src/machines/message-machine-shared.js';
import {
  applyMessageEvent,
  createMessageStepper,
  statusOfMessageState,
  timersOf,
} from '../../../src/machines/message-step.js';
import { DEFAULT_POLICY } from '../../../src/policy.js';
import type { Channel } from '../../../src/statuses.js';
import type { Unstamped } from '../../support/message-harness.js';

const payloads: Record<Channel, Unstamped[]> = {
  sms: [
    { type: 'PROVIDER_SENT', providerMessageId: 'SM9' },
    { type: 'xstate.after.presendBackoff.sms.backoff' },
    { type: 'xstate.after.sendingTimeout.sms.sending' },
    { type: 'xstate.after.receiptTimeout.sms.sent' },
  ],
  email: [
    { type: 'PROVIDER_DEFERRED' },
    { type: 'PROVIDER_DEFERRED', attempt: 3 },
    { type: 'xstate.after.presendBackoff.email.backoff' },
    { type: 'xstate.after.sendingTimeout.email.sending' },
    { type: 'xstate.after.deferralWindow.email.retrying' },
  ],
};
const commonPayloads: Unstamped[] = [
  { type: 'QUEUE' },
  { type: 'DISPATCH' },
  { type: 'DISPATCH' },
  { type: 'SEND_ACCEPTED', providerMessageId: 'p1' },
  { type: 'PROVIDER_SENDING', providerMessageId: 'p2' },
  { type: 'SEND_UNKNOWN', error: 'timeout' },
  { type: 'SEND_PRESEND_ERROR', error: '503', retryAfterMs: 90_000 },
  { type: 'SEND_PRESEND_ERROR', error: 'ECONNREFUSED' },
  { type: 'SEND_REJECTED', reason: 'invalid_number', code: '21211' },
  { type: 'PROVIDER_DELIVERED' },
  { type: 'PROVIDER_FAILED', reason: 'unreachable', code: '30003' },
  { type: 'PROVIDER_FAILED', reason: 'opted_out' },
  { type: 'OPT_OUT', source: 'STOP' },
  { type: 'CANCEL' },
  { type: 'CLOSE' },
  { type: 'RETRY' },
];

describe('message-step: stepper against the public XState API', () => {
  it.each([
    ['sms', true],
    ['email', true],
    ['sms', false],
    ['email', false],
  ] as const)(
    'should give the same state, context and timers as initialTransition()/transition() over random %s steps (compiled table: %s)',
    (channel, compiled) => {
      const stepper = createMessageStepper(channel, DEFAULT_POLICY, { compiled });
      const machine = stepper.machine;
      const pool = [...commonPayloads, ...payloads[channel]];
      let steps = 0;
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: 0, max: pool.length - 1 }), fc.integer({ min: 0, max: 3_600_000 })), {
            minLength: 25,
            maxLength: 50,
          }),
          fc.integer({ min: 0, max: 1e12 }),
          (moves, start) => {
            const [pub0, pubActions0] = initialTransition(machine, { at: start });
            const first = stepper.initial(start);
            expect([first.state, first.context]).toEqual([pub0.value, pub0.context]);
            expect(first.timers).toEqual(timersOf(pubActions0));
            let pub: AnyMachineSnapshot = pub0;
            let current = { state: first.state, context: first.context };
            let now = start;
            for (const [index, gap] of moves) {
              now += gap;
              const event = { ...pool[index]!, at: now } as MessageEvent;
              const [pubNext, pubActions] = transition(machine, pub as never, event);
              const step = stepper.step(current, event);
              expect(step.changed).toBe(pubNext !== pub);
              expect(step.state).toEqual(pubNext.value);
              expect(step.context).toEqual(pubNext.context);
              expect(step.status).toBe(MESSAGE_STATE_STATUS[step.state as keyof typeof MESSAGE_STATE_STATUS]);
              if (step.changed) expect(step.timers).toEqual(timersOf(pubActions));
              pub = pubNext;
              current = { state: step.state, context: step.context };
              steps++;
            }
          },
        ),
        { seed: channel === 'sms' ? 20_240_601 : 20_240_602, numRuns: compiled ? 120 : 40 },
      );
      expect(steps).toBeGreaterThanOrEqual(compiled ? 3_000 : 1_000);
    },
  );
});

describe('message-step: timers', () => {
  it('should turn delayed raises into timers and cancels into ids, and drop raises with no or an infinite delay', () => {
    const event = { type: 'xstate.after.x.sms.sent' };
    const actions = [
      { type: 'xstate.raise', params: { event, id: event.type, delay: 600_000 } },
      { type: 'xstate.raise', params: { event: { type: 'NOW' } } },
      { type: 'xstate.raise', params: { event, id: 'forever', delay: Number.POSITIVE_INFINITY } },
      { type: 'xstate.cancel', params: { sendId: 'old' } },
      { type: 'someAction', params: {} },
    ];
    expect(timersOf(actions as never)).toEqual({
      set: [{ id: event.type, delay: 600_000, event }],
      cancel: ['old'],
    });
  });

  it('should ask for the sending timer on dispatch and cancel it on leaving sending', () => {
    const stepper = createMessageStepper('sms', DEFAULT_POLICY);
    const queued = stepper.step(stepper.initial(0), { type: 'QUEUE', at: 1 });
    const sending = stepper.step(queued, { type: 'DISPATCH', at: 2 });
    const id = 'xstate.after.sendingTimeout.sms.sending';
    expect(sending.timers).toEqual({
      set: [{ id, delay: DEFAULT_POLICY.smsSendingTimeout, event: { type: id } }],
      cancel: [],
    });
    expect(stepper.step(sending, { type: 'PROVIDER_DELIVERED', at: 3 }).timers.cancel).toEqual([id]);
  });

  it('should ignore a stale timer (changed false, no timers)', () => {
    const stepper = createMessageStepper('sms', DEFAULT_POLICY);
    const waiting = stepper.initial(0);
    const step = stepper.step(waiting, { type: 'xstate.after.receiptTimeout.sms.sent', at: 5 });
    expect(step).toEqual({ ...waiting, changed: false });
  });
});

describe('message-step: statuses', () => {
  it('should show backoff and outside_window as queued and every other state as its own status', () => {
    expect(statusOfMessageState('sms', 'backoff')).toBe('queued');
    expect(statusOfMessageState('sms', 'outside_window')).toBe('queued');
    for (const channel of ['sms', 'email'] as const) {
      const stepper = createMessageStepper(channel, DEFAULT_POLICY);
      for (const state of Object.keys(stepper.machine.root.states)) {
        expect(stepper.statusOf(state)).toBe(state === 'backoff' || state === 'outside_window' ? 'queued' : state);
      }
    }
  });

  it.each([
    ['sms', 'retrying'],
    ['email', 'sent'],
    ['email', 'assumed_delivered'],
    ['sms', 'nope'],
    ['sms', 'toString'],
  ] as const)('should refuse %s state "%s" with VALIDATION_FAILED', (channel, state) => {
    expect(() => statusOfMessageState(channel, state)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining(state) }),
    );
  });
});

describe('message-step: bad input', () => {
  const stepper = createMessageStepper('sms', DEFAULT_POLICY);
  const queued = stepper.step(stepper.initial(0), { type: 'QUEUE', at: 1 });

  it.each([
    ['an unknown type', { type: 'EXPLODE', at: 1 }],
    ['a missing at', { type: 'DISPATCH' }],
    ['a negative at', { type: 'DISPATCH', at: -5 }],
    ['an unknown failure reason', { type: 'PROVIDER_FAILED', at: 2, reason: 'gremlins' }],
    ['a timer event without at', { type: 'xstate.after.sendingTimeout.sms.sending' }],
    ['not an object', 'DISPATCH'],
    ['null', null],
  ])('should reject %s with VALIDATION_FAILED and change nothing', (_name, event) => {
    const before = structuredClone(queued);
    let error: unknown;
    try {
      applyMessageEvent(stepper, queued, event);
    } catch (e) {
      error = e;
    }
    expect(isOutreachError(error)).toBe(true);
    expect(error).toBeInstanceOf(OutreachError);
    expect((error as OutreachError).code).toBe('VALIDATION_FAILED');
    expect((error as OutreachError).message).toMatch(/Invalid message event/);
    expect(queued).toEqual(before);
  });

  it('should name the bad field in the message', () => {
    expect(() => applyMessageEvent(stepper, queued, { type: 'DISPATCH', at: 'soon' })).toThrow(/at/);
  });

  it('should apply a well-formed event and a well-formed timer event', () => {
    const sending = applyMessageEvent(stepper, queued, { type: 'DISPATCH', at: 2 });
    expect(sending.status).toBe('sending');
    const failed = applyMessageEvent(stepper, sending, {
      type: 'xstate.after.sendingTimeout.sms.sending',
      at: 600_002,
    });
    expect(failed.context.reason).toBe('timed_out');
  });
});
