/**
 * Soak benchmark (issue 8, part 4): N SMS campaigns of M messages, one after another, through one
 * long-lived engine on a fake clock: create, addContacts, save, run, until complete, check, delete.
 * The transport accepts every send at once and counts sends per message id; a webhook stage turns
 * each accepted send into Twilio status callbacks (sent, then delivered for most, undelivered 30003
 * for some, no receipt for some so the 10-minute rule fires), parses them with the Twilio adapter's
 * parser, and delivers them to `outreach.ingest` in batches where 10 % of events are duplicated
 * (same idempotency token) and 10 % arrive out of order (a `sent` after its receipt, in a later
 * batch or swapped within the batch). After each campaign: zero lost (every message final), zero
 * double-sent (every send count is 1), counters equal a recount, the ingest counts match what the
 * stage injected; then delete, GC, and sample heap and RSS, which must stay flat.
 * Runs on memory storage, and on PostgreSQL when DATABASE_URL is set (a fresh schema, dropped at the end).
 * Run: node --expose-gc --import tsx bench/soak.bench.ts [campaigns=10] [size=100000] [storage=both|memory|postgres] [pgSize=20000] [dedupeKeys=on|off]
 * (`dedupeKeys=off` is a control run: no idempotency tokens, dedupe keys or duplicates.)
 */
