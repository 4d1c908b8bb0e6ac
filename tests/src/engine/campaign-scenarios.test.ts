import { type Campaign, isOutreachError } from 'campaign-lifecycle';
import { describe, expect, it } from 'vitest';
import { allMessages, harness, mail, phone, readyCampaign, snapshot, statusesOf } from '../../support/harness.js';

async function refused(p: Promise<unknown>, code: string) {
  try {
    await p;
  } catch (error) {
    expect(isOutreachError(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    expect((error as Error).message.length).toBeGreaterThan(20);
    return error;
  }
  throw new Error(`expected ${code}`);
}

describe('campaign lifecycle: concurrency (seed 003)', () => {
  it('Two SMS campaigns cannot run at the same time: run is refused with CHANNEL_BUSY and changes nothing', async () => {
    const { outreach } = harness({ start: false });
    const a = await readyCampaign(outreach, 'sms', 3, { name: 'A' });
    const b = await readyCampaign(outreach, 'sms', 3, { name: 'B' });
    await outreach.run(a.id);
    const before = await snapshot(outreach, b.id);
    const error = await refused(outreach.run(b.id), 'CHANNEL_BUSY');
    expect((error as { details: Record<string, unknown> }).details.runningCampaignId).toBe(a.id);
    expect(await snapshot(outreach, b.id)).toBe(before);
  });

  it('An SMS campaign and an Email campaign can run simultaneously, and other scopes are independent', async () => {
    const { outreach } = harness({ start: false });
    const a = await readyCampaign(outreach, 'sms', 2);
    const e = await readyCampaign(outreach, 'email', 2);
    const other = await readyCampaign(outreach, 'sms', 2, { scope: 'school-2' });
    await outreach.run(a.id);
    expect((await outreach.run(e.id)).status).toBe('in_progress');
    expect((await outreach.run(other.id)).status).toBe('in_progress');
  });

  it('If a campaign is in progress, you cannot run another of the same type until the current one completes', async () => {
    const { outreach, clock } = harness();
    const a = await readyCampaign(outreach, 'sms', 2, { name: 'A' });
    const b = await readyCampaign(outreach, 'sms', 2, { name: 'B' });
    await outreach.run(a.id);
    await refused(outreach.run(b.id), 'CHANNEL_BUSY');
    await clock.advance('1m');
    expect((await outreach.getCampaign(a.id)).status).toBe('complete');
    expect((await outreach.run(b.id)).status).toBe('in_progress');
  });
});

describe('campaign lifecycle: actions per status (seeds 002, 003)', () => {
  it('Stop: only queued (unsent) messages are cancelled; messages already handed over finish on their own', async () => {
    const { outreach, clock, sms } = harness({ sms: { limits: { ratePerSecond: 2 } } });
    const c = await readyCampaign(outreach, 'sms', 10);
    await outreach.run(c.id);
    await clock.advance(1500); // two sends at t=0 and two at t=1s
    const stopped = await outreach.stop(c.id);
    expect(stopped.status).toBe('stopped');
    expect(stopped.counts.cancelled).toBe(6);
    await clock.advance('30m');
    expect(sms.sendCalls).toBe(4);
    expect(await statusesOf(outreach, c.id)).toEqual({ delivered: 4, cancelled: 6 });
    expect((await outreach.getCampaign(c.id)).status).toBe('stopped');
  });

  it('Delete is refused while in progress and changes nothing; allowed once complete', async () => {
    const { outreach, clock } = harness();
    const c = await readyCampaign(outreach, 'sms', 3);
    await outreach.run(c.id);
    const before = await snapshot(outreach, c.id);
    await refused(outreach.delete(c.id), 'INVALID_STATE');
    expect(await snapshot(outreach, c.id)).toBe(before);
    await clock.advance('1m');
    expect((await outreach.getCampaign(c.id)).status).toBe('complete');
    await outreach.delete(c.id);
    await refused(outreach.getCampaign(c.id), 'NOT_FOUND');
    expect(await allMessages(outreach, c.id)).toEqual([]);
  });

  it('Edit: Ready campaigns only; contacts and channel cannot be changed', async () => {
    const { outreach } = harness({ start: false });
    const c = await readyCampaign(outreach, 'sms', 2);
    const edited = await outreach.updateCampaign(c.id, { content: { body: 'Hello {{first_name}}!' } });
    expect(edited.content).toEqual({ body: 'Hello {{first_name}}!' });
    let before = await snapshot(outreach, c.id);
    await refused(outreach.addContacts(c.id, [{ address: phone(50) }]), 'INVALID_STATE');
    await refused(outreach.updateCampaign(c.id, { content: { body: 'Hi {{nickname}}' } }), 'TEMPLATE_INVALID');
    expect(await snapshot(outreach, c.id)).toBe(before);
    await outreach.run(c.id);
    before = await snapshot(outreach, c.id);
    await refused(outreach.updateCampaign(c.id, { name: 'Renamed' }), 'INVALID_STATE');
    expect(await snapshot(outreach, c.id)).toBe(before);
  });

  it('Save needs valid content and at least one contact whose fields fill every variable', async () => {
    const { outreach } = harness({ start: false });
    const empty = await outreach.createCampaign({
      name: 'Empty',
      channel: 'sms',
      content: { body: 'Hi {{first_name}}' },
    });
    await refused(outreach.save(empty.id), 'VALIDATION_FAILED');
    await outreach.addContacts(empty.id, [
      { address: phone(1), fields: { first_name: 'Ada' } },
      { address: phone(2), fields: {} },
    ]);
    const before = await snapshot(outreach, empty.id);
    const error = await refused(outreach.save(empty.id), 'TEMPLATE_INVALID');
    expect((error as Error).message).toContain('first_name');
    expect(await snapshot(outreach, empty.id)).toBe(before);
    await outreach.updateCampaign(empty.id, { content: { body: 'Hi {{first_name|there}}' } });
    expect((await outreach.save(empty.id)).status).toBe('ready');
  });

  it('Close turns every pending message into Cancelled (closed by user), and the campaign completes', async () => {
    const { outreach, clock } = harness({
      policy: { emailDeferralWindow: Number.POSITIVE_INFINITY },
      email: { byAddress: { [mail(0)]: { kind: 'deferred', times: 1000, every: '1h', then: 'expire' } } },
    });
    const c = await readyCampaign(outreach, 'email', 3);
    await outreach.run(c.id);
    await clock.advance('5d');
    expect((await outreach.getCampaign(c.id)).status).toBe('active_retries');
    const closed = await outreach.close(c.id);
    expect(closed.status).toBe('complete');
    const pending = (await allMessages(outreach, c.id)).find((m) => m.to === mail(0));
    expect(pending?.status).toBe('cancelled');
    expect(pending?.context.reason).toBe('closed_by_user');
  });

  it('If the Campaign is archived before all messages are delivered, the message status will remain as-is', async () => {
    const { outreach, clock } = harness({ sms: { mix: [[1, { kind: 'no_receipt' }]] } });
    const c = await readyCampaign(outreach, 'sms', 3);
    await outreach.run(c.id);
    await clock.advance('5s');
    expect(await statusesOf(outreach, c.id)).toEqual({ sent: 3 });
    expect((await outreach.archive(c.id)).status).toBe('archived');
    await clock.advance('1h');
    expect(await statusesOf(outreach, c.id)).toEqual({ sent: 3 });
    expect((await outreach.getCampaign(c.id)).status).toBe('archived');
  });

  it('Schools are advised to not try and resend contacts whose failed reason is Unreachable Number: retry is refused', async () => {
    const { outreach, clock, sms } = harness({
      sms: {
        byAddress: {
          [phone(0)]: { kind: 'undelivered', code: '30003' },
          [phone(1)]: { kind: 'undelivered', code: '30008' },
        },
      },
    });
    const c = await readyCampaign(outreach, 'sms', 3);
    await outreach.run(c.id);
    await clock.advance('1m');
    const done = await outreach.getCampaign(c.id);
    expect(done.status).toBe('complete_with_errors');
    const ms = await allMessages(outreach, c.id);
    const unreachable = ms.find((m) => m.to === phone(0));
    const unknown = ms.find((m) => m.to === phone(1));
    expect(unreachable?.context.reason).toBe('unreachable');
    expect(unknown?.context.reason).toBe('unknown');
    const before = await snapshot(outreach, c.id);
    const error = await refused(
      outreach.retryFailed(c.id, { messageIds: [unreachable?.id as string] }),
      'NOT_RETRYABLE',
    );
    expect((error as Error).message).toContain('Unreachable');
    expect(await snapshot(outreach, c.id)).toBe(before);
    // Bulk retry resends only the retryable failure.
    expect(await outreach.retryFailed(c.id)).toEqual({ retried: 1, skipped: 1 });
    expect((await outreach.getCampaign(c.id)).status).toBe('in_progress');
    await clock.advance('1m');
    expect(sms.sends.get(unknown?.id as string)).toBe(2);
    expect(sms.sends.get(unreachable?.id as string)).toBe(1);
    expect((await outreach.getCampaign(c.id)).status).toBe('complete_with_errors');
  });

  it('A scheduled campaign starts at its time', async () => {
    const { outreach, clock } = harness();
    const c = await readyCampaign(outreach, 'sms', 2);
    const at = clock.now() + 3_600_000;
    expect((await outreach.schedule(c.id, at)).status).toBe('scheduled');
    await clock.advance(3_600_000 - 1);
    expect((await outreach.getCampaign(c.id)).status).toBe('scheduled');
    await clock.advance(1);
    const started = await outreach.getCampaign(c.id);
    expect(started.status).toBe('in_progress');
    expect(started.startedAt).toBe(at);
  });

  it('A scheduled campaign whose channel is busy starts as soon as the channel is free', async () => {
    const { outreach, clock } = harness({ sms: { byAddress: { [phone(0)]: { kind: 'no_receipt' } } } });
    const a = await readyCampaign(outreach, 'sms', 1, { name: 'A' });
    const b = await readyCampaign(outreach, 'sms', 1, { name: 'B', address: (i) => phone(100 + i) });
    await outreach.run(a.id);
    await outreach.schedule(b.id, clock.now() + 60_000);
    await clock.advance('2m');
    expect((await outreach.getCampaign(b.id)).status).toBe('scheduled');
    await clock.advance('10m'); // A's message becomes Assumed Delivered at 10m02s; A completes
    expect((await outreach.getCampaign(a.id)).status).toBe('complete');
    expect((await outreach.getCampaign(b.id)).status).not.toBe('scheduled');
  });

  it('Pause temporarily stops sending and keeps the channel; Resume continues from where it left off', async () => {
    const { outreach, clock, sms } = harness({ sms: { limits: { ratePerSecond: 1 } } });
    const c = await readyCampaign(outreach, 'sms', 5);
    const other = await readyCampaign(outreach, 'sms', 1, { name: 'other', address: (i) => phone(200 + i) });
    await outreach.run(c.id);
    await clock.advance(1500);
    await outreach.pause(c.id);
    const sentBefore = sms.sendCalls;
    await clock.advance('1m');
    expect(sms.sendCalls).toBe(sentBefore);
    await refused(outreach.run(other.id), 'CHANNEL_BUSY');
    await outreach.resume(c.id);
    await clock.advance('1m');
    expect(sms.sendCalls).toBe(5);
    expect((await outreach.getCampaign(c.id)).status).toBe('complete');
  });

  it('Failed: the campaign encountered a critical error; Retry once the cause is fixed', async () => {
    const { outreach, clock } = harness({
      sms: { byAddress: { [phone(0)]: { kind: 'credentials_refused' } }, limits: { concurrency: 1 } },
    });
    const c = await readyCampaign(outreach, 'sms', 3);
    await outreach.run(c.id);
    await clock.advance('1s');
    const failed = await outreach.getCampaign(c.id);
    expect(failed.status).toBe('failed');
    expect(failed.failureCause).toContain('refused');
    expect(failed.availableActions).toContain('retryCampaign');
    expect((await outreach.retryCampaign(c.id)).status).toBe('ready');
    await outreach.run(c.id);
    await clock.advance('1m');
    const s = await statusesOf(outreach, c.id);
    expect(s.delivered).toBe(2);
  });

  it('availableActions lists what the current status allows, from the machine', async () => {
    const { outreach } = harness({ start: false });
    const draft = await outreach.createCampaign({ name: 'x', channel: 'sms' });
    expect(draft.availableActions).toEqual(['edit', 'addContacts', 'save', 'delete', 'export']);
    const c = await readyCampaign(outreach, 'sms', 1);
    expect(c.availableActions).toEqual(['edit', 'schedule', 'run', 'delete', 'export']);
    const running: Campaign = await outreach.run(c.id);
    expect(running.availableActions).toEqual(['pause', 'stop', 'close', 'archive', 'export']);
  });

  it('Pause if failure rate > 5%: the engine pauses a campaign once the failure rate passes the threshold', async () => {
    const events: { to: string; cause?: string | undefined }[] = [];
    const { outreach, clock, sms } = harness({
      policy: { autoPause: { threshold: 0.05, minSample: 20 } },
      sms: {
        mix: [
          [9, { kind: 'delivered' }],
          [1, { kind: 'undelivered', code: '30007' }],
        ],
        seed: 5,
        limits: { ratePerSecond: 10 },
      },
    });
    outreach.subscribe((e) => {
      if (e.type === 'campaign.status') events.push({ to: e.to, cause: e.cause });
    });
    const c = await readyCampaign(outreach, 'sms', 200);
    await outreach.run(c.id);
    await clock.advance('2m');
    const paused = await outreach.getCampaign(c.id);
    expect(paused.status).toBe('paused');
    expect(events).toContainEqual({ to: 'paused', cause: 'failure_rate' });
    expect(paused.done).toBeGreaterThanOrEqual(20);
    const sentWhenPaused = sms.sendCalls;
    expect(sentWhenPaused).toBeLessThan(200);
    await outreach.resume(c.id);
    await clock.advance('5m');
    expect(sms.sendCalls).toBe(200);
    expect((await outreach.getCampaign(c.id)).status).toBe('complete_with_errors');
  });
});
