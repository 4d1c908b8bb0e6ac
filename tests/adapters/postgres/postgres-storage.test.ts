import { PGlite } from '@electric-sql/pglite';
import {
  type DeadlineRecord,
  isOutreachError,
  MESSAGE_STATUSES,
  type MessageLogEntry,
  type MessageStatus,
  OutreachError,
  type StorageTransaction,
} from 'campaign-lifecycle';
import { fromPGlite, migratePostgres, POSTGRES_MIGRATIONS, postgresStorage } from 'campaign-lifecycle/postgres';
import { sampleCampaign, sampleContact, sampleMessage } from 'campaign-lifecycle/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { driverError, instrumented, work } from '../../support/pg-test-helpers.js';

const db = new PGlite();
afterAll(() => db.close());
let serial = 0;
const freshSchema = () => `adapter_${serial++}`;

async function rejection(p: Promise<unknown>): Promise<OutreachError> {
  try {
    await p;
  } catch (error) {
    if (isOutreachError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('postgresStorage: migrations', () => {
  it('should apply every version once and nothing when run again', async () => {
    const schema = freshSchema();
    const pool = fromPGlite(db);
    expect(await migratePostgres(pool, schema)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    expect(await migratePostgres(pool, schema)).toEqual([]);
    const rows = (
      await db.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)
    ).rows;
    expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
  });

  it('should let two concurrent migrate() calls both succeed', async () => {
    const schema = freshSchema();
    const a = postgresStorage({ pool: db, schema });
    const b = postgresStorage({ pool: db, schema });
    await Promise.all([a.migrate(), b.migrate()]);
    const rows = (await db.query(`SELECT version FROM ${schema}.schema_migrations`)).rows;
    expect(rows).toHaveLength(POSTGRES_MIGRATIONS.length);
  });

  it('should migrate on first use unless told not to', async () => {
    const schema = freshSchema();
    const lazy = postgresStorage({ pool: db, schema, migrate: false });
    const error = await rejection(lazy.transaction((t) => t.getCampaign('cmp_1')));
    expect(error.code).toBe('STORAGE_ERROR');
    expect(error.message).toMatch(/does not exist/);
    const eager = postgresStorage({ pool: db, schema });
    expect(await eager.transaction((t) => t.getCampaign('cmp_1'))).toBeUndefined();
  });

  it('should refuse a schema name that is not a plain identifier', () => {
    const attempt = () => postgresStorage({ pool: db, schema: 'x"; DROP TABLE y; --' });
    expect(attempt).toThrow(OutreachError);
    try {
      attempt();
    } catch (error) {
      expect(isOutreachError(error) && error.code).toBe('CONFIGURATION_ERROR');
    }
  });
});

describe('postgresStorage: info', () => {
  it('should declare itself shared over a pool and not shared over one embedded PGlite', () => {
    expect(postgresStorage({ pool: db }).info).toEqual({ name: 'postgres', shared: false });
    expect(postgresStorage({ pool: fromPGlite(db) }).info.shared).toBe(false);
    expect(postgresStorage({ pool: new pg.Pool({ host: '127.0.0.1' }) }).info).toEqual({
      name: 'postgres',
      shared: true,
    });
  });
});

describe('postgresStorage: records', () => {
  it('should give back every record exactly as it was written, key order included', async () => {
    const s = postgresStorage({ pool: db, schema: freshSchema() });
    const c = sampleCampaign({
      metadata: { z: '1', a: '2' },
      content: { body: 'Hi', mediaUrls: ['https://x/y.png'] } as never,
    });
    const contact = sampleContact(c.id, '+14155550101', { fields: { zeta: 'z', alpha: 'a' } });
    const m = sampleMessage(c.id, {
      contactId: contact.id,
      context: { ...sampleMessage(c.id).context, providerMessageId: 'SM9', code: '30003' },
    });
    const d: DeadlineRecord = {
      id: `${m.id}|t`,
      kind: 'message',
      entityId: m.id,
      campaignId: c.id,
      fireAt: 1_700_000_000_123,
      event: { type: 'xstate.after.t' },
    };
    const withDetail: MessageLogEntry = {
      messageId: m.id,
      campaignId: c.id,
      at: 5,
      event: 'E',
      from: 'queued',
      to: 'sending',
      changed: true,
      detail: { b: 1, a: [2] },
    };
    const without: MessageLogEntry = {
      messageId: m.id,
      campaignId: c.id,
      at: 6,
      event: 'F',
      from: 'sending',
      to: 'sent',
      changed: false,
    };
    await s.transaction(async (t) => {
      await t.insertCampaign(c);
      await t.insertContacts([contact]);
      await t.insertMessages([m]);
      await t.upsertDeadlines([d]);
      await t.appendLog([withDetail, without]);
    });
    await s.transaction(async (t) => {
      expect(JSON.stringify(await t.getCampaign(c.id))).toBe(JSON.stringify(c));
      expect(JSON.stringify(await t.getContact(contact.id))).toBe(JSON.stringify(contact));
      expect(JSON.stringify(await t.getMessage(m.id))).toBe(JSON.stringify(m));
      expect(JSON.stringify((await t.lockMessagesByProviderId('sms', ['SM9'])).get('SM9'))).toBe(JSON.stringify(m));
      expect(JSON.stringify(await t.listLog(m.id))).toBe(JSON.stringify([withDetail, without]));
      expect(JSON.stringify(await t.takeDueDeadlines(d.fireAt, 10))).toBe(JSON.stringify([d]));
    });
  });

  it('should keep a counter for every message status, and the spam reports', async () => {
    const s = postgresStorage({ pool: db, schema: freshSchema() });
    const counts = Object.fromEntries(MESSAGE_STATUSES.map((status, i) => [status, i + 1])) as Record<
      MessageStatus,
      number
    >;
    const read = await s.transaction(async (t) => {
      await t.addCounters([{ campaignId: 'c', counts, opens: 3 }]);
      await t.addCounters([{ campaignId: 'c', counts: { delivered: 10 }, clicks: 2, spamReports: 4 }]);
      return t.getCounters('c');
    });
    expect(read).toEqual({
      counts: { ...counts, delivered: counts.delivered + 10 },
      opens: 3,
      clicks: 2,
      reads: 0,
      spamReports: 4,
    });
  });
});

describe('postgresStorage: batches', () => {
  it('should claim and insert 500 messages in one statement each, and write their updates, log entries, deadlines and counters in one', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    const cid = 'cmp_batch';
    const ms = Array.from({ length: 500 }, () => sampleMessage(cid));
    probe.statements.length = 0;
    await s.transaction(async (t) => {
      await t.insertMessages(ms);
      const claimed = await t.claimMessages(cid, 'queued', 500);
      await t.updateMessages(claimed.map((m) => ({ ...m, status: 'sending' as const, state: 'sending' })));
      await t.appendLog(
        ms.map((m) => ({
          messageId: m.id,
          campaignId: cid,
          at: 1,
          event: 'DISPATCH',
          from: 'queued' as const,
          to: 'sending' as const,
          changed: true,
        })),
      );
      await t.upsertDeadlines(
        ms.map((m) => ({
          id: `${m.id}|send`,
          kind: 'message' as const,
          entityId: m.id,
          campaignId: cid,
          fireAt: 10,
          event: { type: 'xstate.after.send' },
        })),
      );
      await t.addCounters([{ campaignId: cid, counts: { queued: -500, sending: 500 } }]);
    });
    const statements = work(probe.statements).map((x) => x.trim());
    expect(statements).toEqual([
      expect.stringMatching(/^INSERT INTO \S+\.messages/),
      expect.stringMatching(/^SELECT .* FOR UPDATE SKIP LOCKED$/s),
      expect.stringMatching(/^WITH u AS \(UPDATE \S+\.messages/),
    ]);
    // The writes that return nothing go out together before COMMIT, one part per table.
    const parts = [
      /UPDATE \S+\.messages/,
      /INSERT INTO \S+\.message_log/,
      /INSERT INTO \S+\.deadlines/,
      /INSERT INTO \S+\.counters/,
    ];
    const at = parts.map((w) => statements[2]?.search(w) ?? -1);
    expect(at.every((n) => n >= 0)).toBe(true);
    expect(probe.statements.at(-1)).toBe('COMMIT');
    const after = await s.transaction(async (t) => ({
      sending: (await t.listMessages(cid, { statuses: ['sending'], limit: 1000 })).length,
      due: (await t.takeDueDeadlines(10, 1000)).length,
      counters: (await t.getCounters(cid)).counts,
    }));
    expect(after).toMatchObject({ sending: 500, due: 500, counters: { queued: -500, sending: 500 } });
  });

  it('should refuse a batch with a duplicate id with CONFLICT and keep none of it', async () => {
    const s = postgresStorage({ pool: db, schema: freshSchema() });
    const m = sampleMessage('cmp_dup');
    const error = await rejection(s.transaction((t) => t.insertMessages([sampleMessage('cmp_dup'), m, m])));
    expect(error.code).toBe('CONFLICT');
    expect(await s.transaction((t) => t.listMessages('cmp_dup', { limit: 10 }))).toEqual([]);
  });

  it('should refuse to update a message that does not exist with NOT_FOUND', async () => {
    const s = postgresStorage({ pool: db, schema: freshSchema() });
    const error = await rejection(
      s.transaction((t) => t.updateMessages([sampleMessage('cmp_x', { id: 'msg_ghost' })])),
    );
    expect([error.code, error.details.missing]).toEqual(['NOT_FOUND', ['msg_ghost']]);
  });
});

describe('postgresStorage: fewer round trips', () => {
  const deadline = (id: string, fireAt: number): DeadlineRecord => ({
    id,
    kind: 'message',
    entityId: id.split('|')[0] as string,
    campaignId: 'c',
    fireAt,
    event: { type: 'xstate.after.x' },
  });

  it('should send neither BEGIN nor COMMIT for a transaction that only reads', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    probe.statements.length = 0;
    await s.transaction(async (t) => {
      await t.getCampaign('cmp_none');
      await t.getCounters('cmp_none');
    });
    expect(probe.statements.map((x) => x.trim().split(/\s+/)[0])).toEqual(['SELECT', 'SELECT']);
  });

  it('should read a campaign and its counters in one statement, and read the counters again after any other statement', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    const c = sampleCampaign();
    await s.transaction(async (t) => {
      await t.insertCampaign(c);
      await t.addCounters([{ campaignId: c.id, counts: { queued: 2 } }]);
    });
    probe.statements.length = 0;
    const first = await s.transaction(async (t) => {
      await t.getCampaign(c.id);
      return (await t.getCounters(c.id)).counts.queued;
    });
    expect([first, probe.statements.length]).toEqual([2, 1]);
    probe.statements.length = 0;
    const second = await s.transaction(async (t) => {
      await t.getCampaign(c.id);
      await t.addCounters([{ campaignId: c.id, counts: { queued: 1 } }]);
      return (await t.getCounters(c.id)).counts.queued;
    });
    expect(second).toBe(3);
    expect(work(probe.statements).map((x) => x.trim().split(/\s+/)[0])).toEqual(['SELECT', 'INSERT', 'SELECT']);
  });

  it('should begin at the first statement that locks or writes, and keep the reads before it outside', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    const m = sampleMessage('cmp_late');
    await s.transaction((t) => t.insertMessages([m]));
    probe.statements.length = 0;
    await s.transaction(async (t) => {
      await t.getMessage(m.id);
      await t.lockMessages([m.id]);
      await t.getMessage(m.id);
    });
    expect(probe.statements.map((x) => (/FOR UPDATE/.test(x) ? 'LOCK' : x.trim().split(/\s+/)[0]))).toEqual([
      'SELECT',
      'BEGIN',
      'LOCK',
      'SELECT',
      'COMMIT',
    ]);
  });

  it('should let calls started together without awaiting each see the writes held before them', async () => {
    const s = postgresStorage({ pool: fromPGlite(db), schema: freshSchema() });
    const c = sampleCampaign();
    const m = sampleMessage(c.id);
    await s.transaction(async (t) => {
      await t.insertCampaign(c);
      await t.insertMessages([m]);
    });
    const [counts, locked] = await s.transaction(async (t) => {
      await t.addCounters([{ campaignId: c.id, counts: { queued: 5 } }]);
      await t.updateMessages([{ ...m, status: 'sending' }]);
      return Promise.all([
        Promise.all([t.getCounters(c.id), t.getCounters(c.id)]),
        Promise.all([t.getMessage(m.id), t.lockMessages([m.id])]),
      ]);
    });
    expect(counts.map((x) => x.counts.queued)).toEqual([5, 5]);
    expect([locked[0]?.status, locked[1][0]?.status]).toEqual(['sending', 'sending']);
  });

  it('should write held-back writes as the calls order them, and let later reads see them', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    const m = sampleMessage('c');
    await s.transaction(async (t) => {
      await t.insertMessages([m]);
      await t.upsertDeadlines([deadline('a|x', 10), deadline('b|x', 20)]);
    });
    probe.statements.length = 0;
    const seen = await s.transaction(async (t) => {
      await t.upsertDeadlines([deadline('c|x', 5)]);
      await t.deleteDeadlines(['c|x', 'a|x']); // deletes what was just upserted
      await t.upsertDeadlines([deadline('a|x', 30)]); // and re-arms a deleted one
      await t.updateMessages([{ ...m, status: 'sending', state: 'sending' }]);
      await t.updateMessages([{ ...m, status: 'sent', state: 'sent' }]); // the later one wins
      await t.addCounters([{ campaignId: 'c', counts: { sent: 1 } }]);
      await t.addCounters([{ campaignId: 'c', counts: { sent: 2 } }]);
      return { message: (await t.getMessage(m.id))?.status, counters: (await t.getCounters('c')).counts.sent };
    });
    expect(seen).toEqual({ message: 'sent', counters: 3 });
    const due = await s.transaction((t) => t.takeDueDeadlines(100, 10));
    expect(due.map((d) => [d.id, d.fireAt])).toEqual([
      ['b|x', 20],
      ['a|x', 30],
    ]);
  });

  it('should re-run a transaction whose held-back writes meet a lost connection before COMMIT', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    const m = sampleMessage('c');
    await s.transaction((t) => t.insertMessages([m]));
    let cuts = 1;
    probe.before = (text) => {
      if (text.startsWith('WITH') && cuts-- > 0) throw driverError('08006', 'connection failure');
    };
    let runs = 0;
    await s.transaction(async (t) => {
      runs++;
      await t.updateMessages([{ ...m, status: 'sending', state: 'sending' }]);
      await t.addCounters([{ campaignId: 'c', counts: { sending: 1 } }]);
    });
    expect(runs).toBe(2);
    const after = await s.transaction(async (t) => ({
      status: (await t.getMessage(m.id))?.status,
      sending: (await t.getCounters('c')).counts.sending,
    }));
    expect(after).toEqual({ status: 'sending', sending: 1 });
  });
});

