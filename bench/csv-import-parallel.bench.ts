/**
 * Benchmark: CSV import of generated contact rows (SMS numbers, then email addresses), beside two
 * baselines run in the same process on the same text: (1) the bare csv-parse loop (the stream,
 * `for await` over its records), and (2) for SMS, csv-parse plus libphonenumber-js validation of each
 * number in one plain loop (parse, `isValid()`, nothing else). `importContactsCsv` runs with its
 * default threads (one worker per core once past PARALLEL_FROM numbers) and with `threads: 1`.
 * The runs alternate and each figure is the median of `rounds`. Prints rows/s and peak RSS; never
 * fails on time. Goals (issue 18): SMS import ≥ 1.6× the validating loop on 2 cores; email ≥ 0.5×
 * the bare loop.
 * Run: node --import tsx bench/csv-import-parallel.bench.ts [rows=200000] [rounds=3]
 */
import os from 'node:os';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { importContactsCsv } from '../src/contacts/csv-import.js';
import { fmt, printTable, type Row, writeResults } from './bench-report.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 3);
type Channel = 'sms' | 'email';

/** The file as 64K-character chunks, made once, so that no run pays for generating it. */
function generatedCsv(channel: Channel): string[] {
  const chunks: string[] = [];
  let chunk = channel === 'sms' ? 'first_name,last_name,phone,class\n' : 'first_name,last_name,email,class\n';
  for (let i = 0; i < ROWS; i++) {
    const address = channel === 'sms' ? `0740${String(i).padStart(7, '0')}` : `Parent.${i}@Example.org`;
    chunk += `Name${i},"Surname, ${i}",${address},Year ${i % 13}\n`;
    if (chunk.length > 64 * 1024) {
      chunks.push(chunk);
      chunk = '';
    }
  }
  if (chunk) chunks.push(chunk);
  return chunks;
}
const files: Record<Channel, string[]> = { sms: generatedCsv('sms'), email: generatedCsv('email') };

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

/**
 * Runs once: rows per second, peak RSS, and CPU time per row over all the process's threads (on a
 * shared machine the wall rate of several threads depends on what else runs; the CPU per row does not).
 */
async function measure(run: () => Promise<number>): Promise<{ rate: number; rss: number; cpu: number }> {
  peakRss = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const rows = await run();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (rows !== ROWS) throw new Error(`counted ${rows} rows of ${ROWS}: the run did not read the whole file`);
  return {
    rate: rows / seconds,
    rss: Math.max(peakRss, process.memoryUsage().rss),
    cpu: (cpu.user + cpu.system) / rows,
  };
}

/** (1) The bare csv-parse loop. */
async function bareLoop(channel: Channel): Promise<number> {
  let rows = -1;
  const parser = Readable.from(files[channel]).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: true }),
  );
  for await (const _ of parser) rows++;
  return rows;
}

/** (2) csv-parse and libphonenumber-js validation in one plain loop. */
async function validatingLoop(): Promise<number> {
  let rows = -1;
  let valid = 0;
  const parser = Readable.from(files.sms).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: true }),
  );
  for await (const record of parser) {
    if (rows++ === -1) continue;
    if (parsePhoneNumberFromString((record as string[])[2] as string, 'GB')?.isValid()) valid++;
  }
  if (valid !== ROWS) throw new Error(`validated ${valid} of ${ROWS}`);
  return rows;
}

async function imported(channel: Channel, threads?: number): Promise<number> {
  let rows = 0;
  const r = await importContactsCsv(
    Readable.from(files[channel]),
    { channel, defaultCountry: 'GB', ...(threads === undefined ? {} : { threads }) },
    async (batch) => {
      rows += batch.length;
    },
  );
  if (r.imported !== ROWS) throw new Error(`imported ${r.imported} of ${ROWS}`);
  return rows;
}

const paths: { name: string; channel: Channel; run: () => Promise<number> }[] = [
  { name: '(1) bare csv-parse loop', channel: 'sms', run: () => bareLoop('sms') },
  { name: '(2) csv-parse + libphonenumber-js loop', channel: 'sms', run: validatingLoop },
  { name: 'importContactsCsv, threads: 1', channel: 'sms', run: () => imported('sms', 1) },
  { name: 'importContactsCsv, default threads', channel: 'sms', run: () => imported('sms') },
  { name: '(1) bare csv-parse loop', channel: 'email', run: () => bareLoop('email') },
  { name: 'importContactsCsv', channel: 'email', run: () => imported('email') },
];

const load = os.loadavg();
console.log(
  `csv-import-parallel: ${fmt(ROWS)} rows, ${ROUNDS} rounds, Node ${process.version}, ` +
    `${os.availableParallelism()} cores available, load average ${load.map((l) => l.toFixed(2)).join(' ')}`,
);
// One small warm-up of each path, then the rounds, alternating the paths.
const samples = new Map<string, { rate: number; rss: number; cpu: number }[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const p of paths) {
    const key = `${p.channel} ${p.name}`;
    const s = await measure(p.run);
    samples.set(key, [...(samples.get(key) ?? []), s]);
  }
}
clearInterval(sampler);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rateOf = (channel: Channel, name: string) => median((samples.get(`${channel} ${name}`) ?? []).map((s) => s.rate));
const bare = { sms: rateOf('sms', paths[0]?.name as string), email: rateOf('email', paths[4]?.name as string) };
const validating = rateOf('sms', paths[1]?.name as string);
const cpuOf = (channel: Channel, name: string) => median((samples.get(`${channel} ${name}`) ?? []).map((s) => s.cpu));
const rows: Row[] = paths.map((p) => {
  const rate = rateOf(p.channel, p.name);
  const row: Row = {
    channel: p.channel,
    path: p.name,
    'rows/s': rate,
    'CPU µs/row': cpuOf(p.channel, p.name),
    'x (1)': rate / bare[p.channel],
    'peak RSS MiB': Math.max(...(samples.get(`${p.channel} ${p.name}`) ?? []).map((s) => s.rss)) / 2 ** 20,
  };
  if (p.channel === 'sms') row['x (2)'] = rate / validating;
  return row;
});
printTable(`Rows per second (median of ${ROUNDS})`, rows);
const smsThreads = rateOf('sms', 'importContactsCsv, default threads') / validating;
const emailRatio = rateOf('email', 'importContactsCsv') / bare.email;
printTable('Goals', [
  {
    goal: 'SMS import >= 1.6x the validating loop (2)',
    measured: `${fmt(smsThreads)}x`,
    met: smsThreads >= 1.6 ? 'yes' : 'no',
  },
  {
    goal: 'email import >= 0.5x the bare loop (1)',
    measured: `${fmt(emailRatio)}x`,
    met: emailRatio >= 0.5 ? 'yes' : 'no',
  },
]);
await writeResults('csv-import-parallel', {
  rows: ROWS,
  rounds: ROUNDS,
  cores: os.availableParallelism(),
  loadAverageAtStart: load,
  loadAverageAtEnd: os.loadavg(),
  rowsPerSecond: Object.fromEntries(paths.map((p) => [`${p.channel} ${p.name}`, rateOf(p.channel, p.name)])),
  cpuMicrosecondsPerRow: Object.fromEntries(paths.map((p) => [`${p.channel} ${p.name}`, cpuOf(p.channel, p.name)])),
  smsOverValidatingLoop: smsThreads,
  smsOneThreadOverValidatingLoop: rateOf('sms', 'importContactsCsv, threads: 1') / validating,
  emailOverBareLoop: emailRatio,
});
