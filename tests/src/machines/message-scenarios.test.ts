import { describe, expect, it } from 'vitest';
import { FAILURE_REASONS } from '../../../src/failure-reasons.js';
import { canRetry } from '../../../src/machines/message-machine-shared.js';
import { DEFAULT_POLICY, presendBackoffFor, resolvePolicy } from '../../../src/policy.js';
import { TinyEngine } from '../../support/message-harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** An SMS already handed to Twilio (state sending) at t = 0. */
function sendingSms(): TinyEngine {
  const e = new TinyEngine('sms');
  e.send({ type: 'QUEUE' });
  e.send({ type: 'DISPATCH' });
  e.send({ type: 'SEND_ACCEPTED', providerMessageId: 'SM1' });
  return e;
}

/** An email already handed to SendGrid (state sending) at t = 0. */
function sendingEmail(policy = DEFAULT_POLICY): TinyEngine {
  const e = new TinyEngine('email', policy);
  e.send({ type: 'QUEUE' });
  e.send({ type: 'DISPATCH' });
  return e;
}

describe('sms-message machine: seed 000 timeout rules', () => {
  it('a message in Sent status for more than 10 minutes is moved to Assumed Delivered', () => {
    const e = sendingSms();
    e.send({ type: 'PROVIDER_SENT' });
    e.advance(10 * MIN - 1);
    expect(e.status).toBe('sent');
    e.advance(1);
    expect(e.status).toBe('assumed_delivered');
    expect(e.context.updatedAt).toBe(10 * MIN);
  });

  it('if a delivery confirmation arrives later, the status is updated', () => {
    const e = sendingSms();
    e.send({ type: 'PROVIDER_SENT' });
    e.advance(11 * MIN);
    expect(e.status).toBe('assumed_delivered');
    e.send({ type: 'PROVIDER_DELIVERED' });
    expect(e.status).toBe('delivered');
  });

  it('a late undelivered receipt after Assumed Delivered fails the message with the real reason', () => {
    const e = sendingSms();
    e.send({ type: 'PROVIDER_SENT' });
    e.advance(11 * MIN);
    e.send({ type: 'PROVIDER_FAILED', reason: 'unreachable', code: '30003' });
    expect(e.status).toBe('failed');
    expect(e.context).toMatchObject({ reason: 'unreachable', code: '30003' });
  });

  it('a message in Sending status for more than 10 minutes is moved to Failed with reason Timed Out', () => {
    const e = sendingSms();
    e.advance(10 * MIN - 1);
    expect(e.status).toBe('sending');
    e.advance(1);
    expect(e.status).toBe('failed');
    expect(e.context.reason).toBe('timed_out');
  });

  it('if delivery is subsequently confirmed, the status is updated and the failure reason removed', () => {
    const e = sendingSms();
    e.advance(10 * MIN);
    e.send({ type: 'PROVIDER_DELIVERED' });
    expect(e.status).toBe('delivered');
    expect(e.context).toMatchObject({ reason: null, code: null });
  });

  it('should move a timed-out SMS to Sent on a late sent report and restart the receipt rule', () => {
    const e = sendingSms();
    e.advance(10 * MIN);
    e.advance(5 * MIN);
    e.send({ type: 'PROVIDER_SENT' });
    expect(e.status).toBe('sent');
    expect(e.context.reason).toBeNull();
    e.advance(10 * MIN - 1);
    expect(e.status).toBe('sent');
    e.advance(1);
    expect(e.status).toBe('assumed_delivered');
  });

  it('should not restart the sending timer on accepted, sending or unknown-outcome reports', () => {
    const e = sendingSms();
    e.advance(5 * MIN);
    e.send({ type: 'PROVIDER_SENDING', providerMessageId: 'SM2' });
    e.send({ type: 'SEND_UNKNOWN', error: 'socket hang up' });
    expect(e.context.providerMessageId).toBe('SM2');
    e.advance(5 * MIN);
    expect(e.status).toBe('failed');
    expect(e.context.reason).toBe('timed_out');
  });

  it('should ignore a sent report that arrives after delivered (never backwards)', () => {
    const e = sendingSms();
    e.send({ type: 'PROVIDER_DELIVERED' });
    const step = e.send({ type: 'PROVIDER_SENT' });
    expect(step.changed).toBe(false);
    expect(e.status).toBe('delivered');
  });

  it('should ignore a second terminal report after a real provider terminal report', () => {
    const e = sendingSms();
    e.send({ type: 'PROVIDER_FAILED', reason: 'carrier_blocked', code: '30007' });
    expect(e.send({ type: 'PROVIDER_DELIVERED' }).changed).toBe(false);
    expect(e.send({ type: 'PROVIDER_FAILED', reason: 'unknown', code: '30008' }).changed).toBe(false);
    expect(e.context.reason).toBe('carrier_blocked');
  });
});

