/**
 * The opt-out record (issue 20): every suppression change is kept, append-only, with when, how and what
 * prompted it; it survives deleting the campaign, lists by channel, address and scope in pages, and
 * exports as CSV. On memory and PGlite storage.
 */
import { PGlite } from '@electric-sql/pglite';
import { isOutreachError, type Storage } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { allMessages, harness, readyCampaign } from '../../support/harness.js';

const db = new PGlite();
afterAll(() => db.close());
let schemas = 0;

const storages: [string, () => Storage][] = [
  ['memory', () => memoryStorage()],
  ['PGlite', () => postgresStorage({ pool: db, schema: `optout_record_${++schemas}` })],
];

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

describe.each(storages)('opt-out record (%s storage)', (_, storage) => {
  it('a manual opt-out and a later opt-in are both in the record, in order; an opt-in of an address not suppressed adds nothing', async () => {
    const { outreach, clock } = harness({ storage: storage() });
    await outreach.optOut({ channel: 'sms', address: '+14155550100', scope: 's1' });
    await clock.advance('1m');
    expect(await outreach.optIn({ channel: 'sms', address: '+14155550100', scope: 's1' })).toBe(true);
    expect(await outreach.optIn({ channel: 'sms', address: '+14155550199', scope: 's1' })).toBe(false);
    const records = await outreach.listOptOutRecords({ channel: 'sms', address: '+1 415 555 0100' });
    expect(records.map((r) => [r.change, r.source, r.scope, r.address])).toEqual([
      ['opt_out', 'manual', 's1', '+14155550100'],
      ['opt_in', 'manual', 's1', '+14155550100'],
    ]);
    expect((records[1]?.at ?? 0) - (records[0]?.at ?? 0)).toBe(60_000);
    expect(await outreach.listOptOutRecords({ address: '+14155550199' })).toEqual([]);
  });

  it("an opt-out of a campaign's message names the campaign and the message, and the record survives deleting the campaign", async () => {
    const { outreach } = harness({ storage: storage() });
    const c = await readyCampaign(outreach, 'sms', 2);
    const [m] = await allMessages(outreach, c.id);
    if (!m) throw new Error('no message');
    await outreach.optOut({ channel: 'sms', address: m.to, messageId: m.id, source: 'call_centre' });
    await outreach.delete(c.id);
    const [r] = await outreach.listOptOutRecords({ channel: 'sms' });
    expect(r).toMatchObject({
      change: 'opt_out',
      source: 'call_centre',
      address: m.to,
      scope: m.scope,
      campaignId: c.id,
      messageId: m.id,
    });
  });

  it('pages by id with after and limit, and filters by scope', async () => {
    const { outreach } = harness({ storage: storage() });
    for (let i = 0; i < 5; i++)
      await outreach.optOut({ channel: 'email', address: `p${i}@example.com`, scope: i % 2 ? 'odd' : 'even' });
    const first = await outreach.listOptOutRecords({ limit: 2 });
    const second = await outreach.listOptOutRecords({ limit: 2, after: first[1]?.id });
    expect([...first, ...second].map((r) => r.address)).toEqual([0, 1, 2, 3].map((i) => `p${i}@example.com`));
    expect((await outreach.listOptOutRecords({ scope: 'odd' })).map((r) => r.address)).toEqual([
      'p1@example.com',
      'p3@example.com',
    ]);
  });

  it('exports the record as CSV, oldest first, formula-like cells neutralised', async () => {
    const { outreach } = harness({ storage: storage() });
    await outreach.optOut({ channel: 'email', address: 'a@example.com', source: '=HYPERLINK("x")' });
    await outreach.optOut({ channel: 'sms', address: '+14155550100' });
    await outreach.optIn({ channel: 'email', address: 'a@example.com' });
    const csv = await text(outreach.exportOptOutRecords({ channel: 'email' }));
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('Entry ID,At,Scope,Channel,Address,Change,Source,Text,Campaign ID,Message ID');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(',email,a@example.com,Opted Out,"\'=HYPERLINK(""x"")",');
    expect(lines[2]).toContain(',email,a@example.com,Opted In,manual,');
    expect(csv).not.toContain('+14155550100');
  });

  it('bad query input is refused with VALIDATION_FAILED and changes nothing', async () => {
    const { outreach } = harness({ storage: storage() });
    await outreach.optOut({ channel: 'sms', address: '+14155550100' });
    const before = await outreach.listOptOutRecords();
    const bad: unknown[] = [{ limit: 0 }, { channel: 'fax' }, { after: -1 }, { after: 1.5 }, { unknown: 1 }, 'sms'];
    for (const q of bad) {
      const error = await outreach.listOptOutRecords(q as Parameters<typeof outreach.listOptOutRecords>[0]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isOutreachError(error) && error.code).toBe('VALIDATION_FAILED');
    }
    let thrown: unknown;
    try {
      outreach.exportOptOutRecords({ address: '+14155550100' } as Parameters<typeof outreach.exportOptOutRecords>[0]);
    } catch (e) {
      thrown = e;
    }
    expect(isOutreachError(thrown) && thrown.code).toBe('VALIDATION_FAILED');
    expect(await outreach.listOptOutRecords()).toEqual(before);
  });
});
