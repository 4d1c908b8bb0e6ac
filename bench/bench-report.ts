/**
 * Shared pieces of the benchmarks: the machine description, a printed table, the results file
 * (`bench/results/<name>.json`), percentiles, heap after GC and an RSS sampler. Plain Node only.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** One row of a printed table: column name → cell. */
export type Row = Record<string, string | number>;

/** The machine a benchmark ran on, as every results file records it. */
export function machineInfo() {
  const cpus = os.cpus();
  return { cpus: cpus.length, model: cpus[0]?.model ?? 'unknown', totalmem: os.totalmem() };
}

/** Prints rows as an aligned text table (numbers right-aligned). */
export function printTable(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: string | number | undefined) => (v === undefined ? '' : typeof v === 'number' ? fmt(v) : v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[], numeric: boolean[]) =>
    cells.map((s, i) => (numeric[i] ? s.padStart(widths[i] as number) : s.padEnd(widths[i] as number))).join('  ');
  const isNumber = columns.map((c) => rows.some((r) => typeof r[c] === 'number'));
  console.log(line(columns, isNumber));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows)
    console.log(
      line(
        columns.map((c) => cell(r[c])),
        isNumber,
      ),
    );
}

/** A number for people: thousands separators, and 3 significant digits for small values. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en');
  return Number(v.toPrecision(3)).toLocaleString('en', { maximumFractionDigits: 3 });
}

/** Mebibytes, for memory figures. */
export const mib = (bytes: number) => bytes / 2 ** 20;

/** Writes `bench/results/<name>.json` with the machine, the Node version, the date and the figures. */
export async function writeResults(name: string, figures: unknown): Promise<string> {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${dir}${name}.json`;
  const body = { machine: machineInfo(), node: process.version, date: new Date().toISOString(), figures };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
  return file;
}

/** The `p`-th percentile (0–100) of sorted values, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Milliseconds since `start` (a `process.hrtime.bigint()` reading). */
export const msSince = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

/** Runs `fn` and returns its result with the elapsed milliseconds. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [value, msSince(start)];
}

/** Forces full collections (needs `--expose-gc`) and returns `heapUsed`; throws without the flag. */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('Run with node --expose-gc (npm run bench does) to measure heap per item.');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Samples RSS every `everyMs` on the real timers; `stop()` returns the peak seen (and takes a last sample). */
export function rssSampler(everyMs = 100) {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, everyMs);
  return {
    reset() {
      peak = process.memoryUsage().rss;
    },
    get peak() {
      return Math.max(peak, process.memoryUsage().rss);
    },
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/** The process's lifetime peak RSS in bytes (`process.resourceUsage().maxRSS` is in KiB). */
export const maxRss = () => process.resourceUsage().maxRSS * 1024;

/**
 * Runs `fn`; when `BENCH_CPU_PROFILE` names a folder, records a V8 CPU profile of just this section
 * (not the setup around it) to `<folder>/<name>.cpuprofile`, for `bench/cpu-profile-summary.ts`.
 */
export async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return fn();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
    console.log(`CPU profile of "${name}" written to ${dir}/${name}.cpuprofile`);
  }
}
