/**
 * Benchmark: importing 1,000,000 generated contact rows with validation, beside plain csv-parse
 * of the same rows in the same process. Prints rows per second and peak RSS; never fails on time.
 * Run: npx tsx bench/csv-import.bench.ts [rows]
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { importContactsCsv } from '../src/contacts/csv-import.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);

function* generatedCsv(channel: 'sms' | 'email'): Generator<string> {
  yield channel === 'sms' ? 'first_name,last_name,phone,class\n' : 'first_name,last_name,email,class\n';
  let chunk = '';
  for (let i = 0; i < ROWS; i++) {
    const address = channel === 'sms' ? `0740${String(i).padStart(7, '0')}` : `Parent.${i}@Example.org`;
    chunk += `Name${i},"Surname, ${i}",${address},Year ${i % 13}\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

async function measure(label: string, run: () => Promise<number>): Promise<number> {
  peakRss = process.memoryUsage().rss;
  const start = performance.now();
  const rows = await run();
  const seconds = (performance.now() - start) / 1000;
  const rate = rows / seconds;
  console.log(
    `${label.padEnd(38)} ${rows.toLocaleString('en').padStart(10)} rows  ${seconds.toFixed(2).padStart(6)} s  ` +
      `${Math.round(rate).toLocaleString('en').padStart(9)} rows/s  peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
  return rate;
}

async function rawCsvParse(channel: 'sms' | 'email'): Promise<number> {
  let rows = -1;
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, trim: true });
  const done = pipeline(Readable.from(generatedCsv(channel)), parser);
  for await (const _ of parser) rows++;
  await done;
  return rows;
}

async function validated(channel: 'sms' | 'email'): Promise<number> {
  let rows = 0;
  const r = await importContactsCsv(
    Readable.from(generatedCsv(channel)),
    { channel, defaultCountry: 'GB' },
    async (batch) => {
      rows += batch.length;
    },
  );
  if (r.imported !== ROWS) throw new Error(`imported ${r.imported} of ${ROWS}`);
  return rows;
}

console.log(`csv-import benchmark, ${ROWS.toLocaleString('en')} rows, Node ${process.version}`);
for (const channel of ['sms', 'email'] as const) {
  const base = await measure(`raw csv-parse (${channel} file)`, () => rawCsvParse(channel));
  const ours = await measure(`importContactsCsv (${channel}, validated)`, () => validated(channel));
  console.log(`  -> ${(ours / base).toFixed(2)} of raw csv-parse speed`);
}
clearInterval(sampler);
