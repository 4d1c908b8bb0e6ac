/**
 * Parent side of the multi-process tests: forks worker processes (worker-process.ts), stops or
 * kills them, polls the shared database, and recounts what the workers left there.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createOutreach, type MessageCounts, type Outreach, type PolicyInput, systemClock } from 'campaign-lifecycle';
import { type PostgresStorage, postgresStorage } from 'campaign-lifecycle/postgres';
import pg from 'pg';
import { sendsTableSql } from './mp-carrier-plan.js';
import type { WorkerReport } from './worker-process.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const script = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** A forked worker process. */
export interface WorkerHandle {
  readonly id: string;
  readonly child: ChildProcess;
  /** Error lines the worker printed (its `onError`). */
  readonly errors: string[];
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** What the worker said when it stopped cleanly. */
  stopped?: Extract<WorkerReport, { type: 'stopped' }>;
  /** Called when the worker says a claim committed and its hand-over waits (PAUSE_AFTER_CLAIM_MS). */
  onClaimed?: (() => void) | undefined;
}

/** Forks a worker over `schema` and resolves once its engine's worker has started. */
export async function startWorker(schema: string, id: string, env: Record<string, string> = {}): Promise<WorkerHandle> {
  const child = fork(script, [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, SCHEMA: schema, WORKER_ID: id, ...env },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const errors: string[] = [];
  let buffered = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim()) errors.push(line);
    }
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const handle: WorkerHandle = { id, child, errors, exited };
  await new Promise<void>((resolve, reject) => {
    child.on('message', (m: WorkerReport) => {
      if (m.type === 'ready') resolve();
      if (m.type === 'stopped') handle.stopped = m;
      if (m.type === 'claimed') handle.onClaimed?.();
    });
    void exited.then((code) =>
      reject(new Error(`worker ${id} exited (${code}) before starting:\n${errors.join('\n')}`)),
    );
  });
  return handle;
}

/**
 * Resolves when the worker next says a claim committed and its hand-over waits, or after `timeoutMs`
 * (false then: the worker had nothing left to claim).
 */
export function nextClaim(w: WorkerHandle, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      w.onClaimed = undefined;
      resolve(false);
    }, timeoutMs);
    w.onClaimed = () => {
      clearTimeout(timer);
      w.onClaimed = undefined;
      resolve(true);
    };
  });
}

/** SIGTERM: the worker stops, flushes its reports and exits; resolves with its exit code. */
export async function stopWorker(w: WorkerHandle): Promise<number | string> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  return w.exited;
}

/** SIGKILL (kill -9): the process dies where it stands, transactions open, reports unsent. */
export async function killWorker(w: WorkerHandle): Promise<number | string> {
  w.child.kill('SIGKILL');
  return w.exited;
}

/** Polls `probe` every `everyMs` until it returns a value, or fails after `timeoutMs`. */
export async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { everyMs = 500, timeoutMs = 240_000 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A schema of its own with the storage migrated and the `sends` table, plus an engine that sends nothing. */
export interface SharedDatabase {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly storage: PostgresStorage;
  /** An engine without transports: it creates and runs campaigns and reads them; workers send. */
  readonly outreach: Outreach;
  /** Drops the schema and ends the pool. */
  drop(): Promise<void>;
}

/** Creates a fresh schema for one test. */
export async function sharedDatabase(url: string, schema: string, policy?: PolicyInput): Promise<SharedDatabase> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const storage = postgresStorage({ pool, schema });
  await storage.migrate();
  await pool.query(sendsTableSql(schema));
  // The campaigns this engine runs keep its policy: every worker applies it, whatever its own.
  const outreach = createOutreach({ storage, clock: systemClock, transports: {}, batchSize: 1000, policy });
  return {
    pool,
    schema,
    storage,
    outreach,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    },
  };
}

/** Creates, fills, saves and runs an SMS campaign of `size` distinct US numbers. */
export async function runSmsCampaign(db: SharedDatabase, size: number, name: string): Promise<string> {
  const c = await db.outreach.createCampaign({
    name,
    channel: 'sms',
    content: { body: 'Hi {{first_name}}, school is closed today.' },
  });
  for (let i = 0; i < size; i += 5000) {
    const chunk = Array.from({ length: Math.min(5000, size - i) }, (_, k) => ({
      address: `+1415${String(2_000_000 + i + k)}`,
      fields: { first_name: `Kid${i + k}` },
    }));
    const r = await db.outreach.addContacts(c.id, chunk);
    if (r.added !== chunk.length) throw new Error(`addContacts added ${r.added} of ${chunk.length}`);
  }
  await db.outreach.save(c.id);
  await db.outreach.run(c.id);
  return c.id;
}

/** Messages per status, counted from the rows themselves. */
export async function recount(db: SharedDatabase, campaignId: string): Promise<Partial<MessageCounts>> {
  const { rows } = await db.pool.query<{ status: keyof MessageCounts; n: number }>(
    `SELECT status, count(*)::int AS n FROM ${db.schema}.messages WHERE campaign_id = $1 GROUP BY status`,
    [campaignId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** The non-zero entries of a counts object, for comparing with a recount. */
export function nonZero(counts: MessageCounts): Partial<MessageCounts> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

/** Message ids recorded more than once in `sends`. */
export async function doubleSends(db: SharedDatabase): Promise<{ message_id: string; n: number }[]> {
  const { rows } = await db.pool.query<{ message_id: string; n: number }>(
    `SELECT message_id, count(*)::int AS n FROM ${db.schema}.sends GROUP BY 1 HAVING count(*) <> 1`,
  );
  return rows;
}

/** Sends per worker. */
export async function sendsPerWorker(db: SharedDatabase): Promise<Record<string, number>> {
  const { rows } = await db.pool.query<{ worker: string; n: number }>(
    `SELECT worker, count(*)::int AS n FROM ${db.schema}.sends GROUP BY 1 ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.worker, r.n]));
}

/**
 * Worker stderr split in two: transactions that Postgres aborted as deadlocks more often than the
 * adapter retries, and everything else. The deadlocks are a known engine issue (a dispatch claim
 * locks the campaign row then a counter shard, ingest and send results lock them the other way
 * round); the work is redone (a webhook batch is offered again, as a provider would; the dispatcher
 * claims again), so they cost time, not correctness, which the tests check on their own.
 */
export function workerErrors(workers: readonly WorkerHandle[]): { deadlocks: string[]; other: string[] } {
  const lines = workers.flatMap((w) => w.errors);
  const deadlock = (l: string) => / ERROR STORAGE_ERROR .*deadlock detected \(code 40P01\)/.test(l);
  return { deadlocks: lines.filter(deadlock), other: lines.filter((l) => !deadlock(l)) };
}

/** Deadlines still stored for a campaign (a timer rule that has yet to fire). */
export async function pendingDeadlines(db: SharedDatabase, campaignId: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${db.schema}.deadlines WHERE campaign_id = $1`,
    [campaignId],
  );
  return rows[0]?.n ?? 0;
}
