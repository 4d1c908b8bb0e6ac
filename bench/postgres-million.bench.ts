/**
 * Benchmark: a million-recipient SMS campaign on PostgreSQL with 4 worker processes, the whole
 * lifecycle over loopback HTTP, beside graphile-worker doing the least a team would build instead,
 * both measured in this run on the same server.
 *
 * - Baseline: graphile-worker 0.16 (`run()`, 4 processes, `BENCH_GW_CONCURRENCY` jobs at once each),
 *   one job per message whose task only updates that message's status row. Jobs/s from `go` to the
 *   last row updated.
 * - Ours: `postgresStorage` (`pg` pools), 4 worker processes (bench/pg-million-worker.ts), each the
 *   engine's worker sending through the real `twilioTransport` to a fake Twilio Messages API
 *   (bench/pg-million-fake-twilio.ts, its own process) and serving the callbacks through the real
 *   `twilioWebhookHandler`; the fake Twilio answers each create with 201 and a sid, then posts the
 *   signed `sent` and `delivered` callbacks to that worker. Timed from `run` to `complete`.
 *
 * Prints messages/s and callbacks/s beside the baseline's jobs/s, the ratio, peak RSS per process,
 * CPU per process, Postgres size per message (`pg_total_relation_size` of the schema's tables / N)
 * and the Postgres server's CPU while each ran (all its processes, read from /proc: shared with
 * anything else using that server). Writes bench/results/postgres-million-<N>.json. Checks that
 * every message was created once at the fake Twilio, every callback answered 200 and the campaign
 * ended `complete` with N delivered; throws otherwise. Never fails on time. Drops its schemas.
 *
 * Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/postgres-million.bench.ts
 * Env: BENCH_N (messages, default 1,000,000; `npm run bench` uses 100,000 unless BENCH_N is set),
 * BENCH_BASELINE_N (jobs of the baseline, default min(N, 20,000): its rate does not depend on the
 * queue's length and at ~600 jobs/s a million would take half an hour), BENCH_WORKERS (4),
 * BENCH_POOL_MAX (8 per worker), BENCH_BATCH (500), BENCH_CONCURRENCY (64 sends in flight per
 * worker), BENCH_GW_CONCURRENCY (8), BENCH_MAX_SECONDS (stop the campaign run then and report it as
 * partial: rates over the delivered part; exits non-zero), BENCH_END_BY (the same at an ISO time), BENCH_HTTP=web (the
 * workers' HTTP the Web way, undici `fetch` and a Web `Request`/`Response` per callback, instead of
 * campaign-lifecycle/node's `nodeFetch` and `toNodeListener`), BENCH_CPU_PROFILE=<folder> (a V8 CPU profile of every worker's
 * timed section, for bench/cpu-profile-summary.ts), BENCH_ONLY=ours|baseline, BENCH_AUTOVACUUM=off (do not
 * emulate autovacuum's defaults on a server that runs without it; see `emulateAutovacuum`),
 * (BENCH_PENDING_INDEX is gone: the partial index it added is migration 6 of the adapter.)
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createOutreach, systemClock } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { runMigrations } from 'graphile-worker';
import pg from 'pg';
import { addGeneratedContacts } from './bench-fixtures.js';
import { fmt, mib, printTable, type Row, rssSampler, writeResults } from './bench-report.js';
import type { FakeTwilioReport } from './pg-million-fake-twilio.js';
import type { GraphileReport } from './pg-million-graphile.js';
import type { PgWorkerReport } from './pg-million-worker.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run this benchmark.');
  process.exit(1);
}
const env = process.env;
const int = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const N = int('BENCH_N', 1_000_000);
const BASELINE_N = int('BENCH_BASELINE_N', Math.min(N, 20_000));
const WORKERS = int('BENCH_WORKERS', 4);
const GW_CONCURRENCY = int('BENCH_GW_CONCURRENCY', 8);
const ONLY = env.BENCH_ONLY;
/** Stops the campaign run after this long and reports it as partial (the rates over what was delivered). */
const MAX_SECONDS = int('BENCH_MAX_SECONDS', Number.POSITIVE_INFINITY);
/** The same, at a wall-clock time (ISO 8601), e.g. to end before a deadline whatever the setup took. */
const END_BY = env.BENCH_END_BY ? Date.parse(env.BENCH_END_BY) : Number.POSITIVE_INFINITY;
if (Number.isNaN(END_BY)) throw new Error(`BENCH_END_BY is not a date: ${env.BENCH_END_BY}`);
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const ACCOUNT_SID = `AC${'0'.repeat(31)}1`;
const root = fileURLToPath(new URL('..', import.meta.url));
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const tag = `${process.pid}`;
const ours = `bench_pgm_${tag}`;
const gwSchema = `bench_pgm_gw_${tag}`;
const baseSchema = `bench_pgm_base_${tag}`;

