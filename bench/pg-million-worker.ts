/**
 * One worker process of `postgres-million.bench.ts` (forked by it): as a deployment runs one, it
 * serves Twilio's status callbacks (`twilioWebhookHandler` behind a plain `node:http` server on
 * 127.0.0.1) and runs the engine's worker, which sends through the real `twilioTransport` to the
 * fake Twilio's Messages API. Its own `pg` pool over the shared schema.
 *
 * HTTP: by default as a Node deployment would with `campaign-lifecycle/node`: the handler served by
 * `toNodeListener` (its raw form: no Web `Request`/`Response` per callback) and the transport's
 * `fetch` option set to `nodeFetch()`. BENCH_HTTP=web: the Web way, undici's `fetch` for the creates
 * and each callback bridged into a Web `Request` and out of a `Response` (what a Node server in front of
 * a fetch-style handler does).
 *
 * Environment: DATABASE_URL, SCHEMA, WORKER_ID, TWILIO_BASE, AUTH_TOKEN, ACCOUNT_SID, POOL_MAX (8),
 * BATCH_SIZE (500), CONCURRENCY (64), BENCH_HTTP (`node` | `web`), BENCH_CPU_PROFILE (a folder: profile from `go` to `stop`).
 * IPC in: `{ type: 'go' }` starts the engine's worker, `{ type: 'stop' }` stops and reports.
 * IPC out: `{ type: 'ready' }`, then `{ type: 'stopped', … }` ({@link PgWorkerReport}).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOutreach, systemClock } from 'campaign-lifecycle';
import { nodeFetch, toNodeListener } from 'campaign-lifecycle/node';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { twilioTransport, twilioWebhookHandler } from 'campaign-lifecycle/twilio';
import pg from 'pg';

/** What a worker tells its parent when it stops. */
export interface PgWorkerReport {
  type: 'stopped';
  worker: string;
  callbacks: number;
  callbacksRefused: number;
  firstRefusal?: string;
  errors: number;
  firstError?: string;
  /** SQL statements the engine sent (BEGIN and COMMIT included), and its transactions (BEGINs). */
  statements: number;
  transactions: number;
  peakRss: number;
  cpuMs: number;
}

const env = process.env;
const need = (name: string): string => {
  const v = env[name];
  if (!v) throw new Error(`pg-million-worker: ${name} is required`);
  return v;
};
const url = need('DATABASE_URL');
const schema = need('SCHEMA');
const workerId = need('WORKER_ID');
const twilioBase = need('TWILIO_BASE');
const authToken = need('AUTH_TOKEN');
const accountSid = need('ACCOUNT_SID');
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const webHttp = env.BENCH_HTTP === 'web';

// RSS every 100 ms through `memoryUsage.rss()` (the full `memoryUsage()` walks the heap: 1 % of a worker's time).
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);
const pool = new pg.Pool({ connectionString: url, max: num('POOL_MAX', 8) });
let errors = 0;
let firstError: string | undefined;
const fail = (error: unknown) => {
  errors++;
  firstError ??= error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}` : String(error);
};

const server = http.createServer();
server.keepAliveTimeout = 120_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const sms = twilioTransport({
  accountSid,
  authToken,
  from: '+14155550100',
  statusCallbackUrl: `${base}/twilio/status`,
  baseUrl: twilioBase,
  limits: { concurrency: num('CONCURRENCY', 64) },
  ...(webHttp ? {} : { fetch: nodeFetch() }),
});
// Counts the statements the engine sends, as bench/webhook-concurrency.bench.ts does.
const sql = { statements: 0, transactions: 0 };
const counted = new WeakSet<object>();
const countingPool = {
  on: pool.on.bind(pool),
  async connect() {
    const client = await pool.connect();
    if (!counted.has(client)) {
      counted.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        sql.statements++;
        if (args[0] === 'BEGIN') sql.transactions++;
        return query(...args);
      };
    }
    return client;
  },
};
const outreach = createOutreach({
  storage: postgresStorage({ pool: countingPool, schema, migrate: false }),
  clock: systemClock,
  transports: { sms },
  // Long enough that no deadline fires during a run on a loaded machine: the deadlines are still written.
  policy: { smsSendingTimeout: '1h', smsReceiptTimeout: '1h' },
  batchSize: num('BATCH_SIZE', 500),
  onError: fail,
});
let callbacks = 0;
let callbacksRefused = 0;
let firstRefusal: string | undefined;
const handle = twilioWebhookHandler({
  outreach,
  authToken,
  onReject: (r) => {
    firstRefusal ??= `HTTP ${r.status}: ${r.reason.slice(0, 200)}`;
  },
});
/** Node request → Web `Request`, as a Node server in front of a fetch-style handler does. */
async function toWebRequest(req: IncomingMessage): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(`${base}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
    body: req.method === 'GET' || req.method === 'HEAD' ? null : new Uint8Array(Buffer.concat(chunks)),
  });
}
if (webHttp) {
  server.on('request', (req, res) => {
    void (async () => {
      const response = await handle(await toWebRequest(req));
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status === 200) callbacks++;
      else {
        callbacksRefused++;
        firstRefusal ??= `HTTP ${response.status}: ${body.toString('utf8').slice(0, 200)}`;
      }
      res.writeHead(response.status).end(body);
    })().catch((error: unknown) => {
      fail(error);
      res.writeHead(500).end();
    });
  });
} else {
  const listener = toNodeListener(handle, { origin: base, onError: fail });
  server.on('request', (req, res) => {
    res.once('finish', () => {
      if (res.statusCode === 200) callbacks++;
      else {
        callbacksRefused++;
        firstRefusal ??= `HTTP ${res.statusCode}`;
      }
    });
    listener(req, res);
  });
}

// As tests/postgres/worker-process.ts does: nudge the worker every second, so one failed transaction
// never leaves it waiting for a command in this process.
let nudge: ReturnType<typeof setInterval> | undefined;
let cpu = process.cpuUsage();
let profiler: import('node:inspector/promises').Session | undefined;

process.on('message', (m: { type?: string }) => {
  if (m?.type === 'go') {
    void (async () => {
      if (env.BENCH_CPU_PROFILE) {
        const { Session } = await import('node:inspector/promises');
        profiler = new Session();
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
        await profiler.post('Profiler.start');
      }
      peakRss = process.memoryUsage.rss();
      cpu = process.cpuUsage();
      sql.statements = 0;
      sql.transactions = 0;
      outreach.worker.start();
      nudge = setInterval(() => {
        if (outreach.worker.running) outreach.worker.runOnce().catch(fail);
      }, 1000);
    })();
  } else if (m?.type === 'stop') {
    void (async () => {
      clearInterval(nudge);
      clearInterval(sampler);
      await outreach.worker.stop();
      const used = process.cpuUsage(cpu);
      if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        const dir = env.BENCH_CPU_PROFILE as string;
        await mkdir(dir, { recursive: true });
        await writeFile(`${dir}/pg-million-${workerId}.cpuprofile`, JSON.stringify(profile));
        profiler.disconnect();
      }
      server.closeAllConnections();
      server.close();
      await pool.end();
      const report: PgWorkerReport = {
        type: 'stopped',
        worker: workerId,
        callbacks,
        callbacksRefused,
        ...(firstRefusal ? { firstRefusal } : {}),
        errors,
        ...sql,
        ...(firstError ? { firstError } : {}),
        peakRss: Math.max(peakRss, process.memoryUsage.rss()),
        cpuMs: (used.user + used.system) / 1000,
      };
      process.send?.(report, () => process.exit(0));
    })().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
