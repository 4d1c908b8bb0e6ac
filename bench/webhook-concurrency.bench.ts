/**
 * Benchmark: concurrent Twilio status callbacks over loopback HTTP through `twilioWebhookHandler` on
 * Postgres, beside a bare handler that does one `UPDATE` per request on the same server, at 1, 8, 32
 * and 64 requests in flight. Every callback is signed and moves a real message (Sending → Delivered)
 * of one campaign, so concurrent callbacks meet on the same campaign. Prints requests/s, the ratio to
 * the bare handler and p99 latency per level, and the false timeouts: messages whose callback came
 * within the sending timeout (2 min here) but that were marked Failed (Timed Out) anyway. Writes
 * bench/results/webhook-concurrency.json. Never fails on time.
 * Run: DATABASE_URL=postgres://… npx tsx bench/webhook-concurrency.bench.ts [callbacks per level=1000] [levels=1,8,32,64]
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOutreach, type SendResult, type SmsTransport, systemClock } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { computeTwilioSignature, twilioWebhookHandler } from 'campaign-lifecycle/twilio';
import pg from 'pg';
import { savedCampaign } from './bench-fixtures.js';
import { fmt, percentile, printTable, profiled, type Row, writeResults } from './bench-report.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run this benchmark.');
  process.exit(1);
}
const PER_LEVEL = Number(process.argv[2] ?? 1000);
const LEVELS = (process.argv[3] ?? '1,8,32,64').split(',').map(Number);
const POOL_MAX = 16;
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const ACCOUNT = `AC${'0'.repeat(32)}`;
const schema = 'bench_webhook_concurrency';

function fail(what: string): never {
  throw new Error(`${what}: the benchmark did not do what it claims to measure`);
}

const setupPool = new pg.Pool({ connectionString: url, max: 2 });
await setupPool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
const pool = new pg.Pool({ connectionString: url, max: POOL_MAX });
const barePool = new pg.Pool({ connectionString: url, max: POOL_MAX });
// Counts the statements the engine sends (BEGIN and COMMIT included), to report them per callback.
const sqlCount = { statements: 0, transactions: 0 };
const countedClients = new WeakSet<object>();
const countingPool = {
  on: pool.on.bind(pool),
  async connect() {
    const client = await pool.connect();
    if (!countedClients.has(client)) {
      countedClients.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        sqlCount.statements++;
        if (args[0] === 'BEGIN') sqlCount.transactions++;
        return query(...args);
      };
    }
    return client;
  },
};
const storage = postgresStorage({ pool: countingPool, schema });

const sidOf = (messageId: string) => `SM${Buffer.from(messageId).toString('hex').slice(-32).padStart(32, '0')}`;
const sms: SmsTransport = {
  name: 'bench-accepting',
  channel: 'sms',
  limits: { concurrency: 5000 },
  async send(m): Promise<SendResult> {
    return { outcome: 'accepted', providerMessageId: sidOf(m.messageId) };
  },
};
const errors: unknown[] = [];
const outreach = createOutreach({
  storage,
  clock: systemClock,
  transports: { sms },
  policy: { smsSendingTimeout: '2m' },
  batchSize: 1000,
  pollInterval: false,
  onError: (e) => errors.push(e),
});
const total = LEVELS.reduce((n, level) => n + (level === 1 ? Math.min(PER_LEVEL, 300) : PER_LEVEL), 0);
const { id: campaignId } = await savedCampaign(outreach, total, 'sms');
await outreach.run(campaignId);
await outreach.worker.runOnce();
outreach.worker.start(); // fires the sending rule if a callback is late
const messages = await outreach.listMessages(campaignId, { statuses: ['sending'], limit: total });
if (messages.length !== total) fail('dispatch');
const dispatchedAt = Date.now();

// The bare handler's table: the same rows, one UPDATE each.
await setupPool.query(`CREATE TABLE ${schema}.bare (id text PRIMARY KEY, status text NOT NULL, updated_at bigint)`);
await setupPool.query(`INSERT INTO ${schema}.bare (id, status) SELECT unnest($1::text[]), 'sending'`, [
  messages.map((m) => m.id),
]);

/** Reads the body as the bare handler does (its chunks, concatenated): both servers pay the same for it. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function toWebRequest(req: IncomingMessage, base: string): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(new URL(req.url ?? '/', base), {
    method: req.method,
    headers,
    body: new Uint8Array(await readBody(req)),
  });
}

async function serve(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let webhookBase = '';
const twilio = twilioWebhookHandler({ outreach, authToken: AUTH_TOKEN });
const engineServer = await serve(async (req, res) => {
  const response = await twilio(await toWebRequest(req, webhookBase));
  res.writeHead(response.status).end(Buffer.from(await response.arrayBuffer()));
});
webhookBase = engineServer.base;
const bareServer = await serve(async (req, res) => {
  const form = new URLSearchParams((await readBody(req)).toString('utf8'));
  const id = new URL(req.url ?? '/', 'http://x').searchParams.get('messageId');
  await barePool.query(`UPDATE ${schema}.bare SET status = $2, updated_at = $3 WHERE id = $1`, [
    id,
    form.get('MessageStatus'),
    Date.now(),
  ]);
  res.writeHead(200).end();
});

interface Callback {
  path: string;
  body: string;
  signature: string;
}
async function callbacksFor(base: string, slice: readonly { id: string; to: string }[]): Promise<Callback[]> {
  const out: Callback[] = [];
  for (const m of slice) {
    const path = `/twilio/status?messageId=${m.id}`;
    const sid = sidOf(m.id);
    const params = {
      AccountSid: ACCOUNT,
      ApiVersion: '2010-04-01',
      From: '+14155550100',
      MessageSid: sid,
      MessageStatus: 'delivered',
      SmsSid: sid,
      SmsStatus: 'delivered',
      To: m.to,
    };
    out.push({
      path,
      body: new URLSearchParams(params).toString(),
      signature: await computeTwilioSignature(AUTH_TOKEN, `${base}${path}`, params),
    });
  }
  return out;
}

/** Posts every callback with `level` requests in flight; returns requests/s and latencies. */
async function flood(base: string, calls: readonly Callback[], level: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: level });
  const latencies: number[] = [];
  let next = 0;
  let bad = 0;
  const post = (c: Callback) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${base}${c.path}`,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': c.signature,
            'content-length': Buffer.byteLength(c.body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(c.body);
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: level }, async () => {
      for (;;) {
        const i = next++;
        const c = calls[i];
        if (!c) return;
        const t0 = performance.now();
        if ((await post(c)) !== 200) bad++;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const ms = performance.now() - start;
  agent.destroy();
  if (bad > 0) fail(`${bad} requests did not answer 200`);
  latencies.sort((a, b) => a - b);
  return { perSecond: calls.length / (ms / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

console.log(
  `webhook-concurrency: ${fmt(total)} signed Twilio callbacks over loopback HTTP, one campaign, Postgres pool ${POOL_MAX}, levels ${LEVELS.join(', ')}`,
);
const rows: Row[] = [];
const figures: Record<string, unknown>[] = [];
let offset = 0;
for (const level of LEVELS) {
  const n = level === 1 ? Math.min(PER_LEVEL, 300) : PER_LEVEL;
  const slice = messages.slice(offset, offset + n);
  offset += n;
  const bareCalls = await callbacksFor(bareServer.base, slice);
  const bareCpu = process.cpuUsage();
  const bare = await flood(bareServer.base, bareCalls, level);
  const bareUsed = process.cpuUsage(bareCpu);
  const bareCpuMs = (bareUsed.user + bareUsed.system) / 1000;
  const engineCalls = await callbacksFor(engineServer.base, slice);
  const before = { ...sqlCount };
  const cpu = process.cpuUsage();
  const engine = await profiled(`webhook-concurrency-${level}`, () => flood(engineServer.base, engineCalls, level));
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000; // client and server: both run in this process
  const statements = (sqlCount.statements - before.statements) / n;
  const transactions = (sqlCount.transactions - before.transactions) / n;
  const ratio = engine.perSecond / bare.perSecond;
  rows.push({
    'in flight': level,
    callbacks: n,
    'twilioWebhookHandler req/s': engine.perSecond,
    'bare UPDATE req/s': bare.perSecond,
    ratio: `${ratio.toFixed(2)}×`,
    'handler p99 ms': engine.p99,
    'bare p99 ms': bare.p99,
    'SQL statements / callback': statements,
    'transactions / callback': transactions,
    'node CPU ms / callback': cpuMs / n,
    'bare node CPU ms': bareCpuMs / n,
  });
  figures.push({
    level,
    callbacks: n,
    engine,
    bare,
    ratio,
    statements,
    transactions,
    cpuMsPerCallback: cpuMs / n,
    bareCpuMsPerRequest: bareCpuMs / n,
  });
}
printTable('Concurrent callbacks: twilioWebhookHandler on Postgres vs a bare UPDATE per request', rows);

// Every callback moved its message; none was overtaken by the sending rule while it waited.
const c = await outreach.getCampaign(campaignId);
const { rows: timedOut } = await setupPool.query<{ n: number }>(
  `SELECT count(*)::int AS n FROM ${schema}.messages WHERE campaign_id = $1 AND status = 'failed'`,
  [campaignId],
);
const elapsed = (Date.now() - dispatchedAt) / 1000;
if (c.counts.delivered + (timedOut[0]?.n ?? 0) !== total) fail('every callback applied');
console.log(
  `false timeouts: ${timedOut[0]?.n ?? 0} of ${fmt(total)} (every callback arrived within ${elapsed.toFixed(1)} s of dispatch; sending timeout 2 min); ` +
    `delivered ${fmt(c.counts.delivered)}; worker errors ${errors.length}`,
);
const file = await writeResults('webhook-concurrency', {
  callbacksPerLevel: PER_LEVEL,
  pool: POOL_MAX,
  levels: figures,
  falseTimeouts: timedOut[0]?.n ?? 0,
});
console.log(`results: ${file}`);

await outreach.worker.stop();
await new Promise((resolve) => engineServer.server.close(resolve));
await new Promise((resolve) => bareServer.server.close(resolve));
engineServer.server.closeAllConnections();
bareServer.server.closeAllConnections();
await setupPool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
await Promise.all([pool.end(), barePool.end(), setupPool.end()]);
