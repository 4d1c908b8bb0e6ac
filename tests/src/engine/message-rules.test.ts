import { describe, expect, it } from 'vitest';
import { allMessages, harness, phone, readyCampaign, statusesOf } from '../../support/harness.js';

describe('engine: message rules over the clock (seed 000)', () => {
  it('A message in Sent status for more than 10 minutes is moved to Assumed Delivered, at exactly its deadline', async () => {
    const { outreach, clock } = harness({ sms: { mix: [[1, { kind: 'no_receipt' }]], latency: '2s' } });
    const c = await readyCampaign(outreach, 'sms', 2);
    await outreach.run(c.id);
    const t0 = clock.now();
    await clock.advance(2000 + 600_000 - 1);
    expect(await statusesOf(outreach, c.id)).toEqual({ sent: 2 });
    await clock.advance(1);
    expect(await statusesOf(outreach, c.id)).toEqual({ assumed_delivered: 2 });
    const [m] = await allMessages(outreach, c.id);
    expect(m?.updatedAt).toBe(t0 + 2000 + 600_000);
    expect((await outreach.getCampaign(c.id)).status).toBe('complete');
  });

  it('If a delivery confirmation arrives later, the status is updated (Assumed Delivered → Delivered)', async () => {
    const { outreach, clock } = harness({
      sms: { mix: [[1, { kind: 'late', after: '30m', then: { kind: 'delivered' } }]] },
    });
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    await clock.advance('11m');
    expect(await statusesOf(outreach, c.id)).toEqual({ assumed_delivered: 1 });
    await clock.advance('20m');
    expect(await statusesOf(outreach, c.id)).toEqual({ delivered: 1 });
  });

  it('A message in Sending for more than 10 minutes is Failed (Timed Out); if delivery is confirmed later the reason is removed', async () => {
    const { outreach, clock } = harness({
      sms: { mix: [[1, { kind: 'late', after: '25m', then: { kind: 'sent_then_delivered' } }]] },
    });
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    await clock.advance('10m');
    const [timedOut] = await allMessages(outreach, c.id);
    expect(timedOut?.status).toBe('failed');
    expect(timedOut?.context.reason).toBe('timed_out');
    expect((await outreach.getCampaign(c.id)).status).toBe('complete_with_errors');
    await clock.advance('20m');
    const [corrected] = await allMessages(outreach, c.id);
    expect(corrected?.status).toBe('delivered');
    expect(corrected?.context.reason).toBeNull();
    expect((await outreach.getCampaign(c.id)).status).toBe('complete');
  });

  it('Messages that fail due to pre-send system errors are automatically retried up to 3 times, then Failed', async () => {
    const { outreach, clock, sms } = harness({ sms: { mix: [[1, { kind: 'presend_error', times: 99 }]] } });
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    await clock.advance('1h');
    const [m] = await allMessages(outreach, c.id);
    expect(sms.sendCalls).toBe(4);
    expect(m?.status).toBe('failed');
    expect(m?.context.reason).toBe('pre_send_error');
    expect(sms.sends.size).toBe(0); // never actually sent
  });

  it('A send whose outcome is unknown is never retried automatically; the 10-minute rule settles it', async () => {
    const { outreach, clock, sms } = harness({ sms: { mix: [[1, { kind: 'unknown' }]] } });
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    await clock.advance('1m');
    expect(await statusesOf(outreach, c.id)).toEqual({ sending: 1 });
    await clock.advance('1h');
    expect(sms.sendCalls).toBe(1);
    const [m] = await allMessages(outreach, c.id);
    expect(m?.context.reason).toBe('timed_out');
  });

  it('SendGrid is automatically retrying delivery for up to 72 hours: the campaign shows Active Retries, then Failed (Expired)', async () => {
    const { outreach, clock } = harness({
      email: { byAddress: { 'person0@example.com': { kind: 'deferred', times: 100, every: '1h', then: 'expire' } } },
    });
    const c = await readyCampaign(outreach, 'email', 2);
    await outreach.run(c.id);
    await clock.advance('1h');
    expect((await outreach.getCampaign(c.id)).status).toBe('active_retries');
    await clock.advance('70h');
    expect((await outreach.getCampaign(c.id)).status).toBe('active_retries');
    await clock.advance('2h');
    expect((await outreach.getCampaign(c.id)).status).toBe('complete_with_errors');
    const m = (await allMessages(outreach, c.id)).find((x) => x.to === 'person0@example.com');
    expect(m?.context.reason).toBe('expired');
  });

  it('While a campaign has messages in Retrying, another email campaign may run (the channel is free again)', async () => {
    const { outreach, clock } = harness({
      email: { byAddress: { 'person0@example.com': { kind: 'deferred', times: 3, every: '1h' } } },
    });
    const a = await readyCampaign(outreach, 'email', 1, { name: 'A' });
    const b = await readyCampaign(outreach, 'email', 1, { name: 'B', address: (i) => `other${i}@example.com` });
    await outreach.run(a.id);
    await clock.advance('30m');
    expect((await outreach.getCampaign(a.id)).status).toBe('active_retries');
    expect((await outreach.run(b.id)).status).toBe('in_progress');
    await clock.advance('5h');
    expect((await outreach.getCampaign(a.id)).status).toBe('complete');
  });

  it('A contact on the suppression list is Opted Out at run time and never sent; a STOP reply suppresses the next campaign', async () => {
    const { outreach, clock, sms } = harness({ sms: { byAddress: { [phone(1)]: { kind: 'stop_reply' } } } });
    await outreach.optOut({ channel: 'sms', address: phone(0), scope: 'default' });
    const a = await readyCampaign(outreach, 'sms', 3, { name: 'A' });
    await outreach.run(a.id);
    await clock.advance('5m');
    const ms = await allMessages(outreach, a.id);
    const first = ms.find((m) => m.to === phone(0));
    expect(first?.status).toBe('opted_out');
    expect(sms.sends.has(first?.id as string)).toBe(false);
    expect(ms.find((m) => m.to === phone(1))?.status).toBe('opted_out');
    expect(await outreach.isSuppressed({ channel: 'sms', address: phone(1) })).toBe(true);
    const b = await readyCampaign(outreach, 'sms', 3, { name: 'B' });
    await outreach.run(b.id);
    await clock.advance('5m');
    expect(await statusesOf(outreach, b.id)).toEqual({ opted_out: 2, delivered: 1 });
    expect(await outreach.optIn({ channel: 'sms', address: phone(0) })).toBe(true);
    expect(await outreach.isSuppressed({ channel: 'sms', address: phone(0) })).toBe(false);
  });

  it('Every change is appended to the message event log with the time from the clock', async () => {
    const { outreach, clock } = harness();
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    await clock.advance('1m');
    const [m] = await allMessages(outreach, c.id);
    const full = await outreach.getMessage(m?.id as string);
    expect(full.log.map((e) => `${e.event}:${e.from}->${e.to}`)).toEqual([
      'QUEUE:waiting->queued',
      'DISPATCH:queued->sending',
      'SEND_ACCEPTED:sending->sending',
      'PROVIDER_SENT:sending->sent',
      'PROVIDER_DELIVERED:sent->delivered',
    ]);
    expect(full.log.every((e, i, all) => i === 0 || e.at >= (all[i - 1]?.at ?? 0))).toBe(true);
  });

  it('Duplicated and out-of-order provider events change nothing and never move a message backwards', async () => {
    const { outreach, clock } = harness({ sms: { mix: [[1, { kind: 'no_receipt' }]] } });
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    await clock.advance('5s');
    const [m] = await allMessages(outreach, c.id);
    const id = m?.id as string;
    const delivered = { type: 'status', channel: 'sms', messageId: id, status: 'delivered', eventId: 'e1' } as const;
    expect(await outreach.ingest([delivered, delivered])).toMatchObject({ applied: 1, duplicates: 1 });
    expect(await outreach.ingest([{ type: 'status', channel: 'sms', messageId: id, status: 'sent' }])).toMatchObject({
      applied: 0,
      ignored: 1,
    });
    expect((await outreach.getMessage(id)).status).toBe('delivered');
    expect(
      await outreach.ingest([{ type: 'status', channel: 'sms', messageId: 'msg_nope', status: 'sent' }]),
    ).toMatchObject({ unmatched: 1 });
  });

  it('A provider event of the wrong shape is refused with VALIDATION_FAILED and changes nothing', async () => {
    const { outreach, clock } = harness();
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    await clock.advance('5s');
    const [m] = await allMessages(outreach, c.id);
    const bad = [
      { type: 'status', channel: 'sms', messageId: m?.id, status: 'delivered' },
      { type: 'status', channel: 'sms', messageId: m?.id, status: 'exploded' },
    ];
    await expect(outreach.ingest(bad as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await outreach.getMessage(m?.id as string)).status).toBe('sent');
  });
});