function fail(what: string): never {
  throw new Error(`${what}: the benchmark did not do what it claims to measure`);
}

/** Forks a child over IPC and resolves once it says `ready` (with what it said). */
function start<T extends { type: string }>(file: string, childEnv: Record<string, string>) {
  const child = fork(here(file), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...childEnv },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let stopped: (value: T) => void = () => {};
  const report = new Promise<T>((resolve, reject) => {
    stopped = resolve;
    child.on('exit', (code) => reject(new Error(`${file} exited (${code}) before reporting`)));
  });
  report.catch(() => {});
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('message', (m: { type: string }) => {
      if (m.type === 'ready') resolve(m as Record<string, unknown>);
      if (m.type === 'stopped') stopped(m as T);
    });
    child.on('exit', (code) => reject(new Error(`${file} exited (${code}) before it was ready`)));
  });
  return { child, ready, report, send: (m: { type: string }) => child.send(m) };
}

/** CPU milliseconds of every PostgreSQL server process (the ended backends through the postmaster's children). */
function postgresCpuMs(): number | undefined {
  try {
    const tick = 1000 / 100; // USER_HZ is 100 on Linux
    let total = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const close = stat.lastIndexOf(')');
      if (!stat.slice(0, close).includes('(postgres')) continue;
      const f = stat.slice(close + 2).split(' ');
      // fields after the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
      total += Number(f[11]) + Number(f[12]);
      if (f[1] === '1') total += Number(f[13]) + Number(f[14]);
    }
    return total * tick;
  } catch {
    return undefined;
  }
}

async function waitFor(probe: () => Promise<boolean>, everyMs = 250, timeoutMs = 4 * 3600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) fail('timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The server's WAL position: WAL written between two readings (server-wide, so anything else writing counts too). */
async function walLsn(): Promise<string> {
  return (await pool.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
}
async function walSince(lsn: string): Promise<number> {
  const { rows } = await pool.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS bytes', [lsn]);
  return Number(rows[0].bytes);
}

/**
 * On a server with `autovacuum = off` (as the shared test server here is), does what autovacuum's
 * defaults would do for one schema's tables: every `autovacuum_naptime` (60 s; first look after 10 s),
 * `ANALYZE` a table with more than 50 + 10 % of its rows changed since its last analyze, `VACUUM` one
 * with more than 50 + 20 % dead rows. Without it the planner keeps the statistics from before `run`
 * (no message queued) and claims by reading and sorting every queued message, and dead rows pile up.
 * Returns a stopper and the count of what it ran. Nothing when the server runs autovacuum itself.
 */
async function emulateAutovacuum(schema: string) {
  const done = { analyze: 0, vacuum: 0, ms: 0 };
  const on = (await pool.query('SHOW autovacuum')).rows[0].autovacuum === 'on';
  if (on || env.BENCH_AUTOVACUUM === 'off') return { stop: async () => ({ ...done, emulated: false }) };
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pass: Promise<void> = Promise.resolve();
  const look = async () => {
    const start = performance.now();
    const { rows } = await client.query(
      `SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze FROM pg_stat_user_tables WHERE schemaname = $1`,
      [schema],
    );
    for (const r of rows as {
      relname: string;
      n_live_tup: string;
      n_dead_tup: string;
      n_mod_since_analyze: string;
    }[]) {
      if (stopped) break;
      const live = Number(r.n_live_tup);
      const table = `${schema}.${r.relname}`;
      if (Number(r.n_dead_tup) > 50 + 0.2 * live) {
        await client.query(`VACUUM (ANALYZE) ${table}`);
        done.vacuum++;
        done.analyze++;
      } else if (Number(r.n_mod_since_analyze) > 50 + 0.1 * live) {
        await client.query(`ANALYZE ${table}`);
        done.analyze++;
      }
    }
    done.ms += performance.now() - start;
  };
  const loop = (delay: number) => {
    timer = setTimeout(() => {
      pass = look().catch((error: unknown) => console.error(`autovacuum emulation: ${String(error)}`));
      void pass.then(() => {
        if (!stopped) loop(60_000);
      });
    }, delay);
  };
  loop(10_000);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await pass;
      await client.end();
      return { ...done, emulated: true };
    },
  };
}

