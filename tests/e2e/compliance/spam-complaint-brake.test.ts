/**
 * Compliance: the spam-complaint brake (issue 20). Gmail and Yahoo ask bulk senders to keep spam
 * complaints below 0.3 %: a running email campaign pauses when SendGrid `spamreport` events pass the
 * policy's rate of the mail delivered, after its minimum sample, with the cause on the campaign
 * (`pauseCause`) and in its `campaign.status` event. Fake clock; memory storage and PGlite.
 */
import { PGlite } from '@electric-sql/pglite';
import { type Outreach, type PolicyInput, resolvePolicy, type Storage } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, readyCampaign } from '../../support/harness.js';

let reportId = 0;

/** Reports `n` delivered messages of the campaign as spam, as the SendGrid handler would ingest them. */
async function reportSpam(outreach: Outreach, campaignId: string, n: number) {
  const delivered = (await outreach.listMessages(campaignId, { limit: 1000 })).filter((m) => m.status === 'delivered');
  expect(delivered.length).toBeGreaterThanOrEqual(n);
  await outreach.ingest(
    delivered.slice(0, n).map((m) => ({
      type: 'status' as const,
      channel: 'email' as const,
      messageId: m.id,
      status: 'opted_out' as const,
      providerStatus: 'spamreport',
      eventId: `spam-${campaignId}-${reportId++}`,
    })),
  );
}

/** Advances the fake clock a second at a time until at least `min` messages of the campaign are delivered. */
async function untilDelivered(h: ReturnType<typeof harness>, campaignId: string, min: number) {
  for (let i = 0; i < 600; i++) {
    const c = await h.outreach.getCampaign(campaignId);
    if (c.counts.delivered >= min) return c.counts.delivered;
    await h.clock.advance('1s');
  }
  throw new Error(`fewer than ${min} delivered after 600 s`);
}

/** 150 emails at 10 a second, run until 110 are delivered: the campaign still runs. */
async function running(storage: Storage, policy: PolicyInput) {
  const h = harness({ storage, policy, email: { limits: { ratePerSecond: 10 } } });
  const causes: { to: string; cause?: string | undefined }[] = [];
  h.outreach.subscribe((e) => {
    if (e.type === 'campaign.status') causes.push({ to: e.to, cause: e.cause });
  });
  const c = await readyCampaign(h.outreach, 'email', 150);
  await h.outreach.run(c.id);
  const delivered = await untilDelivered(h, c.id, 110);
  expect(delivered).toBeLessThan(130);
  expect((await h.outreach.getCampaign(c.id)).status).toBe('in_progress');
  return { ...h, campaignId: c.id, causes, delivered };
}

const brake = { spamComplaintBrake: { rate: 0.01, minDelivered: 100 } } as const;

function scenarios(kind: string, makeStorage: () => Promise<Storage>) {
  describe(`compliance: the spam-complaint brake (${kind})`, () => {
    it('should pause an email campaign once spam reports pass the rate of delivered mail, with the cause on the campaign and in its event', async () => {
      const { outreach, clock, email, campaignId, causes, errors } = await running(await makeStorage(), brake);
      await reportSpam(outreach, campaignId, 2); // 2 of 110 to 130 delivered: over 1.5 % > 1 %
      const paused = await outreach.getCampaign(campaignId);
      expect(paused.status).toBe('paused');
      expect(paused.pauseCause).toBe('spam_complaints');
      expect(paused.spamReports).toBe(2);
      expect(causes).toContainEqual({ to: 'paused', cause: 'spam_complaints' });
      // Paused: nothing more goes out.
      const sent = email.sendCalls;
      await clock.advance('1m');
      expect(email.sendCalls).toBe(sent);
      expect((await outreach.getCampaign(campaignId)).status).toBe('paused');
      // Resuming is the sender's call, and the brake does not pull again.
      const resumed = await outreach.resume(campaignId);
      expect(resumed.pauseCause).toBeNull();
      await clock.advance('1m');
      await reportSpam(outreach, campaignId, 3);
      const done = await outreach.getCampaign(campaignId);
      expect(done.status).toBe('complete');
      expect(done.spamReports).toBe(5);
      expect(errors).toEqual([]);
      await outreach.worker.stop();
    }, 120_000);

    it('should keep the campaign running while spam reports stay at or below the rate', async () => {
      const { outreach, campaignId, errors } = await running(await makeStorage(), brake);
      await reportSpam(outreach, campaignId, 1); // 1 of 110 to 130: under 1 %
      const c = await outreach.getCampaign(campaignId);
      expect(c.status).toBe('in_progress');
      expect(c.spamReports).toBe(1);
      expect(c.pauseCause).toBeNull();
      expect(errors).toEqual([]);
      await outreach.worker.stop();
    }, 120_000);

    it('should not pull the brake before the minimum of delivered mail', async () => {
      const { outreach, campaignId, errors } = await running(await makeStorage(), {
        spamComplaintBrake: { rate: 0.01, minDelivered: 140 },
      });
      await reportSpam(outreach, campaignId, 5); // over 3 %, but fewer than 140 delivered
      expect((await outreach.getCampaign(campaignId)).status).toBe('in_progress');
      expect(errors).toEqual([]);
      await outreach.worker.stop();
    }, 120_000);

    it('should never pause for spam reports when the brake is off (spamComplaintBrake: false)', async () => {
      const { outreach, campaignId, errors } = await running(await makeStorage(), { spamComplaintBrake: false });
      await reportSpam(outreach, campaignId, 5);
      const c = await outreach.getCampaign(campaignId);
      expect(c.status).toBe('in_progress');
      expect(c.spamReports).toBe(5);
      expect(errors).toEqual([]);
      await outreach.worker.stop();
    }, 120_000);
  });
}