import {
  createOutreach,
  isFinalMessageStatus,
  MESSAGE_STATUSES,
  type MessageCounts,
  type Outreach,
  type ProviderEvent,
  type SendResult,
  type SmsTransport,
  type Storage,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import { parseTwilioStatusCallback } from 'campaign-lifecycle/twilio';
import pg from 'pg';
import { savedCampaign } from './bench-fixtures.js';
import { fmt, heapAfterGc, mib, msSince, printTable, type Row, rssSampler, writeResults } from './bench-report.js';

const CAMPAIGNS = Number(process.argv[2] ?? 10);
const SIZE = Number(process.argv[3] ?? 100_000);
const WHICH = (process.argv[4] ?? 'both') as 'both' | 'memory' | 'postgres';
// Measured (2 vCPU, local PostgreSQL 15): a 100k campaign takes 28–39 s on PostgreSQL against 11–20 s on
// memory, so 10 × 100k take ~5.6 min there; the default keeps a plain run near 4 minutes. Pass 100000 for the full soak.
const PG_SIZE = Number(process.argv[5] ?? 20_000);
// `off` strips the idempotency token and dedupe key from every callback and injects no duplicates: a
// control run that tells whether heap growth comes from the dedupe keys the storage keeps.
const DEDUPE_KEYS = (process.argv[6] ?? 'on') !== 'off';
const DATABASE_URL = process.env.DATABASE_URL;

/** Share of messages that get `sent` then `delivered` / `sent` then `undelivered` 30003; the rest get `sent` only. */
const DELIVERED_SHARE = 0.85;
const UNDELIVERED_SHARE = 0.05;
/** Share of all webhook events that are redelivered with the same idempotency token. */
const DUPLICATE_SHARE = DEDUPE_KEYS ? 0.1 : 0;
/** Share of all webhook events that arrive out of order (a `sent` after its receipt). */
const OUT_OF_ORDER_SHARE = 0.1;
/** Events per webhook batch handed to `ingest`. */
const WEBHOOK_BATCH = 1000;
const BATCH_SIZE = 2000;
const CONCURRENCY = 5000;

// A `sent` is out of order only when its message has a receipt, so reverse that many of those pairs
// that the out-of-order `sent`s make up OUT_OF_ORDER_SHARE of all (non-duplicate) events.
const RECEIPT_SHARE = DELIVERED_SHARE + UNDELIVERED_SHARE;
const REVERSE_PAIR_SHARE = (OUT_OF_ORDER_SHARE * (1 + RECEIPT_SHARE)) / RECEIPT_SHARE;

/** A small seeded PRNG (mulberry32), so that every run injects the same faults. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the webhook stage injected for one campaign, to compare with what the engine did. */
interface Injected {
  delivered: number;
  undelivered: number;
  noReceipt: number;
  /** Distinct events (each its own idempotency token). */
  events: number;
  /** Redeliveries of an event already handed over (same token). */
  duplicates: number;
  /** `sent` events handed over after their message's receipt. */
  outOfOrder: number;
  /** Of those, the ones held to a later batch (the rest are swapped within their batch). */
  outOfOrderAcrossBatches: number;
  /** Everything handed to `ingest`, duplicates included. */
  deliveredToIngest: number;
}

/** Sums of the `ingest` results of one campaign. */
interface Ingested {
  applied: number;
  duplicates: number;
  ignored: number;
  unmatched: number;
  calls: number;
}

/**
 * The "webhook" side of a fake Twilio: one per campaign. `accepted` is called for every accepted send;
 * it makes the status callbacks and hands them to `ingest` in ordered batches (one delivery at a time,
 * like one webhook consumer), while the dispatcher keeps sending.
 */
function webhookStage(outreach: Outreach, seed: number) {
  const random = prng(seed);
  const injected: Injected = {
    delivered: 0,
    undelivered: 0,
    noReceipt: 0,
    events: 0,
    duplicates: 0,
    outOfOrder: 0,
    outOfOrderAcrossBatches: 0,
    deliveredToIngest: 0,
  };
  const ingested: Ingested = { applied: 0, duplicates: 0, ignored: 0, unmatched: 0, calls: 0 };
  let buffer: ProviderEvent[] = [];
  /** Redeliveries that arrive at the end of the batch holding their original. */
  let tailCopies: ProviderEvent[] = [];
  /** Events (late `sent`s, redeliveries) held back while this batch fills: they arrive with the next one. */
  let nextBatch: ProviderEvent[] = [];
  /** What the previous batch held back: it opens this batch. */
  let carried: ProviderEvent[] = [];
  let token = 0;
  let delivery: Promise<void> = Promise.resolve();
  let failure: unknown;

  const callback = (messageId: string, sid: string, status: string, errorCode?: string): ProviderEvent => {
    const form: Record<string, string> = { messageId, MessageSid: sid, MessageStatus: status, SmsStatus: status };
    if (errorCode) form.ErrorCode = errorCode;
    injected.events++;
    const event = parseTwilioStatusCallback(form, { idempotencyToken: `tok-${seed}-${++token}` });
    if (DEDUPE_KEYS) return event;
    const { eventId: _id, dedupeKey: _key, ...bare } = event;
    return bare;
  };

  /** Puts an event in `list`; a tenth of them are also redelivered later. */
  const put = (list: ProviderEvent[], e: ProviderEvent, copyTo?: ProviderEvent[]) => {
    list.push(e);
    if (random() < DUPLICATE_SHARE) {
      injected.duplicates++;
      (copyTo ?? (random() < 0.5 ? tailCopies : nextBatch)).push({ ...e });
    }
  };

  const send = (batch: ProviderEvent[]) => {
    if (batch.length === 0) return;
    injected.deliveredToIngest += batch.length;
    delivery = delivery.then(async () => {
      if (failure) return;
      try {
        const r = await outreach.ingest(batch);
        ingested.applied += r.applied;
        ingested.duplicates += r.duplicates;
        ingested.ignored += r.ignored;
        ingested.unmatched += r.unmatched;
        ingested.calls++;
      } catch (error) {
        failure = error;
      }
    });
  };

  const flush = () => {
    const batch = carried.concat(buffer, tailCopies);
    carried = nextBatch;
    nextBatch = [];
    buffer = [];
    tailCopies = [];
    send(batch);
  };

  return {
    injected,
    ingested,
    /** The provider accepted this message: schedule its callbacks. */
    accepted(messageId: string, sid: string) {
      const fate = random();
      const sent = callback(messageId, sid, 'sent');
      if (fate >= RECEIPT_SHARE) {
        injected.noReceipt++;
        put(buffer, sent);
      } else {
        const receipt =
          fate < DELIVERED_SHARE
            ? callback(messageId, sid, 'delivered')
            : callback(messageId, sid, 'undelivered', '30003');
        if (fate < DELIVERED_SHARE) injected.delivered++;
        else injected.undelivered++;
        if (random() < REVERSE_PAIR_SHARE) {
          injected.outOfOrder++;
          put(buffer, receipt);
          if (random() < 0.5) {
            injected.outOfOrderAcrossBatches++;
            put(nextBatch, sent, nextBatch); // a copy of a held event follows it in the same later batch
          } else put(buffer, sent);
        } else {
          put(buffer, sent);
          put(buffer, receipt);
        }
      }
      if (buffer.length >= WEBHOOK_BATCH) flush();
    },
    /** Hands over everything still held and waits until `ingest` has taken it all. */
    async drain() {
      flush();
      flush(); // what the last batch held back for the batch after it
      await delivery;
      if (failure) throw failure;
    },
    get idle() {
      return buffer.length + tailCopies.length + nextBatch.length + carried.length === 0;
    },
  };
}

type Stage = ReturnType<typeof webhookStage>;

/**
 * An SMS transport that accepts at once, counts sends per message id, and tells the current campaign's
 * webhook stage. One for the engine's whole life; `attach` points it at the next campaign.
 */
function countingTransport() {
  let sends = new Map<string, number>();
  let stage: Stage | undefined;
  const transport: SmsTransport = {
    channel: 'sms',
    name: 'soak-accepting',
    limits: { concurrency: CONCURRENCY },
    async send(m): Promise<SendResult> {
      sends.set(m.messageId, (sends.get(m.messageId) ?? 0) + 1);
      const sid = `SM${m.messageId}`;
      stage?.accepted(m.messageId, sid);
      return { outcome: 'accepted', providerMessageId: sid };
    },
  };
  return {
    transport,
    attach(next: Stage) {
      sends = new Map();
      stage = next;
    },
    detach() {
      const s = sends;
      sends = new Map();
      stage = undefined;
      return s;
    },
  };
}

/** Every message of a campaign, counted by status from the rows (not the counters). */
async function recount(outreach: Outreach, campaignId: string) {
  const counts = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as MessageCounts;
  const ids: string[] = [];
  let notFinal = 0;
  let after: string | undefined;
  for (;;) {
    const page = await outreach.listMessages(campaignId, { after, limit: 10_000 });
    for (const m of page) {
      counts[m.status]++;
      ids.push(m.id);
      if (!isFinalMessageStatus(m.status)) notFinal++;
    }
    if (page.length < 10_000) break;
    after = page[page.length - 1]?.id;
  }
  return { counts, ids, notFinal };
}

/** Runs a campaign's clock until it completes: dispatch, webhooks, and the receipt rule once nothing else is left. */
async function untilComplete(outreach: Outreach, clock: FakeClock, stage: Stage, id: string) {
  let advances = 0;
  for (let round = 0; round < 100; round++) {
    await clock.flush();
    await stage.drain();
    await clock.flush();
    const c = await outreach.getCampaign(id);
    if (c.status === 'complete' || c.status === 'complete_with_errors') return { status: c.status, advances };
    if (c.status !== 'in_progress') throw new Error(`campaign ${id} is ${c.status}`);
    if (c.counts.waiting + c.counts.queued === 0 && stage.idle) {
      await clock.advance('10m'); // no receipt for the rest: the 10-minute rule settles them
      advances++;
    }
  }
  throw new Error(`campaign ${id} did not complete: ${JSON.stringify((await outreach.getCampaign(id)).counts)}`);
}

/** Linear least-squares slope of `ys` over 0, 1, 2…; NaN for fewer than two points. */
function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return Number.NaN;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

interface Soaked {
  storage: string;
  size: number;
  rows: Row[];
  campaigns: Record<string, unknown>[];
  baselineHeap: number;
  heapSlopeMiBPerCampaign: number;
  heapGrowthFirstToLast: number;
  problems: string[];
  database?: Record<string, unknown>[];
}

/**
 * Database figures after a delete: live rows left in each table (the campaign's own tables must be
 * empty; dedupe keys are not owned by a campaign), and the on-disk size of `seen_events`. Total
 * schema size is not shown: deleted rows keep their space until autovacuum, which is not a leak.
 */
async function databaseFigures(pool: pg.Pool, schema: string) {
  const tables = ['campaigns', 'contacts', 'messages', 'message_log', 'deadlines', 'counters', 'seen_events'];
  const rows: Record<string, number> = {};
  for (const t of tables) {
    const r = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.${t}`);
    rows[t] = r.rows[0].n as number;
  }
  const size = await pool.query(`SELECT pg_total_relation_size($1)::float8 AS bytes`, [`${schema}.seen_events`]);
  const { seen_events: seenRows = 0, ...owned } = rows;
  const campaignRowsLeft = Object.values(owned).reduce((a, b) => a + b, 0);
  return { rows, campaignRowsLeft, seenRows, seenBytes: size.rows[0].bytes as number };
}

async function soak(label: string, storage: Storage, size: number, db?: { pool: pg.Pool; schema: string }) {
  const clock = createFakeClock();
  const carrier = countingTransport();
  const outreach = createOutreach({
    storage,
    clock,
    transports: { sms: carrier.transport },
    batchSize: BATCH_SIZE,
    // One process on a fake clock: nothing else creates work, so polling would only spin the clock.
    pollInterval: false,
    onError: (e) => {
      console.error(e);
      process.exit(1);
    },
  });
  outreach.worker.start();
  const problems: string[] = [];
  const rows: Row[] = [];
  const campaigns: Record<string, unknown>[] = [];
  const database: Record<string, unknown>[] = [];
  const heaps: number[] = [];
  const baselineHeap = heapAfterGc();
  const sampler = rssSampler(100);
  console.log(
    `\n${label}: ${CAMPAIGNS} campaigns × ${fmt(size)} SMS; heap after GC before the first: ${fmt(mib(baselineHeap))} MiB`,
  );

  for (let k = 1; k <= CAMPAIGNS; k++) {
    sampler.reset();
    const stage = webhookStage(outreach, k);
    carrier.attach(stage);
    const start = process.hrtime.bigint();
    const { id } = await savedCampaign(outreach, size);
    const setupMs = msSince(start);
    const runStart = process.hrtime.bigint();
    await outreach.run(id);
    const { status, advances } = await untilComplete(outreach, clock, stage, id);
    const runMs = msSince(runStart);
    const wallMs = msSince(start);
    const peakRss = sampler.peak;

    // The checks: lost, double-sent, counters against a recount, ingest against what was injected.
    const sends = carrier.detach();
    const campaign = await outreach.getCampaign(id);
    const rc = await recount(outreach, id);
    const { injected, ingested } = stage;
    const lost = rc.notFinal + Math.max(0, size - rc.ids.length);
    let doubleSent = 0;
    let neverSent = 0;
    for (const mid of rc.ids) {
      const n = sends.get(mid) ?? 0;
      if (n > 1) doubleSent++;
      if (n === 0) neverSent++;
    }
    const counterDiffs = MESSAGE_STATUSES.filter((s) => campaign.counts[s] !== rc.counts[s]).map(
      (s) => `${s}: counters ${campaign.counts[s]} vs rows ${rc.counts[s]}`,
    );
    const expect: [string, number, number][] = [
      ['delivered', rc.counts.delivered, injected.delivered],
      ['failed (undelivered 30003)', rc.counts.failed, injected.undelivered],
      ['assumed_delivered (no receipt)', rc.counts.assumed_delivered, injected.noReceipt],
      ['duplicates counted by ingest', ingested.duplicates, injected.duplicates],
      ['ignored by ingest (out-of-order sent)', ingested.ignored, injected.outOfOrder],
      ['unmatched by ingest', ingested.unmatched, 0],
      ['sends', sends.size, size],
    ];
    const here = (p: string) => problems.push(`${label} campaign ${k}: ${p}`);
    if (lost) here(`${lost} messages lost (not final)`);
    if (doubleSent) here(`${doubleSent} messages sent more than once`);
    if (neverSent) here(`${neverSent} messages never sent`);
    for (const d of counterDiffs) here(`counter mismatch ${d}`);
    for (const [what, got, want] of expect) if (got !== want) here(`${what}: ${got}, expected ${want}`);
    if (status !== 'complete_with_errors') here(`status ${status}, expected complete_with_errors`);

    await outreach.delete(id);
    const heap = heapAfterGc();
    const rss = process.memoryUsage().rss;
    heaps.push(heap);
    // Engine events per message: QUEUE, DISPATCH, the send result; then every webhook event handed over
    // (duplicates included) and every receipt deadline that fired.
    const events = 3 * size + injected.deliveredToIngest + injected.noReceipt;
    const dbFigures = db ? await databaseFigures(db.pool, db.schema) : undefined;
    if (dbFigures) database.push({ campaign: k, ...dbFigures });
    const row: Row = {
      '#': k,
      'setup s': setupMs / 1000,
      'run→complete s': runMs / 1000,
      'wall s': wallMs / 1000,
      'events/s': events / (runMs / 1000),
      'dups counted': ingested.duplicates,
      'out of order': injected.outOfOrder,
      lost,
      'double-sent': doubleSent,
      'counters = recount': counterDiffs.length === 0 ? 'yes' : 'NO',
      'heap MiB (GC)': mib(heap),
      'RSS MiB': mib(rss),
      'peak RSS MiB': mib(peakRss),
    };
    if (dbFigures) {
      row['rows left'] = dbFigures.campaignRowsLeft;
      row['seen_events rows'] = dbFigures.seenRows;
      row['seen_events MiB'] = mib(dbFigures.seenBytes);
      if (dbFigures.campaignRowsLeft)
        here(`${dbFigures.campaignRowsLeft} rows of deleted campaigns left in the database`);
    }
    rows.push(row);
    campaigns.push({
      campaign: k,
      setupMs,
      runMs,
      wallMs,
      events,
      eventsPerSecond: events / (runMs / 1000),
      status,
      receiptRuleAdvances: advances,
      counts: rc.counts,
      injected: { ...injected },
      ingested: { ...ingested },
      lost,
      doubleSent,
      neverSent,
      counterMismatches: counterDiffs,
      heapAfterGc: heap,
      rssAfterGc: rss,
      peakRss,
    });
    if (dbFigures) console.log(`  database after delete: ${JSON.stringify(dbFigures.rows)}`);
    console.log(
      `  campaign ${k}: ${fmt(wallMs / 1000)} s, ${fmt(events / (runMs / 1000))} events/s, lost ${lost}, double-sent ${doubleSent}, ` +
        `dups ${ingested.duplicates}/${injected.duplicates}, out of order ${ingested.ignored}/${injected.outOfOrder}, ` +
        `heap ${fmt(mib(heap))} MiB, RSS ${fmt(mib(rss))} MiB`,
    );
  }
  sampler.stop();
  await outreach.worker.stop();
  // The first campaign warms the JIT and sizes the engine's tables; the slope is taken from the second on.
  const steady = heaps.slice(1).map(mib);
  const heapSlope = slope(steady.length >= 2 ? steady : heaps.map(mib));
  // Flat: under 16 bytes per message per campaign (and 1 MiB), well above the GC noise seen with dedupe keys off.
  const leakLimit = Math.max(1, (16 * size) / 2 ** 20);
  if (heapSlope > leakLimit)
    problems.push(
      `${label}: heap after GC grows ${fmt(heapSlope)} MiB per campaign (${fmt((heapSlope * 2 ** 20) / size)} bytes per message), over the ${fmt(leakLimit)} MiB that counts as flat`,
    );
  const result: Soaked = {
    storage: label,
    size,
    rows,
    campaigns,
    baselineHeap,
    heapSlopeMiBPerCampaign: heapSlope,
    heapGrowthFirstToLast: (heaps[heaps.length - 1] ?? 0) - (heaps[0] ?? 0),
    problems,
  };
  if (db) result.database = database;
  return result;
}

console.log(
  `soak: ${CAMPAIGNS} campaigns; webhooks: ${DUPLICATE_SHARE * 100} % duplicated, ${OUT_OF_ORDER_SHARE * 100} % out of order, ` +
    `batches of ${WEBHOOK_BATCH}; outcomes ${DELIVERED_SHARE * 100} % delivered, ${UNDELIVERED_SHARE * 100} % undelivered 30003, ` +
    `${fmt((1 - RECEIPT_SHARE) * 100)} % no receipt; Node ${process.version}`,
);
const results: Soaked[] = [];
if (WHICH !== 'postgres') results.push(await soak('memoryStorage()', memoryStorage(), SIZE));
if (WHICH !== 'memory') {
  if (!DATABASE_URL)
    console.log('\nPostgreSQL skipped: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test).');
  else {
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 });
    const schema = `soak_${process.pid}`;
    try {
      results.push(
        await soak('postgresStorage()', postgresStorage({ pool, schema }), PG_SIZE, {
          pool,
          schema,
        }),
      );
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.end();
    }
  }
}

for (const r of results) {
  printTable(`${r.storage}: ${CAMPAIGNS} campaigns × ${fmt(r.size)} SMS, one after another`, r.rows);
  const perMessage = (r.heapSlopeMiBPerCampaign * 2 ** 20) / r.size;
  console.log(
    `heap after GC: ${fmt(mib(r.baselineHeap))} MiB before the first campaign; slope ${fmt(r.heapSlopeMiBPerCampaign)} MiB per campaign ` +
      `(${fmt(perMessage)} bytes per message) from campaign 2 on; ${fmt(mib(r.heapGrowthFirstToLast))} MiB from the first to the last`,
  );
  const seen = r.database?.map((d) => d.seenRows as number) ?? [];
  if (seen.length >= 2)
    console.log(
      `seen_events (dedupe keys) after each delete: ${seen.map(fmt).join(', ')} rows; +${fmt(slope(seen))} rows per campaign, never pruned`,
    );
  console.log(
    r.problems.length
      ? r.problems.map((p) => `PROBLEM ${p}`).join('\n')
      : 'no message lost, none sent twice, counters equal the recount in every campaign',
  );
}
await writeResults(DEDUPE_KEYS ? 'soak' : 'soak-no-dedupe-keys', {
  campaigns: CAMPAIGNS,
  dedupeKeys: DEDUPE_KEYS,
  webhooks: {
    duplicateShare: DUPLICATE_SHARE,
    outOfOrderShare: OUT_OF_ORDER_SHARE,
    batch: WEBHOOK_BATCH,
    outcomes: { delivered: DELIVERED_SHARE, undelivered30003: UNDELIVERED_SHARE, noReceipt: 1 - RECEIPT_SHARE },
  },
  batchSize: BATCH_SIZE,
  concurrency: CONCURRENCY,
  runs: results.map(({ rows: _rows, ...r }) => r),
});
if (results.some((r) => r.problems.length)) process.exitCode = 1;
