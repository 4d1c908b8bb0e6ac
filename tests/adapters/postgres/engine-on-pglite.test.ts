import { PGlite } from '@electric-sql/pglite';
import { createOutreach, emptyCounts, isFinalMessageStatus, type MessageCounts } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { createFakeClock, type SmsOutcome, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { afterAll, describe, expect, it } from 'vitest';

const db = new PGlite();
afterAll(() => db.close());

const MIX: [number, SmsOutcome][] = [
  [6, { kind: 'delivered' }],
  [2, { kind: 'no_receipt' }],
  [1, { kind: 'silent' }],
  [1, { kind: 'undelivered', code: '30003' }],
  [1, { kind: 'presend_error', times: 2 }],
  [1, { kind: 'failed', code: '21211' }],
];

describe('postgresStorage: the engine on PGlite', () => {
  it('should run a 200-message SMS campaign to completion: every message final, none sent twice, counters equal a recount', async () => {
    const clock = createFakeClock();
    const storage = postgresStorage({ pool: db, schema: 'engine_run' });
    const sms = simulatedSmsCarrier({ clock, seed: 7, mix: MIX });
    const errors: unknown[] = [];
    const outreach = createOutreach({ storage, clock, transports: { sms }, onError: (e) => errors.push(e) });
    outreach.worker.start();
    const created = await outreach.createCampaign({
      name: 'Snow day',
      channel: 'sms',
      content: { body: 'Hi {{first_name}}, school is closed.' },
    });
    await outreach.addContacts(
      created.id,
      Array.from({ length: 200 }, (_, i) => ({
        address: `+1415555${String(1000 + i)}`,
        fields: { first_name: `Kid${i}` },
      })),
    );
    await outreach.save(created.id);
    await outreach.run(created.id);
    await clock.advance('2h');
    await outreach.worker.stop();

    const ms = await outreach.listMessages(created.id, { limit: 1000 });
    expect(ms).toHaveLength(200);
    expect(ms.filter((m) => !isFinalMessageStatus(m.status))).toEqual([]);
    expect(Math.max(...sms.sends.values())).toBe(1);
    expect(['complete', 'complete_with_errors']).toContain((await outreach.getCampaign(created.id)).status);
    const recount: MessageCounts = emptyCounts();
    for (const m of ms) recount[m.status]++;
    expect((await storage.transaction((t) => t.getCounters(created.id))).counts).toEqual(recount);
    expect(errors).toEqual([]);
  });
});
