/**
 * One worker process of the multi-process tests: its own pool, storage and engine over a shared
 * schema, with a carrier that accepts at once and records every send in Postgres before saying so.
 *
 * Run: `node --import tsx tests/support/worker-process.ts` (forked by mp-workers.ts) with
 * DATABASE_URL, SCHEMA, WORKER_ID and optionally CARRIER (`delivered` | `crash`), BATCH_SIZE,
 * CONCURRENCY, RATE_PER_SECOND, SEND_LATENCY_MS, SMS_SENDING_TIMEOUT, SMS_RECEIPT_TIMEOUT, POOL_MAX,
 * SENDS_DATABASE_URL (where sends are recorded; DATABASE_URL when absent), CLAIM_LEASE.
 * SIGTERM (or an IPC `{ type: 'stop' }`) stops the worker, flushes the reports, ends the pool, exits 0.
 */
import {
  createOutreach,
  type OutgoingSms,
  type PolicyInput,
  type ProviderEvent,
  type SendResult,
  type SmsTransport,
  type Storage,
  type StorageTransaction,
  systemClock,
} from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import pg from 'pg';
import { type CarrierMode, plannedReport } from './mp-carrier-plan.js';

/** What the worker tells its parent over IPC. */
export type WorkerReport =
  | { type: 'ready'; worker: string }
  /** With PAUSE_AFTER_CLAIM_MS: a claim committed and its hand-over waits (a kill now lands between them). */
  | { type: 'claimed'; worker: string }
  | { type: 'stopped'; worker: string; sends: number; reported: number; errors: number };

const env = process.env;
const required = (name: string): string => {
  const v = env[name];
  if (!v) throw new Error(`worker-process: ${name} is required`);
  return v;
};
const num = (name: string, fallback: number): number => (env[name] ? Number(env[name]) : fallback);

const url = required('DATABASE_URL');
const schema = required('SCHEMA');
const workerId = required('WORKER_ID');
const mode = (env.CARRIER ?? 'delivered') as CarrierMode;
const latency = num('SEND_LATENCY_MS', 0);
const rate = env.RATE_PER_SECOND ? Number(env.RATE_PER_SECOND) : undefined;

const pool = new pg.Pool({ connectionString: url, max: num('POOL_MAX', 6) });
// Sends are recorded on connections of their own, so that 500 concurrent sends never queue the
// engine's transactions behind them. Without waiting for the WAL flush: the row is committed and
// visible to every session at once, and survives this process being killed (only a server crash,
// which no test here causes, could lose it); with a flush per send, recording capped a worker at
// about 500 sends/s on this machine.
const sendsPool = new pg.Pool({
  // The connection-cut tests route the engine's pool through a proxy they cut, and record sends directly.
  connectionString: env.SENDS_DATABASE_URL ?? url,
  max: num('SENDS_POOL_MAX', 8),
  options: '-c synchronous_commit=off',
});
const pgStorage = postgresStorage({ pool, schema, migrate: false });
// PAUSE_AFTER_CLAIM_MS widens the window between a claim's commit and its hand-over, so that a kill
// lands there often: the claimed messages must then come back through their lease.
const pauseAfterClaim = num('PAUSE_AFTER_CLAIM_MS', 0);
const storage: Storage =
  pauseAfterClaim > 0
    ? {
        info: pgStorage.info,
        async transaction<T>(fn: (t: StorageTransaction) => Promise<T>): Promise<T> {
          let claimed = false;
          const result = await pgStorage.transaction((t) =>
            fn({
              ...t, // the adapter's methods are closures, so a copy works as the original
              upsertDeadlines(rows) {
                if (rows.some((d) => d.event.type === 'RELEASE')) claimed = true;
                return t.upsertDeadlines(rows);
              },
            }),
          );
          if (claimed) {
            process.send?.({ type: 'claimed', worker: workerId } satisfies WorkerReport);
            await new Promise((resolve) => setTimeout(resolve, pauseAfterClaim));
          }
          return result;
        },
      }
    : pgStorage;
