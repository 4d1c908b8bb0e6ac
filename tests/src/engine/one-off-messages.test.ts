/**
 * One-off messages (`outreach.send`, seed 004): one message outside any campaign, with the whole
 * lifecycle of a campaign's message; on memory and PGlite storage, on the fake clock.
 */
import { PGlite } from '@electric-sql/pglite';
import { isOutreachError, type Storage } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import type { SmsOutcome } from 'campaign-lifecycle/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { harness, phone, readyCampaign, statusesOf } from '../../support/harness.js';

const db = new PGlite();
afterAll(() => db.close());
let schemas = 0;

const storages: [string, () => Storage][] = [
  ['memory', () => memoryStorage()],
  ['PGlite', () => postgresStorage({ pool: db, schema: `one_off_${++schemas}` })],
];

const TO = '+14155550100';
const BODY = { body: 'Hi {{name}}, your bus is 10 minutes late.' };

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

function world(storage: Storage, byAddress: Record<string, SmsOutcome> = {}, ratePerSecond?: number) {
  return harness({
    storage,
    sms: { byAddress, ...(ratePerSecond ? { limits: { ratePerSecond } } : {}) },
  });
}

describe.each(storages)('one-off messages (%s storage)', (_, storage) => {
  it('send → delivered: one message outside any campaign, listed by its address, no campaign listed', async () => {
    const { outreach, clock, sms } = world(storage(), { [TO]: { kind: 'delivered' } });
    const sent = await outreach.send({
      channel: 'sms',
      to: '+1 (415) 555-0100',
      content: BODY,
      fields: { name: 'Ada' },
    });
    expect(sent).toMatchObject({ to: TO, channel: 'sms', scope: 'default' });
    await clock.advance('1m');
    expect((await outreach.getMessage(sent.id)).status).toBe('delivered');
    expect(sms.sendCalls).toBe(1);
    expect((await outreach.listMessagesTo({ channel: 'sms', address: TO })).map((m) => [m.id, m.status])).toEqual([
      [sent.id, 'delivered'],
    ]);
    expect(await outreach.listCampaigns()).toEqual([]);
    const campaignsCsv = (await collect(outreach.exportCampaigns())).join('');
    expect(campaignsCsv.trim().split('\n')).toHaveLength(1); // the header only
    const csv = (await collect(outreach.exportMessagesTo({ channel: 'sms', address: TO }, { fields: ['name'] })))
      .join('')
      .trim()
      .split('\n');
    expect(csv).toHaveLength(2);
    expect(csv[1]).toContain(sent.id);
    expect(csv[1]).toContain('Ada');
    expect(csv[1]).toContain('Delivered');
  });

  it('a one-off goes out while a campaign runs on the channel, sharing its rate limit, and does not hold the channel', async () => {
    const { outreach, clock, sms } = world(storage(), {}, 2);
    const c = await readyCampaign(outreach, 'sms', 6);
    await outreach.run(c.id);
    await clock.advance(500); // the campaign used the first second's two slots
    const sent = await outreach.send({ channel: 'sms', to: TO, content: { body: 'Pick-up moved to 3pm.' } });
    await clock.advance('1m');
    expect((await outreach.getMessage(sent.id)).status).toBe('delivered');
    expect(await statusesOf(outreach, c.id)).toEqual({ delivered: 6 });
    expect(sms.sendCalls).toBe(7);
    // The shared limit: never more than two sends in any second.
    const starts = (
      await Promise.all([...(await outreach.listMessages(c.id)), sent].map((m) => outreach.getMessage(m.id)))
    )
      .map((m) => m.log.find((e) => e.event === 'DISPATCH')?.at ?? 0)
      .sort((a, b) => a - b);
    for (let i = 2; i < starts.length; i++)
      expect((starts[i] as number) - (starts[i - 2] as number)).toBeGreaterThanOrEqual(1000);
    // A campaign started now on the channel is not refused for the one-off.
    const d = await readyCampaign(outreach, 'sms', 1, { name: 'Next' });
    expect((await outreach.run(d.id)).status).toBe('in_progress');
    expect((await outreach.listCampaigns()).map((x) => x.id).sort()).toEqual([c.id, d.id].sort());
  });

  it('an email one-off goes to the normalised address and is delivered', async () => {
    const { outreach, clock, email } = harness({ storage: storage(), email: { byAddress: {} } });
    const sent = await outreach.send({
      channel: 'email',
      to: 'Parent@Example.com',
      content: { subject: 'Trip', html: '<p>Hi {{name}}</p>', from: { email: 'office@school.example' } },
      fields: { name: 'Ada' },
    });
    expect(sent.to).toBe('parent@example.com');
    await clock.advance('1h');
    expect((await outreach.getMessage(sent.id)).status).toBe('delivered');
    expect(email.sendCalls).toBe(1);
  });

  it('a suppressed address ends Opted Out without a transport call', async () => {
    const { outreach, clock, sms } = world(storage());
    await outreach.optOut({ channel: 'sms', address: TO });
    const sent = await outreach.send({ channel: 'sms', to: TO, content: { body: 'Hello' } });
    await clock.advance('1m');
    expect((await outreach.getMessage(sent.id)).status).toBe('opted_out');
    expect(sms.sendCalls).toBe(0);
  });

  it('pre-send errors are retried, and a message that hears nothing times out', async () => {
    const silent = phone(1);
    const { outreach, clock } = world(storage(), {
      [TO]: { kind: 'presend_error', times: 2, then: { kind: 'delivered' } },
      [silent]: { kind: 'silent' },
    });
    const retried = await outreach.send({ channel: 'sms', to: TO, content: { body: 'Hello' } });
    const lost = await outreach.send({ channel: 'sms', to: silent, content: { body: 'Hello' } });
    await clock.advance('3d');
    const r = await outreach.getMessage(retried.id);
    expect([r.status, r.context.attempts]).toEqual(['delivered', 3]);
    const l = await outreach.getMessage(lost.id);
    expect([l.status, l.context.reason]).toEqual(['failed', 'timed_out']);
  });

  it('a late correction moves a one-off as any message: Assumed Delivered, then undelivered', async () => {
    const { outreach, clock } = world(storage(), {
      [TO]: { kind: 'late', after: '2h', then: { kind: 'undelivered', code: '30003' } },
    });
    const sent = await outreach.send({ channel: 'sms', to: TO, content: { body: 'Hello' } });
    await clock.advance('30m');
    expect((await outreach.getMessage(sent.id)).status).toBe('assumed_delivered');
    await clock.advance('3h');
    expect((await outreach.getMessage(sent.id)).status).toBe('failed');
  });

  it('a STOP reply to a one-off opts the number out: the next one-off is Opted Out without a transport call', async () => {
    const { outreach, clock, sms } = world(storage(), { [TO]: { kind: 'stop_reply' } });
    const first = await outreach.send({ channel: 'sms', to: TO, content: { body: 'Hello' } });
    await clock.advance('1m');
    expect((await outreach.getMessage(first.id)).status).toBe('opted_out');
    expect(await outreach.isSuppressed({ channel: 'sms', address: TO })).toBe(true);
    const second = await outreach.send({ channel: 'sms', to: TO, content: { body: 'Hello again' } });
    await clock.advance('1m');
    expect((await outreach.getMessage(second.id)).status).toBe('opted_out');
    expect(sms.sendCalls).toBe(1);
    expect((await outreach.listMessagesTo({ channel: 'sms', address: TO })).map((m) => m.id)).toEqual([
      first.id,
      second.id,
    ]);
  });
});

