/**
 * One policy per campaign: fixed when the campaign runs and stored with it, so that processes
 * configured differently apply the same rules to the same campaign.
 */
import { createOutreach, type ProviderEvent, type SendResult, type SmsTransport } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';
import { allMessages, readyCampaign } from '../../support/harness.js';

const accepting: SmsTransport = {
  name: 'accepting',
  channel: 'sms',
  async send(m): Promise<SendResult> {
    return { outcome: 'accepted', providerMessageId: `SM${m.messageId}` };
  },
};

describe('one policy per campaign', () => {
  it("a timeout started by a callback another process receives follows the campaign's policy, not that process's", async () => {
    const clock = createFakeClock();
    const storage = memoryStorage();
    // The sender waits 30 minutes for a receipt; the webhook process is configured with the seed's 10.
    const sender = createOutreach({
      storage,
      clock,
      transports: { sms: accepting },
      policy: { smsReceiptTimeout: '30m' },
    });
    const webhooks = createOutreach({ storage, clock, transports: {} });
    const c = await readyCampaign(sender, 'sms', 5);
    await sender.run(c.id);
    await sender.worker.runOnce();
    expect((await sender.getCampaign(c.id)).policy?.smsReceiptTimeout).toBe(30 * 60_000);

    const sent: ProviderEvent[] = (await allMessages(webhooks, c.id)).map((m) => ({
      type: 'status',
      channel: 'sms',
      messageId: m.id,
      providerMessageId: `SM${m.id}`,
      status: 'sent',
    }));
    await webhooks.ingest(sent);
    expect((await allMessages(webhooks, c.id)).map((m) => m.status)).toEqual(sent.map(() => 'sent'));

    // Past the webhook process's own 10 minutes: still waiting for the receipt.
    await clock.advance('11m');
    await webhooks.worker.runOnce();
    expect((await allMessages(webhooks, c.id)).map((m) => m.status)).toEqual(sent.map(() => 'sent'));
    // Past the campaign's 30 minutes: assumed delivered, by either process.
    await clock.advance('20m');
    await webhooks.worker.runOnce();
    expect((await allMessages(webhooks, c.id)).map((m) => m.status)).toEqual(sent.map(() => 'assumed_delivered'));
  });

  it('the policy is fixed when the campaign runs: a campaign stored without one uses the engine policy until then', async () => {
    const clock = createFakeClock();
    const storage = memoryStorage();
    const a = createOutreach({ storage, clock, transports: { sms: accepting }, policy: { smsSendingTimeout: '2m' } });
    const c = await readyCampaign(a, 'sms', 2);
    expect((await a.getCampaign(c.id)).policy).toBeUndefined();
    await a.run(c.id);
    const stored = (await a.getCampaign(c.id)).policy;
    expect(stored).toMatchObject({
      smsSendingTimeout: 120_000,
      smsReceiptTimeout: 600_000,
      emailDeferralWindow: 72 * 3_600_000,
    });
  });
});
