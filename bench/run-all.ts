/**
 * Runs every `bench/*.bench.ts` in sequence, each in its own `node --expose-gc --import tsx` child
 * (a fresh heap per benchmark, so one's memory never skews the next), and prints each one's table.
 * A benchmark that fails (e.g. the Postgres one without DATABASE_URL) is reported and the rest run.
 * Run: npm run bench [-- name-filter…]   e.g. npm run bench -- transitions status
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

/**
 * Extra Node flags per benchmark. The end-to-end run caps the old generation at 1 GiB: enough for the
 * default run (100k on both layouts) and for 1M on the compact layout, and it keeps V8 from letting
 * garbage grow to several times the live data (the 1M figures in bench/README.md). The object layout
 * at 1M needs `--max-old-space-size=14336`.
 */
const NODE_FLAGS: Record<string, string[]> = { 'end-to-end.bench.ts': ['--max-old-space-size=1024'] };
/**
 * Environment defaults per benchmark, each overridden by the same variable set by the caller: the
 * million-message Postgres run takes most of an hour on a 2-core machine, so `npm run bench` runs it
 * at 100,000 unless BENCH_N is set (`BENCH_N=1000000 npm run bench -- postgres-million`).
 */
const ENV_DEFAULTS: Record<string, Record<string, string>> = { 'postgres-million.bench.ts': { BENCH_N: '100000' } };

const run = (file: string) =>
  new Promise<{ code: number | null; seconds: number }>((resolve) => {
    const start = performance.now();
    const child = spawn(
      process.execPath,
      ['--expose-gc', ...(NODE_FLAGS[file] ?? []), '--import', 'tsx', `${dir}${file}`],
      {
        stdio: 'inherit',
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...ENV_DEFAULTS[file], ...process.env },
      },
    );
    child.on('exit', (code) => resolve({ code, seconds: (performance.now() - start) / 1000 }));
  });

const summary: { file: string; code: number | null; seconds: number }[] = [];
for (const file of files) {
  console.log(`\n=== ${file} ${'='.repeat(Math.max(0, 70 - file.length))}`);
  summary.push({ file, ...(await run(file)) });
}
console.log('\n=== summary');
for (const s of summary) {
  console.log(
    `${s.file.padEnd(32)} ${s.code === 0 ? 'ok    ' : `exit ${s.code}`} ${s.seconds.toFixed(1).padStart(7)} s`,
  );
}