describe('one-off messages: door checks', () => {
  it('bad input is refused with VALIDATION_FAILED or TEMPLATE_INVALID and creates nothing', async () => {
    const { outreach, clock, sms } = world(memoryStorage());
    const refusal = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => null,
        (error: unknown) => error,
      );
      return isOutreachError(e) ? e.code : e;
    };
    expect(await refusal(outreach.send({ channel: 'sms', to: 'not a number', content: { body: 'x' } }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await refusal(outreach.send({ channel: 'sms', to: TO, content: { subject: 'x' } }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await refusal(outreach.send({ channel: 'fax', to: TO, content: { body: 'x' } } as never))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await refusal(outreach.send({ channel: 'sms', to: TO, content: BODY }))).toBe('TEMPLATE_INVALID');
    expect(await refusal(outreach.send({ channel: 'sms', to: TO, content: { body: 'x' }, extra: 1 } as never))).toBe(
      'VALIDATION_FAILED',
    );
    // The limits of LIMITS, as for contacts: a 10,001-character field value, a 321-character address.
    expect(
      await refusal(outreach.send({ channel: 'sms', to: TO, content: BODY, fields: { name: 'x'.repeat(10_001) } })),
    ).toBe('VALIDATION_FAILED');
    expect(
      await refusal(outreach.send({ channel: 'email', to: `${'a'.repeat(310)}@example.com`, content: { body: 'x' } })),
    ).toBe('VALIDATION_FAILED');
    await clock.advance('1m');
    expect(sms.sendCalls).toBe(0);
    expect(await outreach.listMessagesTo({ channel: 'sms', address: TO })).toEqual([]);
  });
});
