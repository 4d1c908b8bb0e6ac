/**
 * Benchmark 3: status queries. `getCampaign` and `getStats` (median and p99 over 10,000 calls) on a
 * 1,000-message and a 1,000,000-message campaign: they read counters, so the figures must match
 * within noise. The big campaign's messages are inserted straight into storage with their counters
 * (a mix of delivered, sent and failed), not run. Beside them, the naive way (recounting statuses
 * by paging through every message) on both campaigns, to show what the counters save.
 * Run: node --expose-gc --import tsx bench/status-queries.bench.ts [big=1000000] [calls=10000]
 */
import {
  type CampaignRecord,
  createOutreach,
  type MessageRecord,
  type MessageStatus,
  type Outreach,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { fmt, msSince, percentile, printTable, type Row, writeResults } from './bench-report.js';

const BIG = Number(process.argv[2] ?? 1_000_000);
const CALLS = Number(process.argv[3] ?? 10_000);
const SMALL = 1000;

const storage = memoryStorage({ keepLog: false });
const clock = createFakeClock();
const outreach = createOutreach({ storage, clock, transports: {} });

/** A campaign with `n` messages: 70 % delivered, 20 % sent, 10 % failed, counters to match. */
async function campaignWith(n: number, tag: string): Promise<string> {
  const c = await outreach.createCampaign({ name: `status ${n}`, channel: 'sms', content: { body: 'Hi' } });
  const now = clock.now();
  const statusOf = (i: number): MessageStatus => (i % 10 < 7 ? 'delivered' : i % 10 < 9 ? 'sent' : 'failed');
  const counts: Partial<Record<MessageStatus, number>> = {};
  for (let from = 0; from < n; from += 50_000) {
    const rows: MessageRecord[] = [];
    for (let i = from; i < Math.min(n, from + 50_000); i++) {
      const status = statusOf(i);
      counts[status] = (counts[status] ?? 0) + 1;
      rows.push({
        id: `msg_${tag}_${String(i).padStart(8, '0')}`,
        campaignId: c.id,
        contactId: `ctc_${tag}_${i}`,
        scope: 'default',
        channel: 'sms',
        to: `+4474${String(i).padStart(8, '0')}`,
        status,
        state: status,
        context: {
          channel: 'sms',
          attempts: 1,
          reason: status === 'failed' ? 'unreachable' : null,
          code: status === 'failed' ? '30003' : null,
          providerMessageId: `SM${tag}${i}`,
          firstDeferredAt: null,
          deferrals: 0,
          updatedAt: now,
        },
        createdAt: now,
        updatedAt: now,
      });
    }
    await storage.transaction((t) => t.insertMessages(rows));
  }
  await storage.transaction(async (t) => {
    await t.addCounters([{ campaignId: c.id, counts }]);
    const record = (await t.getCampaign(c.id)) as CampaignRecord;
    await t.updateCampaign({ ...record, messageCount: n });
  });
  return c.id;
}

/** Median and p99 in microseconds of `calls` sequential awaited calls, after a warm-up. */
async function latency(calls: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(1000, calls); i++) await fn();
  const samples = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples[i] = msSince(start) * 1000;
  }
  samples.sort();
  return { medianUs: percentile(samples, 50), p99Us: percentile(samples, 99) };
}

/** The naive status read: page through every message and count statuses. */
async function recount(o: Outreach, campaignId: string) {
  const counts: Partial<Record<MessageStatus, number>> = {};
  let after: string | undefined;
  for (;;) {
    const page = await o.listMessages(campaignId, { after, limit: 10_000 });
    for (const m of page) counts[m.status] = (counts[m.status] ?? 0) + 1;
    if (page.length < 10_000) return counts;
    after = page[page.length - 1]?.id;
  }
}

console.log(
  `status-queries: ${fmt(SMALL)} and ${fmt(BIG)} messages, ${fmt(CALLS)} calls each, Node ${process.version}`,
);
const small = await campaignWith(SMALL, 's');
let start = process.hrtime.bigint();
const big = await campaignWith(BIG, 'b');
console.log(`built the ${fmt(BIG)}-message campaign in ${fmt(msSince(start) / 1000)} s`);
const stats = await outreach.getStats(big);
if (stats.total !== BIG || stats.counts.delivered + stats.counts.sent + stats.counts.failed !== BIG)
  throw new Error('counters do not match');

// Warm every query on both campaigns first, so that neither size is measured while the JIT is still compiling.
for (const id of [small, big]) {
  for (let i = 0; i < 2000; i++) {
    await outreach.getCampaign(id);
    await outreach.getStats(id);
  }
}
const figures: Record<string, { medianUs: number; p99Us: number }> = {};
for (const [size, id] of [
  [SMALL, small],
  [BIG, big],
] as const) {
  figures[`getCampaign_${size}`] = await latency(CALLS, () => outreach.getCampaign(id));
  figures[`getStats_${size}`] = await latency(CALLS, () => outreach.getStats(id));
}
const recountCalls = 3;
for (const [size, id] of [
  [SMALL, small],
  [BIG, big],
] as const) {
  start = process.hrtime.bigint();
  for (let i = 0; i < recountCalls; i++) await recount(outreach, id);
  const us = (msSince(start) * 1000) / recountCalls;
  figures[`recount_${size}`] = { medianUs: us, p99Us: Number.NaN };
}

const row = (query: string, key: string): Row => {
  const s = figures[`${key}_${SMALL}`] as { medianUs: number; p99Us: number };
  const b = figures[`${key}_${BIG}`] as { medianUs: number; p99Us: number };
  return {
    query,
    [`median µs @${fmt(SMALL)}`]: s.medianUs,
    [`p99 µs @${fmt(SMALL)}`]: Number.isNaN(s.p99Us) ? '-' : s.p99Us,
    [`median µs @${fmt(BIG)}`]: b.medianUs,
    [`p99 µs @${fmt(BIG)}`]: Number.isNaN(b.p99Us) ? '-' : b.p99Us,
    'big / small (median)': b.medianUs / s.medianUs,
  };
};
printTable(`Latency per call (${fmt(CALLS)} sequential calls; recount: mean of ${recountCalls})`, [
  row('getCampaign', 'getCampaign'),
  row('getStats', 'getStats'),
  row('baseline: recount statuses via listMessages', 'recount'),
]);
const ratio = (figures[`getStats_${BIG}`]?.medianUs ?? 0) / (figures[`getStats_${SMALL}`]?.medianUs ?? 1);
printTable('Target', [{ target: 'getStats constant time (same figure at 1k and 1M)', 'median ratio': ratio }]);
await writeResults('status-queries', { small: SMALL, big: BIG, calls: CALLS, latency: figures, getStatsRatio: ratio });