const policy: PolicyInput = {};
if (env.SMS_SENDING_TIMEOUT) policy.smsSendingTimeout = env.SMS_SENDING_TIMEOUT;
if (env.SMS_RECEIPT_TIMEOUT) policy.smsReceiptTimeout = env.SMS_RECEIPT_TIMEOUT;

let errors = 0;
const fail = (error: unknown) => {
  errors++;
  // One line per error, code first, so that the parent can tell them apart.
  const code = (error as { code?: unknown } | null)?.code;
  const text = error instanceof Error ? error.message : String(error);
  process.stderr.write(`[${workerId}] ERROR ${String(code ?? 'Error')} ${text.split('\n')[0]}\n`);
};

// Provider reports are batched like webhook deliveries: what arrives within a few ms goes in one ingest.
let pending: ProviderEvent[] = [];
let flushing: Promise<void> | null = null;
let reported = 0;
const flush = (): Promise<void> => {
  flushing ??= (async () => {
    while (pending.length > 0) {
      const batch = pending.slice(0, 2000);
      pending = pending.slice(batch.length);
      try {
        await outreach.ingest(batch);
        reported += batch.length;
      } catch (error) {
        // Sent and delivered are idempotent for the machine, so a failed batch is simply offered again.
        fail(error);
        pending = batch.concat(pending);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  })().finally(() => {
    flushing = null;
  });
  return flushing;
};
let flushTimer: ReturnType<typeof setTimeout> | undefined;
const report = (events: ProviderEvent[]) => {
  pending.push(...events);
  flushTimer ??= setTimeout(() => {
    flushTimer = undefined;
    void flush();
  }, 5);
};

let sends = 0;
const sms: SmsTransport = {
  name: 'recording',
  channel: 'sms',
  limits: { concurrency: num('CONCURRENCY', 500), ...(rate ? { ratePerSecond: rate } : {}) },
  async send(message: OutgoingSms): Promise<SendResult> {
    try {
      // Autocommit, before answering: a send recorded here happened, whatever becomes of this process.
      await sendsPool.query(`INSERT INTO ${schema}.sends (message_id, worker, at) VALUES ($1, $2, now())`, [
        message.messageId,
        workerId,
      ]);
    } catch (error) {
      return { outcome: 'presend', error: `recording the send failed: ${String(error)}` };
    }
    sends++;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    const sid = `SM${message.messageId}`;
    const plan = plannedReport(mode, message.messageId);
    const status = (s: 'sent' | 'delivered'): ProviderEvent => ({
      type: 'status',
      channel: 'sms',
      messageId: message.messageId,
      providerMessageId: sid,
      status: s,
    });
    if (plan === 'delivered') report([status('sent'), status('delivered')]);
    else if (plan === 'sent_only') report([status('sent')]);
    return { outcome: 'accepted', providerMessageId: sid };
  },
};

const outreach = createOutreach({
  storage,
  clock: systemClock,
  transports: { sms },
  policy,
  batchSize: num('BATCH_SIZE', 500),
  ...(env.CLAIM_LEASE ? { claimLease: env.CLAIM_LEASE } : {}),
  onError: fail,
});

// Workaround: after one failed transaction (a deadlock past the adapter's retries) the engine's
// worker does not re-arm its timer and waits for the next command or ingest in this process. A
// worker process must not depend on that, so it nudges the worker every second.
const nudge = setInterval(() => {
  if (outreach.worker.running) outreach.worker.runOnce().catch(fail);
}, 1000);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    clearInterval(nudge);
    await outreach.worker.stop();
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    await flush();
    await Promise.all([pool.end(), sendsPool.end()]);
    const done: WorkerReport = { type: 'stopped', worker: workerId, sends, reported, errors };
    if (process.send) await new Promise<void>((resolve) => process.send?.(done, () => resolve()));
    process.exit(0);
  })().catch((error: unknown) => {
    fail(error);
    process.exit(1);
  });
};

process.on('SIGTERM', shutdown);
// The IPC channel keeps this process alive (the engine's timers are unref'd); losing the parent stops it.
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'stop') shutdown();
});
process.on('disconnect', shutdown);

outreach.worker.start();
const ready: WorkerReport = { type: 'ready', worker: workerId };
process.send?.(ready);
