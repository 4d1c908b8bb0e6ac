/**
 * Benchmark 4: rate limiting on the system clock. With `limits: { ratePerSecond: N }` (N = 50 and
 * 200) and an instant simulated carrier, the worker runs for 10 s of real time; from the carrier's
 * send log: the achieved rate over those 10 s (from the first send) and the largest count in any
 * one-second window (sliding, half-open [t, t + 1000 ms)). Baseline: the same campaign through an
 * unlimited transport, which shows what the limiter holds back.
 * Run: node --import tsx bench/rate-limit.bench.ts [rates=50,200] [seconds=10]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createOutreach, systemClock } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { savedCampaign } from './bench-fixtures.js';
import { fmt, printTable, type Row, writeResults } from './bench-report.js';

const RATES = (process.argv[2] ?? '50,200').split(',').map(Number);
const SECONDS = Number(process.argv[3] ?? 10);
const WINDOW_MS = SECONDS * 1000;

/** The most sends in any half-open window [t, t + 1000) that starts at a send. */
function maxInOneSecond(times: readonly number[]): number {
  let best = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    if (j < i) j = i;
    while (j < times.length && (times[j] as number) < (times[i] as number) + 1000) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

/** Runs one campaign of `contacts` messages for `SECONDS` (or until every message is sent) and reads the send log. */
async function measure(contacts: number, ratePerSecond: number | undefined) {
  const sms = simulatedSmsCarrier({
    clock: systemClock,
    latency: 0,
    receiptDelay: 0,
    ...(ratePerSecond === undefined ? {} : { limits: { ratePerSecond } }),
  });
  const outreach = createOutreach({
    storage: memoryStorage(),
    clock: systemClock,
    transports: { sms },
    onError: (e) => console.error(e),
  });
  const { id } = await savedCampaign(outreach, contacts);
  await outreach.run(id);
  outreach.worker.start();
  const deadline = Date.now() + WINDOW_MS + 50;
  while (Date.now() < deadline && sms.sendCalls < contacts) await sleep(50);
  await outreach.worker.stop();
  const times = sms.log.map((e) => e.at).sort((a, b) => a - b);
  const first = times[0] ?? 0;
  const inWindow = times.filter((t) => t < first + WINDOW_MS).length;
  const spanMs = (times[times.length - 1] ?? first) - first;
  return {
    sends: times.length,
    sendsInWindow: inWindow,
    achievedPerSecond: inWindow / SECONDS,
    maxInOneSecond: maxInOneSecond(times),
    spanMs,
  };
}

console.log(`rate-limit: rates ${RATES.join(', ')}/s, ${SECONDS} s each on the system clock, Node ${process.version}`);
const rows: Row[] = [];
const figures: Record<string, unknown> = {};
for (const rate of RATES) {
  const contacts = rate * (SECONDS + 2); // more than the window can send, so the limit is what stops it
  const limited = await measure(contacts, rate);
  const unlimited = await measure(contacts, undefined);
  figures[`rate_${rate}`] = { contacts, limited, unlimited };
  rows.push({
    limit: `${rate}/s`,
    transport: 'rate-limited',
    [`sends in ${SECONDS} s`]: limited.sendsInWindow,
    'achieved /s': limited.achievedPerSecond,
    'vs limit': `${(((limited.achievedPerSecond - rate) / rate) * 100).toFixed(2)} %`,
    'max in any 1 s': limited.maxInOneSecond,
    'over limit': limited.maxInOneSecond > rate ? 'YES' : 'no',
  });
  rows.push({
    limit: `${rate}/s`,
    transport: 'baseline: unlimited',
    [`sends in ${SECONDS} s`]: unlimited.sendsInWindow,
    'achieved /s': unlimited.achievedPerSecond,
    'vs limit': `all ${fmt(contacts)} sent in ${fmt(unlimited.spanMs)} ms`,
    'max in any 1 s': unlimited.maxInOneSecond,
    'over limit': unlimited.maxInOneSecond > rate ? 'yes' : 'no',
  });
}
printTable('Achieved rate (target: within 2 % of the limit, no 1-second window above it)', rows);
await writeResults('rate-limit', { seconds: SECONDS, ...figures });
