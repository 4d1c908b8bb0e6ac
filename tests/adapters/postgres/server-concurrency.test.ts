import type { StorageTransaction } from 'campaign-lifecycle';
import { POSTGRES_MIGRATIONS, postgresStorage } from 'campaign-lifecycle/postgres';
import { sampleMessage } from 'campaign-lifecycle/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Two pools stand for two processes: separate connections, nothing shared but the server.
const url = process.env.DATABASE_URL;

describe.skipIf(!url)('postgresStorage: concurrency on a real PostgreSQL server', () => {
  const schema = `srv_concurrency_${process.pid}`;
  const poolA = new pg.Pool({ connectionString: url, max: 4 });
  const poolB = new pg.Pool({ connectionString: url, max: 4 });
  const a = postgresStorage({ pool: poolA, schema });
  const b = postgresStorage({ pool: poolB, schema });

  beforeAll(async () => {
    await poolA.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });
  afterAll(async () => {
    await poolA.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await Promise.all([poolA.end(), poolB.end()]);
  });

  it('should let two concurrent migrate() calls from two processes both succeed, each version applied once', async () => {
    await Promise.all([a.migrate(), b.migrate(), postgresStorage({ pool: poolB, schema }).migrate()]);
    const { rows } = await poolA.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
  });

  it('two processes run two SMS campaigns of one scope at once, many times: exactly one wins each time', async () => {
    for (let round = 0; round < 50; round++) {
      const scope = `race-${round}`;
      // Both transactions are open before either claims, so the claims really overlap.
      let arrived = 0;
      let go!: () => void;
      const barrier = new Promise<void>((resolve) => {
        go = resolve;
      });
      const claim = (storage: typeof a, id: string) =>
        storage.transaction(async (t: StorageTransaction) => {
          await t.channelHolder(scope, 'sms');
          if (++arrived === 2) go();
          await barrier;
          return t.claimChannel(scope, 'sms', id);
        });
      const [ra, rb] = await Promise.all([claim(a, `cmp_a${round}`), claim(b, `cmp_b${round}`)]);
      const winners = [ra === `cmp_a${round}`, rb === `cmp_b${round}`].filter(Boolean);
      expect(winners).toHaveLength(1);
      expect(ra).toBe(rb);
      expect(await a.transaction((t) => t.channelHolder(scope, 'sms'))).toBe(ra);
    }
  });

  it('should never hand the same queued message to workers of two processes', async () => {
    const cid = `cmp_claims_${process.pid}`;
    await a.transaction((t) => t.insertMessages(Array.from({ length: 400 }, () => sampleMessage(cid))));
    const worker = async (storage: typeof a) => {
      const mine: string[] = [];
      for (;;) {
        const got = await storage.transaction(async (t) => {
          const claimed = await t.claimMessages(cid, 'queued', 25);
          await t.updateMessages(claimed.map((m) => ({ ...m, status: 'sending' as const, state: 'sending' })));
          await t.addCounters([{ campaignId: cid, counts: { queued: -claimed.length, sending: claimed.length } }]);
          return claimed.map((m) => m.id);
        });
        if (got.length === 0) return mine;
        mine.push(...got);
      }
    };
    const all = (await Promise.all([worker(a), worker(a), worker(b), worker(b)])).flat();
    expect(all).toHaveLength(400);
    expect(new Set(all).size).toBe(400);
    // Counters are sharded by connection; their sum must still be exact.
    const counters = await b.transaction((t) => t.getCounters(cid));
    expect([counters.counts.queued, counters.counts.sending]).toEqual([-400, 400]);
  });
});