describe('message machines: seed 000 automatic retry', () => {
  it('messages that fail due to pre-send system errors are automatically retried up to 3 times', () => {
    const e = new TinyEngine('sms');
    e.send({ type: 'QUEUE' });
    for (let attempt = 1; attempt <= 4; attempt++) {
      e.send({ type: 'DISPATCH' });
      expect(e.context.attempts).toBe(attempt);
      e.send({ type: 'SEND_PRESEND_ERROR', error: 'ECONNREFUSED' });
      if (attempt <= 3) {
        expect(e.state).toBe('backoff');
        expect(e.status).toBe('queued');
        const wait = presendBackoffFor(DEFAULT_POLICY, attempt);
        e.advance(wait - 1);
        expect(e.state).toBe('backoff');
        e.advance(1);
        expect(e.state).toBe('queued');
      }
    }
    expect(e.status).toBe('failed');
    expect(e.context.reason).toBe('pre_send_error');
  });

  it("should wait the provider's Retry-After when it is longer than the backoff", () => {
    const e = sendingEmail();
    e.send({ type: 'SEND_PRESEND_ERROR', error: '429', retryAfterMs: 5 * MIN });
    e.advance(5 * MIN - 1);
    expect(e.state).toBe('backoff');
    e.advance(1);
    expect(e.state).toBe('queued');
  });

  it('should fail at once, without automatic retry, when the provider refuses the message for good', () => {
    const e = sendingSms();
    e.send({ type: 'SEND_REJECTED', reason: 'invalid_number', code: '21211' });
    expect(e.status).toBe('failed');
    expect(e.context).toMatchObject({ reason: 'invalid_number', code: '21211', attempts: 1 });
    expect(e.timers.size).toBe(0);
  });
});

describe('email-message machine: deferrals (seed 000, seed 001)', () => {
  it('SendGrid is automatically retrying delivery for up to 72 hours', () => {
    const e = sendingEmail();
    e.advance(HOUR);
    e.send({ type: 'PROVIDER_DEFERRED', attempt: 1 });
    expect(e.status).toBe('retrying');
    expect(e.context).toMatchObject({ firstDeferredAt: HOUR, deferrals: 1 });
    e.advance(24 * HOUR);
    e.send({ type: 'PROVIDER_DEFERRED', attempt: 2 });
    expect(e.context).toMatchObject({ firstDeferredAt: HOUR, deferrals: 2 });
    e.advance(20 * HOUR);
    e.send({ type: 'PROVIDER_DELIVERED' });
    expect(e.status).toBe('delivered');
  });

  it('after 72 hours, if the message still has not been accepted by the recipient server, it is marked as Failed', () => {
    const e = sendingEmail();
    e.advance(HOUR);
    e.send({ type: 'PROVIDER_DEFERRED' });
    e.advance(30 * HOUR);
    // Another deferral does not move the window: it runs from the first one.
    e.send({ type: 'PROVIDER_DEFERRED' });
    e.advanceTo(HOUR + 72 * HOUR - 1);
    expect(e.status).toBe('retrying');
    e.advance(1);
    expect(e.status).toBe('failed');
    expect(e.context.reason).toBe('expired');
  });

  it('soft bounce: the campaign will continue to try to resend indefinitely (deferral window Infinity)', () => {
    const e = sendingEmail(resolvePolicy({ emailDeferralWindow: Infinity }));
    const step = e.send({ type: 'PROVIDER_DEFERRED' });
    expect(step.timers.set).toEqual([]);
    e.advance(365 * 24 * HOUR);
    expect(e.status).toBe('retrying');
    expect(e.timers.size).toBe(0);
  });

  it('should fail an email with no provider event for 72 hours with Timed Out, and let a late deferral correct it', () => {
    const e = sendingEmail();
    e.advance(72 * HOUR);
    expect(e.context.reason).toBe('timed_out');
    e.send({ type: 'PROVIDER_DEFERRED' });
    expect(e.status).toBe('retrying');
    expect(e.context).toMatchObject({ reason: null, firstDeferredAt: 72 * HOUR });
    e.advance(72 * HOUR);
    expect(e.context.reason).toBe('expired');
  });

  it('should map a bounce to Failed with its reason and a late delivered report after expiry to Delivered', () => {
    const bounced = sendingEmail();
    bounced.send({ type: 'PROVIDER_FAILED', reason: 'bounced', code: '550' });
    expect(bounced.context).toMatchObject({ reason: 'bounced', code: '550' });
    const expired = sendingEmail();
    expired.send({ type: 'PROVIDER_DEFERRED' });
    expired.advance(72 * HOUR);
    expired.send({ type: 'PROVIDER_DELIVERED' });
    expect(expired.status).toBe('delivered');
    expect(expired.context.reason).toBeNull();
  });
});

