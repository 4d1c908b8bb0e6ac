/**
 * `run()` of a big SMS campaign on PostgreSQL, and the claim query's plan once part of it is claimed
 * (issue 18). Not a `*.bench.ts` (`run-all` does not run it): a measurement for the keyset claims.
 *
 * 1. Sets up a campaign of N contacts (`addContacts` in chunks of 10,000, `save`; not timed), then
 *    times `run()` (wall time, this process's CPU time, the Postgres server's CPU time from /proc, the
 *    `messages` rows it wrote): `run()` queues every waiting message in one transaction.
 * 2. Marks the first half of the queued messages `sending` (as claims would), `ANALYZE`s, and prints
 *    `EXPLAIN (ANALYZE, BUFFERS)` of the claim of 64 queued messages from the beginning and after the
 *    last claimed id (the keyset claim), with the index each plan reads.
 *
 * Run: DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx bench/pg-run-and-claim.ts [N=100000]
 * Drops its schema at the end (`BENCH_KEEP=1` keeps it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createOutreach, systemClock } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import pg from 'pg';
import { addGeneratedContacts } from './bench-fixtures.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('Set DATABASE_URL to run this script.');
  process.exit(1);
}
const N = Number(process.argv[2] ?? 100_000);
const schema = `bench_runclaim_${process.pid}`;

/** CPU seconds of every `postgres` process (the server's, shared with anything else using it). */
function postgresCpuSeconds(): number {
  const tick = 100;
  let total = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

const pool = new pg.Pool({ connectionString: url, max: 4 });
try {
  await pool.query(`CREATE SCHEMA ${schema}`);
  const storage = postgresStorage({ pool, schema });
  await storage.migrate();
  const outreach = createOutreach({ storage, clock: systemClock, transports: {}, pollInterval: false });
  const c = await outreach.createCampaign({ name: `run ${N}`, channel: 'sms', content: { body: 'Hi {{first_name}}' } });
  const setup = performance.now();
  await addGeneratedContacts(outreach, c.id, N, 'sms', 10_000);
  await outreach.save(c.id);
  console.log(`N = ${N.toLocaleString('en')}; setup ${((performance.now() - setup) / 1000).toFixed(1)} s`);

  const rowsOf = async () =>
    (
      await pool.query(
        `SELECT n_tup_upd::float8 AS upd FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'messages'`,
        [schema],
      )
    ).rows[0]?.upd as number;
  const upd0 = await rowsOf();
  const pg0 = postgresCpuSeconds();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await outreach.run(c.id);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const pgCpu = postgresCpuSeconds() - pg0;
  await new Promise((r) => setTimeout(r, 600)); // pg_stat counters are flushed every 500 ms
  const counts = (await outreach.getCampaign(c.id)).counts;
  if (counts.queued !== N) throw new Error(`run() queued ${counts.queued} of ${N}`);
  console.log(
    `run(): ${wall.toFixed(2)} s wall, Node CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, ` +
      `Postgres CPU ${pgCpu.toFixed(2)} s (${((pgCpu * 1e6) / N).toFixed(1)} µs a message), ` +
      `messages updated ${((await rowsOf()) - upd0).toLocaleString('en')}`,
  );

  // Half of the campaign claimed, as the workers would leave it.
  await pool.query(
    `UPDATE ${schema}.messages SET state = 'sending', status = 'sending'
     WHERE id IN (SELECT id FROM ${schema}.messages WHERE campaign_id = $1 ORDER BY id LIMIT $2)`,
    [c.id, Math.floor(N / 2)],
  );
  // ANALYZE only: mid-run, the claimed messages' old versions are still in the indexes (as before a VACUUM).
  await pool.query(`ANALYZE ${schema}.messages`);
  const last = (
    await pool.query(`SELECT max(id) AS id FROM ${schema}.messages WHERE campaign_id = $1 AND state = 'sending'`, [
      c.id,
    ])
  ).rows[0]?.id as string;
  const explain = async (label: string, sql: string, params: unknown[]) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const plan = (await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params)).rows[0]?.[
        'QUERY PLAN'
      ] as [{ Plan: Record<string, unknown>; 'Execution Time': number }];
      await client.query('ROLLBACK');
      const indexes: string[] = [];
      const walk = (p: Record<string, unknown>) => {
        if (p['Index Name']) indexes.push(`${p['Node Type']} on ${p['Index Name']}`);
        else if (p['Node Type'] === 'Seq Scan') indexes.push('Seq Scan');
        for (const child of (p.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk(plan[0].Plan);
      console.log(
        `${label}: ${plan[0]['Execution Time'].toFixed(2)} ms, ${indexes.join(', ')}, ` +
          `shared buffers hit+read ${Number(plan[0].Plan['Shared Hit Blocks'] ?? 0) + Number(plan[0].Plan['Shared Read Blocks'] ?? 0)}`,
      );
    } finally {
      client.release();
    }
  };
  const claim = `SELECT id FROM ${schema}.messages WHERE campaign_id = $1 AND state = $2`;
  for (let i = 0; i < 2; i++) {
    await explain('claim 64 from the beginning', `${claim} ORDER BY id LIMIT 64 FOR UPDATE SKIP LOCKED`, [
      c.id,
      'queued',
    ]);
    await explain(
      'claim 64 after the last claimed id',
      `${claim} AND id > $3 ORDER BY id LIMIT 64 FOR UPDATE SKIP LOCKED`,
      [c.id, 'queued', last],
    );
  }
  const indexes = await pool.query(
    `SELECT indexname, pg_relation_size(format('%I.%I', schemaname, indexname)::regclass)::float8 AS bytes
     FROM pg_indexes WHERE schemaname = $1 AND tablename = 'messages' ORDER BY indexname`,
    [schema],
  );
  console.log(
    `indexes of messages: ${indexes.rows.map((r) => `${r.indexname} ${(Number(r.bytes) / 2 ** 20).toFixed(1)} MiB`).join(', ')}`,
  );
} finally {
  if (process.env.BENCH_KEEP !== '1') await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
}
