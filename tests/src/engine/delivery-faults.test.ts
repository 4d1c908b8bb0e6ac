/**
 * Delivery faults through the real engine (memory storage, fake clock) with small scripted
 * transports: timeouts, 429 with Retry-After, 500s, a connection dropped after the provider
 * accepted, and a transport that throws. For each: no message lost, none sent twice, and the
 * campaign reaches a final status.
 */
import { DEFAULT_POLICY, isOutreachError } from 'campaign-lifecycle';
import { describe, expect, it } from 'vitest';
import { presendBackoffFor } from '../../../src/policy.js';
import { callback, expectNeverSentTwice, expectSettled, runningCampaign } from '../../support/fault-support.js';

const N = 6;

describe('faults: a transport whose outcome is unknown', () => {
  it('A send whose outcome is unknown is never retried automatically: a timeout leaves it Sending, and 10 minutes later it fails Timed Out', async () => {
    const { clock, sms, outreach, campaignId } = await runningCampaign(N, () => ({
      outcome: 'unknown',
      error: 'no answer within 15000 ms',
    }));
    expect(sms.calls).toHaveLength(N);
    for (const m of await outreach.listMessages(campaignId)) expect(m.status).toBe('sending');
    await clock.advance('1h');
    expect(sms.calls).toHaveLength(N);
    expectNeverSentTwice(sms.calls);
    const { messages, stats } = await expectSettled(outreach, campaignId);
    for (const m of messages) expect([m.status, m.context.reason]).toEqual(['failed', 'timed_out']);
    expect(stats.status).toBe('complete_with_errors');
  });

  it("A connection dropped after the provider accepted is unknown; the provider's callback, which carries our message id, settles it (late truth wins)", async () => {
    const { clock, sms, outreach, campaignId } = await runningCampaign(N, () => ({
      outcome: 'unknown',
      error: 'twilio: the request may have reached the provider, outcome unknown: ECONNRESET',
    }));
    const ids = sms.calls.map((c) => c.messageId);
    // Half the callbacks arrive before the 10-minute rule, half after it failed the message.
    await clock.advance('2m');
    await outreach.ingest(ids.slice(0, N / 2).map((id) => callback(id, 'delivered')));
    await clock.advance('30m');
    for (const id of ids.slice(N / 2)) expect((await outreach.getMessage(id)).context.reason).toBe('timed_out');
    await outreach.ingest(ids.slice(N / 2).map((id) => callback(id, 'delivered')));
    expect(sms.calls).toHaveLength(N);
    expectNeverSentTwice(sms.calls);
    const { messages, stats } = await expectSettled(outreach, campaignId);
    for (const m of messages) expect([m.status, m.context.reason]).toEqual(['delivered', null]);
    expect(stats.status).toBe('complete');
  });

  it('A transport that throws broke its contract: the engine reports it through onError, treats the send as unknown and never resends', async () => {
    let call = 0;
    const { clock, sms, outreach, errors, campaignId } = await runningCampaign(N, (m) =>
      call++ % 2 === 0 ? 'throw' : { outcome: 'accepted', providerMessageId: `SM${m.messageId}` },
    );
    const thrown = sms.calls.filter((c) => c.outcome === 'threw');
    expect(thrown).toHaveLength(N / 2);
    expect(errors).toHaveLength(N / 2);
    for (const e of errors) expect(isOutreachError(e)).toBe(false); // the transport's own error, passed on as is
    for (const c of thrown) expect((await outreach.getMessage(c.messageId)).status).toBe('sending');
    await clock.advance('5m');
    await outreach.ingest(sms.calls.map((c) => callback(c.messageId, 'sent')));
    await clock.advance('1h');
    expect(sms.calls).toHaveLength(N);
    expectNeverSentTwice(sms.calls);
    const { messages } = await expectSettled(outreach, campaignId);
    for (const m of messages) expect(m.status).toBe('assumed_delivered');
  });
});

describe('faults: a transport that proves the provider did not accept', () => {
  it('Messages that fail due to pre-send errors are retried up to 3 times; after 3 failed attempts the message is Failed', async () => {
    const { clock, sms, outreach, campaignId } = await runningCampaign(N, () => ({
      outcome: 'presend',
      error: 'HTTP 500 server error, not accepted',
    }));
    await clock.advance('1h');
    const retries = DEFAULT_POLICY.maxPresendRetries;
    for (const id of new Set(sms.calls.map((c) => c.messageId))) {
      const mine = sms.calls.filter((c) => c.messageId === id);
      expect(mine.map((c) => c.attempt)).toEqual([1, 2, 3, 4].slice(0, retries + 1));
      for (let i = 1; i < mine.length; i++) {
        expect((mine[i]?.at ?? 0) - (mine[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(
          presendBackoffFor(DEFAULT_POLICY, i),
        );
      }
    }
    expectNeverSentTwice(sms.calls);
    const { messages, stats } = await expectSettled(outreach, campaignId);
    for (const m of messages) expect([m.status, m.context.reason]).toEqual(['failed', 'pre_send_error']);
    expect(stats.status).toBe('complete_with_errors');
  });

  it('should wait at least Retry-After after a 429 before the next attempt, even when it is longer than the backoff', async () => {
    const retryAfterMs = 5 * 60_000;
    const { clock, sms, outreach, campaignId } = await runningCampaign(N, (m, attempt) =>
      attempt === 1
        ? { outcome: 'presend', error: 'HTTP 429 too many requests, not accepted', retryAfterMs }
        : { outcome: 'accepted', providerMessageId: `SM${m.messageId}` },
    );
    await clock.advance(retryAfterMs - 1);
    expect(sms.calls.filter((c) => c.attempt === 2)).toEqual([]);
    await clock.advance('1m');
    const second = sms.calls.filter((c) => c.attempt === 2);
    expect(second).toHaveLength(N);
    for (const c of second) {
      const first = sms.calls.find((x) => x.messageId === c.messageId && x.attempt === 1);
      expect(c.at - (first?.at ?? Number.NaN)).toBeGreaterThanOrEqual(retryAfterMs);
    }
    await outreach.ingest(second.map((c) => callback(c.messageId, 'delivered')));
    expectNeverSentTwice(sms.calls);
    const { stats } = await expectSettled(outreach, campaignId);
    expect(stats.status).toBe('complete');
    expect(stats.delivered).toBe(N);
  });

  it('should deliver after two 500s when the third attempt is accepted, sending it once to the provider', async () => {
    const { clock, sms, outreach, campaignId } = await runningCampaign(N, (m, attempt) =>
      attempt < 3
        ? { outcome: 'presend', error: 'HTTP 503 server error, not accepted' }
        : { outcome: 'accepted', providerMessageId: `SM${m.messageId}` },
    );
    await clock.advance('5m');
    const accepted = sms.calls.filter((c) => c.outcome === 'accepted');
    expect(accepted).toHaveLength(N);
    await outreach.ingest(accepted.map((c) => callback(c.messageId, 'delivered')));
    expectNeverSentTwice(sms.calls);
    expect(sms.calls).toHaveLength(3 * N);
    const { stats } = await expectSettled(outreach, campaignId);
    expect(stats.status).toBe('complete');
  });
});