describe('message machines: opt-out, close and cancel', () => {
  it.each(['sms', 'email'] as const)('should opt a %s message out from any status but cancelled', (channel) => {
    const delivered = new TinyEngine(channel);
    delivered.send({ type: 'QUEUE' });
    delivered.send({ type: 'DISPATCH' });
    delivered.send({ type: 'PROVIDER_DELIVERED' });
    delivered.send({ type: 'OPT_OUT', source: 'unsubscribe' });
    expect(delivered.status).toBe('opted_out');
    expect(delivered.context.reason).toBe('opted_out');
    expect(delivered.send({ type: 'PROVIDER_FAILED', reason: 'unknown' }).changed).toBe(false);

    const cancelled = new TinyEngine(channel);
    cancelled.send({ type: 'CANCEL' });
    expect(cancelled.send({ type: 'OPT_OUT', source: 'STOP' }).changed).toBe(false);
    expect(cancelled.status).toBe('cancelled');
  });

  it('should move a message to Opted Out when the provider refuses it because the recipient opted out', () => {
    const e = sendingSms();
    e.send({ type: 'SEND_REJECTED', reason: 'opted_out', code: '21610' });
    expect(e.status).toBe('opted_out');
    expect(e.context.code).toBe('21610');
  });

  it('should cancel every non-final message with Closed by User when the campaign is closed, and let a late receipt correct it', () => {
    const e = sendingSms();
    e.send({ type: 'PROVIDER_SENT' });
    e.send({ type: 'CLOSE' });
    expect(e.status).toBe('cancelled');
    expect(e.context.reason).toBe('closed_by_user');
    expect(e.timers.size).toBe(0);
    e.send({ type: 'PROVIDER_DELIVERED' });
    expect(e.status).toBe('delivered');
    expect(e.context.reason).toBeNull();
  });

  it('should ignore Close on a final message', () => {
    const e = sendingSms();
    e.send({ type: 'PROVIDER_DELIVERED' });
    expect(e.send({ type: 'CLOSE' }).changed).toBe(false);
  });

  it('only queued (unsent) messages are cancelled when the campaign is stopped', () => {
    const waiting = new TinyEngine('email');
    expect(waiting.send({ type: 'CANCEL' }).status).toBe('cancelled');
    expect(waiting.context.reason).toBeNull();
    const backoff = sendingEmail();
    backoff.send({ type: 'SEND_PRESEND_ERROR', error: '503' });
    backoff.send({ type: 'CANCEL' });
    expect(backoff.status).toBe('cancelled');
    expect(backoff.timers.size).toBe(0);
    const handedOver = sendingEmail();
    expect(handedOver.send({ type: 'CANCEL' }).changed).toBe(false);
    expect(handedOver.status).toBe('sending');
  });

  it('should let no provider report change a message cancelled by a stop (it was never handed over)', () => {
    const e = new TinyEngine('sms');
    e.send({ type: 'QUEUE' });
    e.send({ type: 'CANCEL' });
    for (const type of ['PROVIDER_SENT', 'PROVIDER_DELIVERED'] as const) expect(e.send({ type }).changed).toBe(false);
    expect(e.send({ type: 'PROVIDER_FAILED', reason: 'unknown' }).changed).toBe(false);
  });
});

describe('message machines: manual retry (seed 001)', () => {
  it('Schools are advised to not try and resend any Campaign contacts whose failed reason is "Unreachable Number"', () => {
    const e = sendingSms();
    e.send({ type: 'PROVIDER_FAILED', reason: 'unreachable', code: '30003' });
    expect(canRetry(e.state, e.context)).toBe(false);
    expect(e.send({ type: 'RETRY' }).changed).toBe(false);
    expect(e.status).toBe('failed');
  });

  it('should queue a failed message with a retryable reason again, with attempts and reason cleared', () => {
    const e = sendingSms();
    e.advance(10 * MIN);
    expect(canRetry(e.state, e.context)).toBe(true);
    e.send({ type: 'RETRY' });
    expect(e.status).toBe('queued');
    expect(e.context).toMatchObject({ attempts: 0, reason: null, code: null, providerMessageId: null });
  });

  it('should agree with the machine on which failed messages may be retried', () => {
    for (const channel of ['sms', 'email'] as const) {
      for (const reason of Object.values(FAILURE_REASONS)) {
        const e = channel === 'sms' ? sendingSms() : sendingEmail();
        e.send({ type: 'SEND_REJECTED', reason: reason.id });
        const allowed = canRetry(e.state, e.context);
        expect(allowed).toBe(reason.id !== 'opted_out' && reason.retryable);
        expect(e.send({ type: 'RETRY' }).changed).toBe(allowed);
      }
    }
  });

  it('should refuse a retry of a message that did not fail', () => {
    const e = sendingSms();
    expect(canRetry(e.state, e.context)).toBe(false);
    expect(e.send({ type: 'RETRY' }).changed).toBe(false);
  });
});
