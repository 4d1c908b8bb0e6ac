/**
 * Benchmark 2: end to end. One SMS campaign of 1,000,000 recipients on memory storage, a fake clock
 * and an instant simulated carrier (latency 0, receipt delay 0), from `run` to complete (queued →
 * sending → sent → delivered): wall time, events per second, peak RSS. Then a second campaign whose
 * messages get no receipt, and 10 minutes of fake time: 1,000,000 deadlines firing at once. Each
 * size runs with the event log kept (the default) and with `memoryStorage({ keepLog: false })`, and
 * on the compact layout (the default) beside the object layout (`memoryStorage({ compact: false })`,
 * the baseline). The simulated carrier keeps nothing per message (`record: false`). Peak RSS is only comparable between runs in separate processes (a process keeps
 * the pages of the run before), so compare layouts for RSS with `compact` and `objects` runs.
 * Run: node --expose-gc --max-old-space-size=1024 --import tsx bench/end-to-end.bench.ts [sizes=100000] [keepLog=both|on|off] [layout=both|compact|objects] [deadlines=on|off]
 */
import { createOutreach, type EventSink, type Outreach } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, type SmsOutcome, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { savedCampaign } from './bench-fixtures.js';
import {
  fmt,
  heapAfterGc,
  maxRss,
  mib,
  msSince,
  printTable,
  profiled,
  type Row,
  rssSampler,
  writeResults,
} from './bench-report.js';

const SIZES = (process.argv[2] ?? '100000').split(',').map(Number);
const LOG_MODES = ({ both: [true, false], on: [true], off: [false] } as const)[
  (process.argv[3] ?? 'both') as 'both' | 'on' | 'off'
];
/** `off` skips the second campaign (deadlines firing at once), e.g. to measure 1M run → complete alone. */
const DEADLINES = (process.argv[5] ?? 'on') !== 'off';
const LAYOUTS = ({ both: [true, false], compact: [true], objects: [false] } as const)[
  (process.argv[4] ?? 'both') as 'both' | 'compact' | 'objects'
];
const BATCH = 2000;
const CONCURRENCY = 5000;

const sampler = rssSampler(100);

/** One engine on fresh storage and a fresh fake clock, with an instant carrier playing `outcome` for every message. */
function setup(keepLog: boolean, compact: boolean, outcome: SmsOutcome) {
  const clock = createFakeClock();
  const sms = simulatedSmsCarrier({
    clock,
    latency: 0,
    receiptDelay: 0,
    limits: { concurrency: CONCURRENCY },
    decide: () => outcome,
    // No per-message log, send counts or remembered outcomes: a real transport keeps none of them.
    record: false,
  });
  // Count the provider events the carrier reports, on their way to the engine.
  let providerEvents = 0;
  const connect = sms.connect?.bind(sms);
  sms.connect = (sink: EventSink) =>
    connect?.({
      ingest: (events) => {
        providerEvents += events.length;
        return sink.ingest(events);
      },
    });
  const outreach = createOutreach({
    storage: memoryStorage({ keepLog, compact }),
    clock,
    transports: { sms },
    batchSize: BATCH,
    onError: (e) => {
      console.error(e);
      process.exit(1);
    },
  });
  return { clock, sms, outreach, providerEvents: () => providerEvents };
}

/** Drives the fake clock (at the current time) until the campaign is no longer in progress. */
async function settle(
  outreach: Outreach,
  clock: ReturnType<typeof createFakeClock>,
  id: string,
  until: (s: string) => boolean,
) {
  for (let i = 0; i < 100; i++) {
    await clock.flush();
    if (until((await outreach.getCampaign(id)).status)) return;
  }
  throw new Error(`campaign ${id} did not settle: ${(await outreach.getCampaign(id)).status}`);
}

async function deliveredRun(N: number, keepLog: boolean, compact: boolean) {
  const { clock, sms, outreach, providerEvents } = setup(keepLog, compact, { kind: 'delivered' });
  const { id, addMs, saveMs } = await savedCampaign(outreach, N);
  sampler.reset();
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  await profiled(`end-to-end-run-${N}-${keepLog ? 'log' : 'nolog'}-${compact ? 'compact' : 'objects'}`, async () => {
    await outreach.run(id);
    outreach.worker.start();
    await settle(outreach, clock, id, (s) => s === 'complete' || s === 'complete_with_errors');
  });
  const wallMs = msSince(start);
  const cpu = process.cpuUsage(cpuStart);
  // CPU time of this process (all its threads, GC included): the figure that holds on a shared, loaded machine.
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const peakRss = sampler.peak;
  const stats = await outreach.getStats(id);
  if (stats.counts.delivered !== N || stats.status !== 'complete')
    throw new Error(`not all delivered: ${JSON.stringify(stats)}`);
  await outreach.worker.stop();
  // Engine-side events per message: QUEUE, DISPATCH, the send result; then each provider report.
  const events = 3 * N + providerEvents();
  return {
    addContactsMs: addMs,
    saveMs,
    wallMs,
    events,
    eventsPerSecond: events / (wallMs / 1000),
    cpuMs,
    sendCalls: sms.sendCalls,
    peakRss,
  };
}

