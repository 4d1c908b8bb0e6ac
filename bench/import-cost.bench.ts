/**
 * Benchmark: cold-start import cost of each built entry (what a serverless function pays on a cold
 * start), beside `import('zod')` measured the same way in the same run. Each figure is the median of
 * several fresh Node processes timing one dynamic `import()` (process start-up excluded), the runs of
 * every subject interleaved so that machine noise falls on all alike. Then each signature verifier and
 * each webhook handler is bundled alone by esbuild (only that export, `platform: 'neutral'`, minified)
 * and its bundle size and import time measured the same way. Goals: every entry ≤ zod + 40 ms; each
 * verifier alone < 5 ms above an empty module's import (the loader's own cost). Never fails on time.
 * Needs the build (`npm run build`). Run: npx tsx bench/import-cost.bench.ts [runs=9]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { entries } from '../tsup.config.js';
import { printTable, type Row, writeResults } from './bench-report.js';

const RUNS = Number(process.argv[2] ?? 9);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
  console.log('import-cost: building first (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
}

/** Milliseconds one fresh Node process takes to `import(specifier)`, resolved from the repository root. */
function importMs(specifier: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return Number(out.trim());
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Medians of RUNS fresh imports of each subject, runs interleaved. */
function measureAll(subjects: Record<string, string>): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const [label, specifier] of Object.entries(subjects)) times[label]?.push(importMs(specifier));
  }
  return Object.fromEntries(Object.entries(times).map(([label, xs]) => [label, median(xs)]));
}

// The package imports itself by name (Node resolves a package's own "exports"), i.e. the built dist.
const entrySubjects: Record<string, string> = { 'zod (baseline)': 'zod' };
for (const name of Object.keys(entries)) {
  entrySubjects[name === 'index' ? 'campaign-lifecycle' : `campaign-lifecycle/${name}`] =
    name === 'index' ? 'campaign-lifecycle' : `campaign-lifecycle/${name}`;
}

/** Single exports bundled alone from the built entries (what a bundler tree-shakes to). */
const alone: Record<string, [entry: string, name: string]> = {
  verifyTwilioSignature: ['twilio', 'verifyTwilioSignature'],
  createTwilioVerifier: ['twilio', 'createTwilioVerifier'],
  verifySendgridSignature: ['sendgrid', 'verifySendgridSignature'],
  twilioWebhookHandler: ['twilio', 'twilioWebhookHandler'],
  sendgridWebhookHandler: ['sendgrid', 'sendgridWebhookHandler'],
};
const dir = mkdtempSync(join(tmpdir(), 'import-cost-'));
// Baseline for the bundles: an empty ES module costs the loader's own first import.
const EMPTY = 'empty module (baseline)';
const bundleSubjects: Record<string, string> = { [EMPTY]: `file://${join(dir, 'empty.mjs')}` };
const bundleBytes: Record<string, number> = { [EMPTY]: 0 };
writeFileSync(join(dir, 'empty.mjs'), 'export {};\n');
try {
  for (const [label, [entry, name]] of Object.entries(alone)) {
    const result = await build({
      stdin: { contents: `export { ${name} } from 'campaign-lifecycle/${entry}';`, resolveDir: ROOT },
      bundle: true,
      platform: 'neutral',
      mainFields: ['module', 'main'],
      format: 'esm',
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]?.text ?? '';
    const file = join(dir, `${label}.mjs`);
    writeFileSync(file, code);
    bundleBytes[label] = code.length;
    bundleSubjects[label] = `file://${file}`;
  }

  console.log(`import-cost benchmark, median of ${RUNS} fresh processes each, Node ${process.version}`);
  const entryMs = measureAll(entrySubjects);
  const zod = entryMs['zod (baseline)'] as number;
  const entryRows: Row[] = Object.entries(entryMs).map(([label, ms]) => ({
    import: label,
    'median ms': ms.toFixed(1),
    'vs zod': label.startsWith('zod') ? '' : `${ms - zod >= 0 ? '+' : ''}${(ms - zod).toFixed(1)} ms`,
    'goal ≤ zod + 40 ms': label.startsWith('zod') ? '' : ms <= zod + 40 ? 'met' : 'missed',
  }));
  printTable('Each entry, imported alone in a fresh process', entryRows);

  const aloneMs = measureAll(bundleSubjects);
  const empty = aloneMs[EMPTY] as number;
  const aloneRows: Row[] = Object.entries(aloneMs).map(([label, ms]) => ({
    'bundled alone': label,
    'minified bytes': (bundleBytes[label] as number).toLocaleString('en'),
    'median ms': ms.toFixed(2),
    'above empty module': label === EMPTY ? '' : `${(ms - empty).toFixed(2)} ms`,
    'goal < 5 ms (verifiers)':
      label.startsWith('verify') || label.startsWith('create') ? (ms - empty < 5 ? 'met' : 'missed') : '',
  }));
  printTable('One export bundled alone by esbuild (neutral, minified), imported in a fresh process', aloneRows);

  const path = await writeResults('import-cost', { runs: RUNS, entries: entryMs, alone: aloneMs, bytes: bundleBytes });
  console.log(`wrote ${path}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
