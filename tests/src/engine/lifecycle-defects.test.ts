/**
 * Three lifecycle rules the provider-conformance review found broken: a refused account fails the
 * campaign at any size (seed 000), a Scheduled campaign is locked (seeds 002/003), and nothing of a
 * stopped campaign is sent again, not even a send that was in flight and came back for a retry.
 */
import { createOutreach, OutreachError, type SendResult, type SmsTransport } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { sendgridTransport } from '../../../adapters/sendgrid/index.js';
import { twilioTransport } from '../../../adapters/twilio/index.js';
import { allMessages, harness, readyCampaign, snapshot, statusesOf } from '../../support/harness.js';
import { fakeProvider, json, type Loopback } from '../../support/loopback-http.js';

describe('seed 000: Failed is a critical error during setup or execution', () => {
  it.each([1, 2, 16, 17, 40])(
    'should fail a campaign of %i message(s) whose credentials are refused, with its cause',
    async (n) => {
      const { outreach, clock } = harness({
        // Every number refused: with no more messages than the concurrency (16), every message is
        // final in the same round that reports the refusal.
        sms: { decide: () => ({ kind: 'credentials_refused' }) },
      });
      const c = await readyCampaign(outreach, 'sms', n);
      await outreach.run(c.id);
      await clock.advance('1m');
      const failed = await outreach.getCampaign(c.id);
      expect(failed.status).toBe('failed');
      expect(failed.failureCause).toMatch(/refused the account/);
      expect(failed.availableActions).toContain('retryCampaign');
    },
  );
});

describe('seed 000: a refused account through the real transports fails a one-message campaign', () => {
  let api: Loopback | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it.each([
    ['twilio', 401, { code: 20003, message: 'Authenticate', status: 401 }],
    ['twilio', 400, { code: 21704, message: 'The Messaging Service contains no phone numbers', status: 400 }],
    ['sendgrid', 403, { errors: [{ message: 'access forbidden', field: null }] }],
    ['sendgrid', 404, { errors: [{ message: 'not found', field: null }] }],
    ['sendgrid', 405, { errors: [{ message: 'method not allowed', field: null }] }],
  ] as const)('should fail on a %s answer %i, with its cause', async (provider, status, body) => {
    api = await fakeProvider((_r, res) => json(res, status, body));
    const clock = createFakeClock();
    const transports =
      provider === 'twilio'
        ? {
            sms: twilioTransport({
              accountSid: 'AC0123456789abcdef0123456789abcdef',
              authToken: 'wrong',
              messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
              statusCallbackUrl: 'https://hooks.example.com/twilio',
              baseUrl: api.url,
            }),
          }
        : { email: sendgridTransport({ apiKey: 'SG.wrong', baseUrl: api.url }) };
    const outreach = createOutreach({ storage: memoryStorage(), clock, transports });
    const c = await readyCampaign(outreach, provider === 'twilio' ? 'sms' : 'email', 1);
    await outreach.run(c.id);
    await outreach.worker.runOnce();
    const failed = await outreach.getCampaign(c.id);
    expect(failed.status).toBe('failed');
    expect(failed.failureCause).toContain(`HTTP ${status}`);
  });
});

describe('seeds 002/003: Scheduled is locked (edit schedule, cancel); Edit is for Ready campaigns only', () => {
  it('should not offer edit in Scheduled and refuse updateCampaign with INVALID_STATE, changing nothing', async () => {
    const { outreach, clock } = harness({ start: false });
    const c = await readyCampaign(outreach, 'sms', 2);
    const scheduled = await outreach.schedule(c.id, clock.now() + 3_600_000);
    expect(scheduled.status).toBe('scheduled');
    expect(scheduled.availableActions).not.toContain('edit');
    const before = await snapshot(outreach, c.id);
    const error = await outreach.updateCampaign(c.id, { name: 'Renamed' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutreachError);
    expect((error as OutreachError).code).toBe('INVALID_STATE');
    expect((error as OutreachError).message).toMatch(/unschedule/);
    expect(await snapshot(outreach, c.id)).toBe(before);
    // Rescheduling stays allowed; once unscheduled (Ready), it can be edited again.
    expect((await outreach.schedule(c.id, clock.now() + 7_200_000)).status).toBe('scheduled');
    expect((await outreach.unschedule(c.id)).availableActions).toContain('edit');
    expect((await outreach.updateCampaign(c.id, { name: 'Renamed' })).name).toBe('Renamed');
  });
});

describe('stop: nothing of a stopped campaign is sent again', () => {
  it('should cancel a send in flight at stop that failed before hand-over once its backoff ends', async () => {
    const clock = createFakeClock();
    let release: (r: SendResult) => void = () => undefined;
    let started: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => {
      started = resolve;
    });
    let calls = 0;
    const sms: SmsTransport = {
      channel: 'sms',
      name: 'gated',
      send: () => {
        calls++;
        started();
        return new Promise<SendResult>((resolve) => {
          release = resolve;
        });
      },
    };
    const outreach = createOutreach({ storage: memoryStorage(), clock, transports: { sms } });
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    const round = outreach.worker.runOnce();
    await inFlight;
    expect((await outreach.stop(c.id)).status).toBe('stopped');
    release({ outcome: 'presend', error: 'twilio: the request was not sent (ECONNREFUSED)' });
    await round;
    // The send came back before hand-over: it waits out its backoff (shown as Queued).
    expect((await allMessages(outreach, c.id))[0]?.status).toBe('queued');
    for (let i = 0; i < 10; i++) {
      await clock.advance('10m');
      await outreach.worker.runOnce();
    }
    expect(await statusesOf(outreach, c.id)).toEqual({ cancelled: 1 });
    expect(calls).toBe(1);
    const stopped = await outreach.getCampaign(c.id);
    expect(stopped.status).toBe('stopped');
    expect(stopped.counts.queued).toBe(0);
  });
});
