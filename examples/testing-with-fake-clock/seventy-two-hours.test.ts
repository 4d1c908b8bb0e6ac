/**
 * Testing with the fake clock: a scenario that lasts 72 hours of campaign time and runs in
 * milliseconds. The fake clock moves only when the test says so, and `advance` fires every timer
 * due on the way, in time order: the engine's durable deadlines (the 10-minute SMS rule, the 72-hour
 * email deferral window) and the simulated carriers' reports alike.
 *
 * Run: npx vitest run examples/testing-with-fake-clock
 */
import { createOutreach } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, simulatedEmailCarrier, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';

const HOUR = 3_600_000;

async function setUp() {
  const clock = createFakeClock({ start: '2026-01-05T09:00:00Z' });
  // The carriers report through the engine's `ingest`, timed by the same clock.
  const sms = simulatedSmsCarrier({ clock, byAddress: { '+14155550101': { kind: 'no_receipt' } } });
  const email = simulatedEmailCarrier({
    clock,
    byAddress: { 'ada@example.com': { kind: 'deferred', times: 100, every: '2h', then: 'expire' } },
  });
  const outreach = createOutreach({ storage: memoryStorage(), clock, transports: { sms, email } });

  const smsCampaign = await outreach.createCampaign({
    name: 'Reminder',
    channel: 'sms',
    content: { body: 'See you at 9.' },
  });
  await outreach.addContacts(smsCampaign.id, [{ address: '+14155550101' }]);
  const emailCampaign = await outreach.createCampaign({
    name: 'Newsletter',
    channel: 'email',
    content: { subject: 'News', html: '<p>News</p>', from: { email: 'office@school.example' } },
  });
  await outreach.addContacts(emailCampaign.id, [{ address: 'ada@example.com' }]);
  for (const { id } of [smsCampaign, emailCampaign]) {
    await outreach.save(id);
    await outreach.run(id);
  }
  outreach.worker.start();
  const only = async (campaignId: string) => {
    const [message] = await outreach.listMessages(campaignId);
    if (!message) throw new Error(`campaign ${campaignId} has no message`);
    return message;
  };
  return {
    clock,
    outreach,
    smsMessage: () => only(smsCampaign.id),
    emailMessage: () => only(emailCampaign.id),
    smsCampaign: () => outreach.getCampaign(smsCampaign.id),
    emailCampaign: () => outreach.getCampaign(emailCampaign.id),
  };
}

describe('examples: testing with the fake clock', () => {
  it('A message in "Sent" status for more than 10 minutes is moved to "Assumed Delivered"', async () => {
    const t = await setUp();
    await t.clock.advance('9m');
    expect((await t.smsMessage()).status).toBe('sent');
    expect((await t.smsCampaign()).status).toBe('in_progress');

    await t.clock.advance('2m');
    expect((await t.smsMessage()).status).toBe('assumed_delivered');
    expect((await t.smsCampaign()).status).toBe('complete');
    await t.outreach.worker.stop();
  });

  it('SendGrid automatically retries delivery for up to 72 hours; after 72 hours the message is marked as Failed', async () => {
    const t = await setUp();
    await t.clock.advance('1m');
    const deferred = await t.emailMessage();
    expect(deferred.status).toBe('retrying');
    // While a message is Retrying, the campaign shows Active Retries.
    expect((await t.emailCampaign()).status).toBe('active_retries');
    const firstDeferredAt = deferred.context.firstDeferredAt as number;
    expect(firstDeferredAt).toBeGreaterThan(0);

    // Deferred again every 2 hours: still retrying, and the window does not restart.
    await t.clock.advance('71h');
    const stillRetrying = await t.emailMessage();
    expect(stillRetrying.status).toBe('retrying');
    expect(stillRetrying.context.firstDeferredAt).toBe(firstDeferredAt);
    expect(
      (await t.outreach.getMessage(stillRetrying.id)).log.filter((e) => e.to === 'retrying').length,
    ).toBeGreaterThan(30);

    await t.clock.advance('1h'); // 72 h and a minute of campaign time in all, in milliseconds
    const expired = await t.emailMessage();
    expect(expired.status).toBe('failed');
    expect(expired.context.reason).toBe('expired');
    const log = (await t.outreach.getMessage(expired.id)).log;
    expect(log.at(-1)?.at).toBe(firstDeferredAt + 72 * HOUR);
    expect((await t.emailCampaign()).status).toBe('complete_with_errors');
    await t.outreach.worker.stop();
  });
});