async function deadlinesRun(N: number, keepLog: boolean, compact: boolean) {
  const { clock, outreach } = setup(keepLog, compact, { kind: 'no_receipt' });
  const { id } = await savedCampaign(outreach, N);
  await outreach.run(id);
  outreach.worker.start();
  await settle(outreach, clock, id, () => true);
  const before = await outreach.getStats(id);
  if (before.counts.sent !== N) throw new Error(`expected ${N} sent, got ${JSON.stringify(before.counts)}`);
  sampler.reset();
  const start = process.hrtime.bigint();
  await profiled(`end-to-end-deadlines-${N}-${keepLog ? 'log' : 'nolog'}-${compact ? 'compact' : 'objects'}`, () =>
    clock.advance('10m'),
  );
  const advanceMs = msSince(start);
  const peakRss = sampler.peak;
  const after = await outreach.getStats(id);
  if (after.counts.assumed_delivered !== N)
    throw new Error(`expected ${N} assumed delivered, got ${JSON.stringify(after.counts)}`);
  await outreach.worker.stop();
  return { deadlines: N, advanceMs, deadlinesPerSecond: N / (advanceMs / 1000), finalStatus: after.status, peakRss };
}

console.log(
  `end-to-end: ${SIZES.map(fmt).join(', ')} recipients, batchSize ${BATCH}, concurrency ${CONCURRENCY}, Node ${process.version}`,
);
const results: Record<string, unknown> = {};
const rows: Row[] = [];
const deadlineRows: Row[] = [];
for (const n of SIZES) {
  for (const compact of LAYOUTS)
    for (const keepLog of LOG_MODES) {
      const options = [...(keepLog ? [] : ['keepLog: false']), ...(compact ? [] : ['compact: false'])];
      const label = `memoryStorage(${options.length ? `{ ${options.join(', ')} }` : ''})`;
      const d = await deliveredRun(n, keepLog, compact);
      heapAfterGc();
      const t = DEADLINES ? await deadlinesRun(n, keepLog, compact) : undefined;
      heapAfterGc();
      results[`${n}_${keepLog ? 'keepLog' : 'noLog'}${compact ? '' : '_objects'}`] = {
        recipients: n,
        keepLog,
        compact,
        delivered: d,
        deadlines: t,
      };
      rows.push({
        recipients: n,
        storage: label,
        'add contacts s': d.addContactsMs / 1000,
        'save s': d.saveMs / 1000,
        'run→complete s': d.wallMs / 1000,
        'CPU s': d.cpuMs / 1000,
        events: d.events,
        'events/s': d.eventsPerSecond,
        'peak RSS MiB': mib(d.peakRss),
        'vs 30 s': d.wallMs / 30_000,
        'vs 1 GiB': d.peakRss / 2 ** 30,
      });
      if (t)
        deadlineRows.push({
          deadlines: t.deadlines,
          storage: label,
          'advance 10m s': t.advanceMs / 1000,
          'deadlines/s': t.deadlinesPerSecond,
          'peak RSS MiB': mib(t.peakRss),
          'vs 10 s (scaled to 1M)': (t.advanceMs * (1_000_000 / t.deadlines)) / 10_000,
        });
    }
}
sampler.stop();
const lifetimeMaxRss = maxRss();
printTable(
  'Run to complete (setup: addContacts in chunks of 10,000, then save; targets for 1M: < 30 s, < 1 GiB)',
  rows,
);
printTable(
  "Receipt deadlines firing at once (all sent, no receipt; clock.advance('10m'); target: 1M in < 10 s)",
  deadlineRows,
);
console.log(`\nprocess maxRSS (resourceUsage, whole run): ${fmt(mib(lifetimeMaxRss))} MiB`);
// One file per size list, so that the default run never overwrites a 1M measurement.
await writeResults(`end-to-end-${SIZES.join('-')}`, {
  sizes: SIZES,
  batchSize: BATCH,
  concurrency: CONCURRENCY,
  runs: results,
  processMaxRss: lifetimeMaxRss,
});
