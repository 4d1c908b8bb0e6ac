/**
 * Benchmark: provider events (status updates) applied through the Postgres adapter, one transaction
 * per event and in batches of 500, beside a bare `UPDATE messages SET … WHERE id = $1` loop with `pg`
 * on the same server in the same run. Prints ops/s and the ratio to the bare loop, and writes
 * bench/results/postgres-events.json. Never fails on time.
 * Each figure is measured at every concurrency level given (connections in flight; default 1 and 8).
 * Run: DATABASE_URL=postgres://… npx tsx bench/postgres-events.bench.ts [events] [concurrency,…]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { MessageRecord, StorageTransaction } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { sampleMessage } from 'campaign-lifecycle/testing';
import pg from 'pg';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run this benchmark.');
  process.exit(1);
}
const N = Number(process.argv[2] ?? 5000);
const LEVELS = (process.argv[3] ?? '1,8').split(',').map(Number);
const BATCH = 500;
const schema = 'bench_postgres_events';

const pool = new pg.Pool({ connectionString: url, max: Math.max(...LEVELS) + 1 });
const storage = postgresStorage({ pool, schema });

/** Creates `n` messages in Sent with provider ids, ready to receive a delivery event each. */
async function seed(campaignId: string, n: number): Promise<MessageRecord[]> {
  const rows = Array.from({ length: n }, (_, i) => {
    const m = sampleMessage(campaignId, { status: 'sent', state: 'sent' });
    return { ...m, context: { ...m.context, attempts: 1, providerMessageId: `SM${campaignId}${i}` } };
  });
  for (let i = 0; i < rows.length; i += 5000)
    await storage.transaction((t) => t.insertMessages(rows.slice(i, i + 5000)));
  return rows;
}

/** The writes of one delivery event on locked messages, as the engine makes them. */
async function applyDelivered(t: StorageTransaction, ids: readonly string[], at: number): Promise<void> {
  const locked = await t.lockMessages(ids);
  await t.updateMessages(
    locked.map((m) => ({
      ...m,
      status: 'delivered' as const,
      state: 'delivered',
      context: { ...m.context, updatedAt: at },
      updatedAt: at,
    })),
  );
  await t.appendLog(
    locked.map((m) => ({
      messageId: m.id,
      campaignId: m.campaignId,
      at,
      event: 'PROVIDER_DELIVERED',
      from: 'sent' as const,
      to: 'delivered' as const,
      changed: true,
    })),
  );
  await t.addCounters([
    { campaignId: locked[0]?.campaignId ?? '', counts: { sent: -locked.length, delivered: locked.length } },
  ]);
}

/** Runs `jobs` with at most `concurrency` in flight; returns ops per second. */
async function measure(concurrency: number, ops: number, jobs: (() => Promise<unknown>)[]): Promise<number> {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) await (jobs[next++] as () => Promise<unknown>)();
    }),
  );
  return ops / ((performance.now() - start) / 1000);
}

/** Measures the three ways at one concurrency level, each on its own freshly seeded campaign. */
async function level(concurrency: number) {
  const at = Date.now();
  const tag = `c${concurrency}`;
  const bareRows = await seed(`cmp_bare_${tag}`, N);
  const bare = await measure(
    concurrency,
    N,
    bareRows.map(
      (m) => () =>
        pool.query(`UPDATE ${schema}.messages SET status = $2, state = $2, updated_at = $3 WHERE id = $1`, [
          m.id,
          'delivered',
          at,
        ]),
    ),
  );
  const singleRows = await seed(`cmp_single_${tag}`, N);
  const single = await measure(
    concurrency,
    N,
    singleRows.map((m) => () => storage.transaction((t) => applyDelivered(t, [m.id], at))),
  );
  const batchRows = await seed(`cmp_batch_${tag}`, N);
  const batches: (() => Promise<unknown>)[] = [];
  for (let i = 0; i < batchRows.length; i += BATCH) {
    const ids = batchRows.slice(i, i + BATCH).map((m) => m.id);
    batches.push(() => storage.transaction((t) => applyDelivered(t, ids, at)));
  }
  const batched = await measure(concurrency, N, batches);

  // The adapter's figures count only if every event landed.
  const counters = await storage.transaction(async (t) => [
    await t.getCounters(`cmp_single_${tag}`),
    await t.getCounters(`cmp_batch_${tag}`),
  ]);
  for (const c of counters)
    if (c?.counts.delivered !== N) throw new Error(`expected ${N} delivered, got ${c?.counts.delivered}`);
  return [
    { concurrency, name: 'bare pg UPDATE … WHERE id = $1 loop', opsPerSecond: bare, ratio: 1 },
    { concurrency, name: 'adapter, one transaction per event', opsPerSecond: single, ratio: single / bare },
    { concurrency, name: `adapter, batches of ${BATCH} events`, opsPerSecond: batched, ratio: batched / bare },
  ];
}

async function main() {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await storage.migrate();
  const figures = [];
  for (const c of LEVELS) figures.push(...(await level(c)));

  console.log(
    `\n${N.toLocaleString('en')} events per figure, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, Node ${process.version}\n`,
  );
  console.log(`${'method'.padEnd(40)} ${'conc.'.padStart(5)} ${'ops/s'.padStart(10)} ${'ratio'.padStart(7)}`);
  for (const f of figures) {
    console.log(
      `${f.name.padEnd(40)} ${String(f.concurrency).padStart(5)} ${Math.round(f.opsPerSecond).toLocaleString('en').padStart(10)} ${f.ratio.toFixed(2).padStart(7)}`,
    );
  }
  const server = (await pool.query('SHOW server_version')).rows[0]?.server_version as string;
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(
    new URL('./results/postgres-events.json', import.meta.url),
    `${JSON.stringify(
      {
        benchmark: 'postgres-events',
        date: new Date().toISOString(),
        machine: {
          cpu: os.cpus()[0]?.model,
          cores: os.cpus().length,
          memoryGiB: Math.round(os.totalmem() / 2 ** 30),
          platform: `${os.platform()} ${os.release()}`,
        },
        node: process.version,
        postgres: server,
        events: N,
        concurrencyLevels: LEVELS,
        batch: BATCH,
        figures,
      },
      null,
      2,
    )}\n`,
  );
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => pool.end());