async function schemaBytes(pool: pg.Pool, schema: string): Promise<number> {
  const { rows } = await pool.query(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm')`,
    [schema],
  );
  return Number(rows[0].bytes);
}

const pool = new pg.Pool({ connectionString: url, max: 4 });
const dropAll = () =>
  pool.query(
    `DROP SCHEMA IF EXISTS ${ours} CASCADE; DROP SCHEMA IF EXISTS ${gwSchema} CASCADE; DROP SCHEMA IF EXISTS ${baseSchema} CASCADE`,
  );
const parentRss = rssSampler(100);
const children: ChildProcess[] = [];
const figures: Record<string, unknown> = {
  n: N,
  baselineN: BASELINE_N,
  workers: WORKERS,
  // The workers' HTTP: campaign-lifecycle/node (nodeFetch + toNodeListener) or the Web way (undici + Request/Response).
  http: env.BENCH_HTTP === 'web' ? 'web' : 'node',
  loadAverageAtStart: os.loadavg(),
};
const rssRows: Row[] = [];

/** The baseline: graphile-worker, one job per message that only updates a status row. */
async function baseline() {
  await runMigrations({ connectionString: url, schema: gwSchema, logger: undefined });
  await pool.query(`CREATE SCHEMA ${baseSchema}`);
  const table = `${baseSchema}.status`;
  await pool.query(
    `CREATE TABLE ${table} (id int PRIMARY KEY, status text NOT NULL, updated_at timestamptz);
     INSERT INTO ${table} (id, status) SELECT i, 'queued' FROM generate_series(1, ${BASELINE_N}) i`,
  );
  const addStart = performance.now();
  for (let from = 1; from <= BASELINE_N; from += 10_000) {
    await pool.query(
      `SELECT count(${gwSchema}.add_job('update_status', json_build_object('id', i)))
         FROM generate_series($1::int, $2::int) i`,
      [from, Math.min(BASELINE_N, from + 9999)],
    );
  }
  const addMs = performance.now() - addStart;
  const procs = Array.from({ length: WORKERS }, (_, i) =>
    start<GraphileReport>('./pg-million-graphile.ts', {
      DATABASE_URL: url as string,
      GW_SCHEMA: gwSchema,
      STATUS_TABLE: table,
      CONCURRENCY: String(GW_CONCURRENCY),
      WORKER_ID: `gw-${i + 1}`,
    }),
  );
  children.push(...procs.map((p) => p.child));
  await Promise.all(procs.map((p) => p.ready));
  const wal0 = await walLsn();
  const pgCpu0 = postgresCpuMs();
  const t0 = performance.now();
  for (const p of procs) p.send({ type: 'go' });
  await waitFor(async () => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE status = 'sent'`);
    return rows[0].n === BASELINE_N;
  }, 100);
  const seconds = (performance.now() - t0) / 1000;
  const pgCpu1 = postgresCpuMs();
  const walBytes = await walSince(wal0);
  for (const p of procs) p.send({ type: 'stop' });
  const reports = await Promise.all(procs.map((p) => p.report));
  const jobs = reports.reduce((n, r) => n + r.jobs, 0);
  if (jobs !== BASELINE_N) fail(`baseline ran ${jobs} jobs for ${BASELINE_N}`);
  const perSecond = BASELINE_N / seconds;
  for (const r of reports)
    rssRows.push({ run: 'baseline', process: r.worker, 'peak RSS MiB': mib(r.peakRss), 'CPU s': r.cpuMs / 1000 });
  const workerCpuMs = reports.reduce((n, r) => n + r.cpuMs, 0);
  const pgCpuMs = pgCpu0 !== undefined && pgCpu1 !== undefined ? pgCpu1 - pgCpu0 : undefined;
  const result = {
    jobs: BASELINE_N,
    enqueueSeconds: addMs / 1000,
    seconds,
    perSecond,
    workerCpuMsPerJob: workerCpuMs / BASELINE_N,
    postgresCpuMsPerJob: pgCpuMs === undefined ? undefined : pgCpuMs / BASELINE_N,
    walBytesPerJob: walBytes / BASELINE_N,
    statusTableBytesPerJob: (await schemaBytes(pool, baseSchema)) / BASELINE_N,
  };
  figures.baseline = result;
  await pool.query(`DROP SCHEMA ${gwSchema} CASCADE; DROP SCHEMA ${baseSchema} CASCADE`);
  return result;
}

/** Ours: the campaign, 4 workers, the fake Twilio, run → complete. */
async function campaign() {
  const twilio = start<FakeTwilioReport>('./pg-million-fake-twilio.ts', {
    AUTH_TOKEN,
    ACCOUNT_SID,
    CALLBACK_SOCKETS: String(int('BENCH_CALLBACK_SOCKETS', 32)),
  });
  children.push(twilio.child);
  const twilioBase = (await twilio.ready).base as string;

  const storage = postgresStorage({ pool, schema: ours });
  await storage.migrate();
  const outreach = createOutreach({ storage, clock: systemClock, transports: {}, pollInterval: false });
  const created = await outreach.createCampaign({
    name: `bench ${N}`,
    channel: 'sms',
    content: { body: 'Hi {{first_name}}, school is closed today.' },
  });
  const addMs = await addGeneratedContacts(outreach, created.id, N, 'sms', 10_000);
  const saveStart = performance.now();
  await outreach.save(created.id);
  const saveMs = performance.now() - saveStart;
  const afterSetupBytes = await schemaBytes(pool, ours);
  console.log(
    `  setup: ${fmt(N)} contacts added in ${fmt(addMs / 1000)} s, saved in ${fmt(saveMs / 1000)} s (${fmt(afterSetupBytes / N)} bytes/message in Postgres)`,
  );

  const workers = Array.from({ length: WORKERS }, (_, i) =>
    start<PgWorkerReport>('./pg-million-worker.ts', {
      DATABASE_URL: url as string,
      SCHEMA: ours,
      WORKER_ID: `worker-${i + 1}`,
      TWILIO_BASE: twilioBase,
      AUTH_TOKEN,
      ACCOUNT_SID,
      POOL_MAX: String(int('BENCH_POOL_MAX', 8)),
      BATCH_SIZE: String(int('BENCH_BATCH', 500)),
      CONCURRENCY: String(int('BENCH_CONCURRENCY', 64)),
    }),
  );
  children.push(...workers.map((w) => w.child));
  await Promise.all(workers.map((w) => w.ready));
  const wal0 = await walLsn();
  const autovacuum = await emulateAutovacuum(ours);
  const pgCpu0 = postgresCpuMs();
  const t0 = performance.now();
  for (const w of workers) w.send({ type: 'go' });
  await outreach.run(created.id);
  const runMs = performance.now() - t0;
  let lastPrint = performance.now();
  const FINAL = new Set(['complete', 'complete_with_errors', 'failed', 'stopped']);
  let status = '';
  await waitFor(async () => {
    status = (await outreach.getCampaign(created.id)).status;
    if (performance.now() - lastPrint > int('BENCH_PROGRESS_S', 30) * 1000) {
      lastPrint = performance.now();
      const s = await outreach.getStats(created.id);
      console.log(
        `  … ${fmt((lastPrint - t0) / 1000)} s: ${JSON.stringify(s.counts)} (load ${os.loadavg()[0]?.toFixed(1)})`,
      );
    }
    return FINAL.has(status) || performance.now() - t0 > MAX_SECONDS * 1000 || Date.now() > END_BY;
  }, 200);
  const seconds = (performance.now() - t0) / 1000;
  const partial = !FINAL.has(status);
  const pgCpu1 = postgresCpuMs();
  const walBytes = await walSince(wal0);
  const vacuumed = await autovacuum.stop();
  for (const w of workers) w.send({ type: 'stop' });
  twilio.send({ type: 'stop' });
  const [reports, tw] = await Promise.all([Promise.all(workers.map((w) => w.report)), twilio.report]);
  const stats = await outreach.getStats(created.id);
  const bytes = await schemaBytes(pool, ours);
  // Stopped by BENCH_MAX_SECONDS: the rates are over what was done, and the checks wait for the end.
  const done = partial ? stats.delivered : N;
  if (partial)
    console.log(
      `  PARTIAL: stopped by BENCH_MAX_SECONDS or BENCH_END_BY after ${fmt(seconds)} s with ${fmt(stats.delivered)} of ${fmt(N)} delivered (${JSON.stringify(stats.counts)}); rates below are over the delivered part`,
    );

  const callbacks = reports.reduce((n, r) => n + r.callbacks, 0);
  const errors = reports.reduce((n, r) => n + r.errors, 0);
  if (!partial && (status !== 'complete' || stats.delivered !== N))
    fail(`campaign ${status}, ${stats.delivered} of ${N} delivered: ${JSON.stringify(stats)}`);
  if (!partial && tw.creates !== N) fail(`the fake Twilio saw ${tw.creates} creates for ${N} messages`);
  // A partial run stops the workers with callbacks in flight: those end as socket errors, not refusals.
  if (tw.callbacksRefused > 0 || (!partial && tw.callbackErrors > 0))
    fail(`${tw.callbacksRefused} callbacks refused, ${tw.callbackErrors} failed (first: ${tw.firstRefusal})`);
  if (!partial && callbacks !== 2 * N) fail(`the handlers answered ${callbacks} callbacks for ${2 * N}`);
  for (const r of reports)
    rssRows.push({ run: 'ours', process: r.worker, 'peak RSS MiB': mib(r.peakRss), 'CPU s': r.cpuMs / 1000 });
  rssRows.push({ run: 'ours', process: 'fake Twilio', 'peak RSS MiB': mib(tw.peakRss), 'CPU s': tw.cpuMs / 1000 });
  const workerCpuMs = reports.reduce((n, r) => n + r.cpuMs, 0);
  const pgCpuMs = pgCpu0 !== undefined && pgCpu1 !== undefined ? pgCpu1 - pgCpu0 : undefined;
  const result = {
    messages: N,
    autovacuum: vacuumed,
    partial,
    delivered: stats.delivered,
    addContactsSeconds: addMs / 1000,
    saveSeconds: saveMs / 1000,
    runCallSeconds: runMs / 1000,
    seconds,
    messagesPerSecond: done / seconds,
    callbacksPerSecond: callbacks / seconds,
    engineErrors: errors,
    firstEngineError: reports.find((r) => r.firstError)?.firstError,
    workerCpuMsPerMessage: workerCpuMs / done,
    fakeTwilioCpuMsPerMessage: tw.cpuMs / done,
    postgresCpuMsPerMessage: pgCpuMs === undefined ? undefined : pgCpuMs / done,
    statementsPerMessage: reports.reduce((n, r) => n + r.statements, 0) / done,
    transactionsPerMessage: reports.reduce((n, r) => n + r.transactions, 0) / done,
    walBytesPerMessage: walBytes / done,
    rowWritesPerMessage: (
      await pool.query(
        `SELECT relname AS name, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del
           FROM pg_stat_user_tables WHERE schemaname = $1 ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC`,
        [ours],
      )
    ).rows.map((r: Record<string, string>) => ({
      table: r.name,
      inserts: Number(r.ins) / N,
      updates: Number(r.upd) / N,
      hotUpdates: Number(r.hot) / N,
      deletes: Number(r.del) / N,
    })),
    bytesPerMessageAfterSave: afterSetupBytes / N,
    bytesPerMessage: bytes / N,
    tables: (
      await pool.query(
        `SELECT c.relname AS name, pg_total_relation_size(c.oid)::bigint AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 2 DESC`,
        [ours],
      )
    ).rows.map((r: { name: string; bytes: string }) => ({ name: r.name, bytesPerMessage: Number(r.bytes) / N })),
  };
  figures.ours = result;
  return result;
}

// Ctrl-C or a kill: stop the children and drop the schemas before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    void dropAll()
      .catch(() => {})
      .finally(() => process.exit(130));
  });

try {
  await dropAll();
  console.log(
    `postgres-million: ${fmt(N)}-recipient SMS campaign, ${WORKERS} worker processes, Twilio over loopback HTTP; baseline graphile-worker, ${fmt(BASELINE_N)} jobs (load average ${os.loadavg()[0]?.toFixed(1)})`,
  );
  const base = ONLY === 'ours' ? undefined : await baseline();
  if (base) console.log(`  baseline: ${fmt(base.perSecond)} jobs/s`);
  const run = ONLY === 'baseline' ? undefined : await campaign();
  const rows: Row[] = [];
  if (base)
    rows.push({
      what: `baseline: graphile-worker, ${WORKERS} × ${GW_CONCURRENCY} at once, 1 UPDATE per job`,
      count: base.jobs,
      seconds: base.seconds,
      'per second': base.perSecond,
      '× baseline': '1.00×',
      'worker CPU ms each': base.workerCpuMsPerJob,
      'Postgres CPU ms each': base.postgresCpuMsPerJob ?? '',
    });
  if (run) {
    const ratio = base ? `${(run.messagesPerSecond / base.perSecond).toFixed(2)}×` : '';
    rows.push({
      what: run.partial
        ? 'ours: messages DELIVERED BEFORE BENCH_MAX_SECONDS (partial run)'
        : `ours: messages, run → complete (create + sent + delivered callbacks)`,
      count: run.partial ? run.delivered : run.messages,
      seconds: run.seconds,
      'per second': run.messagesPerSecond,
      '× baseline': ratio,
      'worker CPU ms each': run.workerCpuMsPerMessage,
      'Postgres CPU ms each': run.postgresCpuMsPerMessage ?? '',
    });
    rows.push({
      what: 'ours: signed status callbacks through twilioWebhookHandler',
      count: run.callbacksPerSecond * run.seconds,
      seconds: run.seconds,
      'per second': run.callbacksPerSecond,
    });
    if (base) figures.ratio = run.messagesPerSecond / base.perSecond;
  }
  printTable('Throughput (goal: messages/s ≥ 3× the baseline jobs/s)', rows);
  printTable('Peak RSS and CPU per process (timed section)', [
    ...rssRows,
    { run: '', process: 'this process (setup, polling)', 'peak RSS MiB': mib(parentRss.stop()) },
  ]);
  figures.processes = rssRows;
  if (run) {
    printTable(`Postgres size per message (schema ${ours}, ${fmt(N)} messages)`, [
      ...run.tables.map((t) => ({ table: t.name, 'bytes/message': t.bytesPerMessage })),
      { table: 'all (tables, indexes, TOAST)', 'bytes/message': run.bytesPerMessage },
      { table: '(after save, before run)', 'bytes/message': run.bytesPerMessageAfterSave },
    ]);
    printTable('Work per message (engine statements counted in the workers; rows from pg_stat_user_tables)', [
      { what: 'SQL statements (BEGIN/COMMIT included)', 'per message': run.statementsPerMessage },
      { what: 'transactions', 'per message': run.transactionsPerMessage },
      { what: 'WAL bytes (server-wide)', 'per message': run.walBytesPerMessage },
      ...(base ? [{ what: 'baseline: WAL bytes per job (server-wide)', 'per message': base.walBytesPerJob }] : []),
      ...run.rowWritesPerMessage.map((r) => ({
        what: `rows of ${r.table}: inserted / updated (HOT) / deleted, setup included`,
        'per message': `${fmt(r.inserts)} / ${fmt(r.updates)} (${fmt(r.hotUpdates)}) / ${fmt(r.deletes)}`,
      })),
    ]);
    if (run.engineErrors > 0)
      console.log(`engine errors (onError): ${run.engineErrors}; first: ${run.firstEngineError}`);
    if (run.autovacuum.emulated)
      console.log(
        `autovacuum is off on this server: the benchmark ran its defaults for the schema (${run.autovacuum.analyze} ANALYZE, ${run.autovacuum.vacuum} VACUUM, ${fmt(run.autovacuum.ms / 1000)} s)`,
      );
    console.log(
      `setup (not timed): addContacts ${fmt(run.addContactsSeconds)} s, save ${fmt(run.saveSeconds)} s; the run() call ${fmt(run.runCallSeconds)} s of the timed run`,
    );
  }
  figures.loadAverageAtEnd = os.loadavg();
  await writeResults(`postgres-million-${N}${run?.partial ? '-partial' : ''}`, figures);
  if (run?.partial)
    fail('the campaign run was stopped by BENCH_MAX_SECONDS before it completed (figures written as partial)');
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await dropAll().catch(() => {});
  await pool.end();
}