describe('postgresStorage: transactions', () => {
  it('should re-run the transaction after a serialization failure and apply it once', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    let failures = 1;
    probe.before = (text) => {
      if (text === 'COMMIT' && failures-- > 0) throw driverError('40001', 'could not serialize access');
    };
    let runs = 0;
    await s.transaction(async (t) => {
      runs++;
      await t.addCounters([{ campaignId: 'c', counts: { sent: 1 } }]);
    });
    expect(runs).toBe(2);
    expect((await s.transaction((t) => t.getCounters('c'))).counts.sent).toBe(1);
  });

  it('should re-run the transaction after a deadlock or a connection lost before COMMIT', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    const inject = ['40P01', '57P01'];
    probe.before = (text) => {
      const code = text.includes('counters') && text.startsWith('INSERT') ? inject.shift() : undefined;
      if (code) throw driverError(code);
    };
    let runs = 0;
    await s.transaction(async (t) => {
      runs++;
      await t.addCounters([{ campaignId: 'c', counts: { sent: 1 } }]);
    });
    expect(runs).toBe(3);
    expect((await s.transaction((t) => t.getCounters('c'))).counts.sent).toBe(1);
  });

  it('should give up after maxRetries with STORAGE_ERROR and the cause', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema(), maxRetries: 2 });
    await s.migrate();
    const cause = driverError('40001');
    probe.statements.length = 0;
    probe.before = (text) => {
      if (text === 'COMMIT') throw cause;
    };
    const error = await rejection(s.transaction((t) => t.addCounters([{ campaignId: 'c', counts: { sent: 1 } }])));
    expect([error.code, error.cause]).toEqual(['STORAGE_ERROR', cause]);
    expect(probe.statements.filter((x) => x === 'COMMIT')).toHaveLength(3);
  });

  it('should not re-run a transaction whose COMMIT was lost, and say it may have been applied', async () => {
    const probe = instrumented(db);
    const s = postgresStorage({ pool: probe.pool, schema: freshSchema() });
    await s.migrate();
    probe.before = (text) => {
      if (text === 'COMMIT') throw driverError('08006', 'connection failure');
    };
    let runs = 0;
    const error = await rejection(
      s.transaction(async (t) => {
        runs++;
        await t.markSeen(['k']);
      }),
    );
    expect([error.code, runs]).toEqual(['STORAGE_ERROR', 1]);
    expect(error.message).toMatch(/may or may not have been applied/);
    probe.before = () => {};
    await s.transaction((t) => t.markSeen(['k2'])); // the connection went back (PGlite rolled nothing back, so end it)
  });

  it('should surface a refused connection as STORAGE_ERROR with the cause', async () => {
    const pool = new pg.Pool({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 2000 });
    try {
      const s = postgresStorage({ pool, maxRetries: 1 });
      const error = await rejection(s.transaction((t) => t.getCampaign('cmp_1')));
      expect(error.code).toBe('STORAGE_ERROR');
      expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    } finally {
      await pool.end();
    }
  });

  it('should roll back and fail when the callback swallows a failed statement', async () => {
    const s = postgresStorage({ pool: db, schema: freshSchema() });
    const m = sampleMessage('cmp_swallow');
    await s.transaction((t) => t.insertMessages([m]));
    const error = await rejection(
      s.transaction(async (t) => {
        await t.addCounters([{ campaignId: 'cmp_swallow', counts: { queued: 1 } }]);
        await t.insertMessages([m]).catch(() => undefined);
      }),
    );
    expect(error.code).toBe('CONFLICT');
    expect((await s.transaction((t) => t.getCounters('cmp_swallow'))).counts.queued).toBe(0);
  });

  it('should refuse calls on a transaction that has ended', async () => {
    const s = postgresStorage({ pool: db, schema: freshSchema() });
    let leaked: StorageTransaction | undefined;
    await s.transaction(async (t) => {
      leaked = t;
    });
    const error = await rejection((leaked as StorageTransaction).getCampaign('cmp_1'));
    expect(error.code).toBe('STORAGE_ERROR');
  });
});