scenarios('memory storage', async () => memoryStorage());

describe('compliance: the spam-complaint brake (PGlite)', () => {
  const db = new PGlite();
  beforeAll(async () => {
    await db.query('select 1');
  });
  afterAll(() => db.close());

  it('should pause an email campaign on PGlite once spam reports pass the rate, with the cause on the campaign and in its event', async () => {
    const h = harness({
      storage: postgresStorage({ pool: db, schema: 'spam_brake' }),
      policy: { spamComplaintBrake: { rate: 0.05, minDelivered: 20 } },
      email: { limits: { ratePerSecond: 5 } },
    });
    const causes: { to: string; cause?: string | undefined }[] = [];
    h.outreach.subscribe((e) => {
      if (e.type === 'campaign.status') causes.push({ to: e.to, cause: e.cause });
    });
    const c = await readyCampaign(h.outreach, 'email', 40);
    await h.outreach.run(c.id);
    expect(await untilDelivered(h, c.id, 20)).toBeLessThan(30);
    await reportSpam(h.outreach, c.id, 1); // 1 of 20 to 30: at most 5 %
    expect((await h.outreach.getCampaign(c.id)).status).toBe('in_progress');
    await reportSpam(h.outreach, c.id, 2); // 3 in all: over 5 %
    const paused = await h.outreach.getCampaign(c.id);
    expect(paused.status).toBe('paused');
    expect(paused.pauseCause).toBe('spam_complaints');
    expect(paused.spamReports).toBe(3);
    expect(causes).toContainEqual({ to: 'paused', cause: 'spam_complaints' });
    expect(h.errors).toEqual([]);
    await h.outreach.worker.stop();
  }, 300_000);
});

describe('compliance: the spam-complaint brake, its default and its checks', () => {
  it('should brake by default at 0.3 % of delivered mail after 1,000 delivered', () => {
    expect(resolvePolicy().spamComplaintBrake).toEqual({ rate: 0.003, minDelivered: 1000 });
  });

  it.each([
    { rate: 0, minDelivered: 100 },
    { rate: 1.5, minDelivered: 100 },
    { rate: 0.003, minDelivered: 0 },
    { rate: 0.003, minDelivered: 1.5 },
  ])('should refuse the brake %j with VALIDATION_FAILED', (spamComplaintBrake) => {
    expect(() => resolvePolicy({ spamComplaintBrake })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('should brake at the default rate with the default policy: 4 reports of 1,000 delivered pause, 3 do not', async () => {
    for (const [reports, status] of [
      [3, 'in_progress'],
      [4, 'paused'],
    ] as const) {
      const h = harness({ email: { limits: { ratePerSecond: 100 } } });
      const c = await readyCampaign(h.outreach, 'email', 1100);
      await h.outreach.run(c.id);
      expect(await untilDelivered(h, c.id, 1000)).toBeLessThan(1100);
      const delivered = (await h.outreach.listMessages(c.id, { limit: 2000 })).filter((m) => m.status === 'delivered');
      await h.outreach.ingest(
        delivered.slice(0, reports).map((m) => ({
          type: 'status' as const,
          channel: 'email' as const,
          messageId: m.id,
          status: 'opted_out' as const,
          providerStatus: 'spamreport',
        })),
      );
      const after = await h.outreach.getCampaign(c.id);
      expect(after.status, `${reports} reports`).toBe(status);
      expect(h.errors).toEqual([]);
      await h.outreach.worker.stop();
    }
  }, 120_000);
});
