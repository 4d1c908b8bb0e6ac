#!/usr/bin/env node
/**
 * @module tarball-smoke — packs the built package, installs the tarball into an empty folder (runtime
 * dependencies come from the registry, nothing from this repository), and proves that every subpath of
 * the exports map loads with `import` and with `require` and exposes named exports. Then it typechecks a
 * consumer file against the installed declarations with `types: []` (no `@types/node`) and `skipLibCheck`
 * off, under each module resolution TypeScript offers (node10, node16, bundler).
 *
 * Run after `npm run build`: `npm run test:package`. Set KEEP_SMOKE_DIR=1 to keep the temp folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));

/** Subpaths that are build entries: conditional objects, not plain files such as ./package.json. */
const specifiers = Object.entries(pkg.exports)
  .filter(([, target]) => typeof target === 'object' && target !== null)
  .map(([subpath]) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`));

const run = (command, args, cwd) => execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });

/** The check both generated scripts run: each specifier resolves inside the installed tarball and has named exports. */
const checkSource = (format) => `
const failures = [];
for (const [specifier, { resolved, namespace }] of Object.entries(loaded)) {
  const names = Object.keys(namespace).filter((name) => name !== 'default' && name !== '__esModule');
  const insideInstall = resolved.includes('/node_modules/${pkg.name}/dist/');
  const ok = names.length > 0 && insideInstall;
  if (!ok) failures.push(specifier);
  console.log(\`\${ok ? 'ok' : 'not ok'} - ${format} \${specifier}: \${names.length} named exports from \${resolved}\`);
}
if (failures.length > 0) {
  console.error(\`${format} failed for \${failures.join(', ')}: each subpath must resolve into the installed tarball's dist/ and export at least one name.\`);
  process.exit(1);
}
`;

function esmScript() {
  const imports = specifiers.map((s, i) => `import * as entry${i} from '${s}';`).join('\n');
  const table = specifiers
    .map((s, i) => `  '${s}': { resolved: fileURLToPath(import.meta.resolve('${s}')), namespace: entry${i} },`)
    .join('\n');
  return `import { fileURLToPath } from 'node:url';\n${imports}\nconst loaded = {\n${table}\n};\n${checkSource('import')}`;
}

function cjsScript() {
  const table = specifiers
    .map((s) => `  '${s}': { resolved: require.resolve('${s}'), namespace: require('${s}') },`)
    .join('\n');
  return `'use strict';\nconst loaded = {\n${table}\n};\n${checkSource('require')}`;
}

/** A consumer that touches every entry's public types, CSV sources from web streams and async iterables among them. */
const CONSUMER_TS = `import { createOutreach, type CsvSource, type ImportedContact, type Outreach } from 'campaign-lifecycle';
import { importContactsCsv } from 'campaign-lifecycle/csv';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { fromPGlite, postgresStorage } from 'campaign-lifecycle/postgres';
import { sendgridWebhookHandler, verifySendgridSignature } from 'campaign-lifecycle/sendgrid';
import { createFakeClock, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { twilioWebhookHandler, verifyTwilioSignature } from 'campaign-lifecycle/twilio';

async function* chunks(): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode('phone\\n+14155550101\\n');
}
const sources: CsvSource[] = ['phone\\n', new Uint8Array(0), new ReadableStream<Uint8Array>(), chunks(), ['a', 'b']];
const clock = createFakeClock();
const outreach: Outreach = createOutreach({
  storage: memoryStorage(),
  clock,
  transports: { sms: simulatedSmsCarrier({ clock }) },
});
const handlers: ((request: Request) => Promise<Response>)[] = [
  twilioWebhookHandler({ outreach, authToken: 't' }),
  sendgridWebhookHandler({ outreach, publicKey: 'k' }),
];
const checks: Promise<boolean>[] = [
  verifyTwilioSignature({ authToken: 't', url: 'https://x', params: {}, signature: 's' }),
  verifySendgridSignature({ publicKey: 'k', rawBody: '', signature: 's', timestamp: '1' }),
];
const rows: ImportedContact[] = [];
export const used = [sources, handlers, checks, rows, importContactsCsv, fromPGlite, postgresStorage];
`;

/** tsconfig of one resolution mode: no ambient types at all, libraries' declarations checked too. */
const consumerTsconfig = (module, moduleResolution) =>
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      module,
      moduleResolution,
      types: [],
      strict: true,
      skipLibCheck: false,
      esModuleInterop: true,
      noEmit: true,
    },
    files: ['types-check.ts'],
  });

const workDir = mkdtempSync(join(tmpdir(), 'campaign-lifecycle-smoke-'));
let failed = false;
try {
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', workDir], repo).toString());
  const tarball = join(workDir, packed.filename);
  console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${packed.size} bytes`);

  const consumer = join(workDir, 'consumer');
  mkdirSync(consumer);
  run('npm', ['init', '-y'], consumer);
  // The consumer sits outside the repository, so only the tarball and its registry dependencies can resolve.
  run('npm', ['install', '--no-audit', '--no-fund', tarball], consumer);

  writeFileSync(join(consumer, 'smoke.mjs'), esmScript());
  writeFileSync(join(consumer, 'smoke.cjs'), cjsScript());
  // CSV import loads its parser on first use through package.json "imports" (#csv-parse): prove that
  // resolves inside the installed package from both builds.
  const csvCheck = (format) => `
const csv = 'phone,name\\n+14155550101,Ada\\n';
importContactsCsv(csv, { channel: 'sms' }, async () => {}).then((r) => {
  if (r.imported !== 1) { console.error('not ok - ${format} CSV import', JSON.stringify(r)); process.exit(1); }
  console.log('ok - ${format} CSV import through #csv-parse');
}, (error) => { console.error('not ok - ${format} CSV import', error); process.exit(1); });
`;
  writeFileSync(
    join(consumer, 'csv.mjs'),
    `import { importContactsCsv } from '${pkg.name}/csv';\n${csvCheck('import')}`,
  );
  writeFileSync(
    join(consumer, 'csv.cjs'),
    `const { importContactsCsv } = require('${pkg.name}/csv');\n${csvCheck('require')}`,
  );
  for (const script of ['smoke.mjs', 'smoke.cjs', 'csv.mjs', 'csv.cjs']) {
    try {
      process.stdout.write(run(process.execPath, [script], consumer));
    } catch (error) {
      failed = true;
      process.stdout.write(error.stdout ?? '');
      console.error(`not ok - node ${script} exited with ${error.status}`);
    }
  }

  writeFileSync(join(consumer, 'types-check.ts'), CONSUMER_TS);
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [module, moduleResolution] of [
    ['commonjs', 'node10'],
    ['node16', 'node16'],
    ['esnext', 'bundler'],
  ]) {
    const config = `tsconfig.${moduleResolution}.json`;
    writeFileSync(join(consumer, config), consumerTsconfig(module, moduleResolution));
    try {
      run(process.execPath, [tsc, '-p', config], consumer);
      console.log(`ok - types check with types: [] under moduleResolution ${moduleResolution}`);
    } catch (error) {
      failed = true;
      process.stdout.write(error.stdout ?? '');
      console.error(`not ok - types check with types: [] under moduleResolution ${moduleResolution}`);
    }
  }
} finally {
  if (process.env.KEEP_SMOKE_DIR) console.log(`kept ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}

if (failed) process.exit(1);
console.log(
  `package smoke: ${specifiers.length} entry points load with import and require from the packed tarball, ` +
    'and their types check without @types/node under node10, node16 and bundler resolution',
);
