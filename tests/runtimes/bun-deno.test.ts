/**
 * Bun and Deno smoke runs, with the binaries their npm packages (devDependencies `bun` and `deno`)
 * carry: each imports every built entry (`campaign-lifecycle`, `/memory`, `/postgres`, `/testing`, `/node`,
 * `/twilio`, `/sendgrid`) and runs the README quick start. They read dist/, so they run after
 * `npm run build` (CI builds before testing) and are skipped, saying why, when dist/ or a binary is
 * missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entries } from '../../tsup.config.js';
import { ROOT } from '../support/bundle.js';

const built = existsSync(`${ROOT}dist/index.js`);
const binary = (name: string) => {
  const path = `${ROOT}node_modules/.bin/${name}`;
  if (!existsSync(path)) return null;
  try {
    execFileSync(path, ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return path;
  } catch {
    return null;
  }
};

/** The README quick start, importing every other entry first, then printing the quick start's line. */
function smokeScript(): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const quickStart = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Quick start')))?.[1] ?? '';
  const specifiers = Object.keys(entries).map((n) =>
    n === 'index' ? 'campaign-lifecycle' : `campaign-lifecycle/${n}`,
  );
  const imports = specifiers.map((s, i) => `import * as entry${i} from '${s}';`).join('\n');
  const counts = specifiers.map((s, i) => `'${s}': Object.keys(entry${i}).length`).join(', ');
  return `${imports}\nconsole.log(JSON.stringify({ ${counts} }));\n${quickStart}`;
}

// The script sits in a folder inside the repository so that `campaign-lifecycle` resolves to the
// package itself (its "exports", i.e. dist/), as it does for a user who installed it.
mkdirSync(join(ROOT, '.tmp'), { recursive: true });
const dir = mkdtempSync(join(ROOT, '.tmp', 'runtimes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[]): string[] {
  return execFileSync(command, args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  })
    .trim()
    .split('\n');
}

function check(lines: string[]) {
  const [counts, result] = [JSON.parse(lines[0] as string) as Record<string, number>, lines[1]];
  for (const [specifier, count] of Object.entries(counts)) expect(count, specifier).toBeGreaterThan(0);
  expect(Object.keys(counts)).toHaveLength(Object.keys(entries).length);
  expect(result).toBe('complete 2 1');
}

/** campaign-lifecycle/node where node:http exists: a Twilio handler served by toNodeListener, called with nodeFetch. */
const NODE_ENTRY_SCRIPT = `import http from 'node:http';
import { nodeFetch, toNodeListener } from 'campaign-lifecycle/node';
import { twilioWebhookHandler } from 'campaign-lifecycle/twilio';
const outreach = { ingest: async () => ({ applied: 0, duplicates: 0, ignored: 0, unmatched: 0 }) };
const server = http.createServer(toNodeListener(twilioWebhookHandler({ outreach, authToken: 't', onReject: () => {} })));
server.listen(0, '127.0.0.1', async () => {
  const url = \`http://127.0.0.1:\${(server.address() as { port: number }).port}/twilio\`;
  const f = nodeFetch();
  const forged = await f(url, { method: 'POST', body: 'MessageSid=SM1&MessageStatus=sent', headers: { 'x-twilio-signature': 'bad' } });
  const get = await f(url);
  console.log(forged.status, get.status, get.headers.get('allow'));
  server.close();
  process.exit(0);
});
`;

for (const [name, args, nodeArgs] of [
  ['bun', ['run', 'smoke.ts'], ['run', 'node-entry.ts']],
  [
    'deno',
    ['run', '--allow-read', '--allow-env', 'smoke.ts'],
    ['run', '--allow-read', '--allow-env', '--allow-net', 'node-entry.ts'],
  ],
] as const) {
  const path = binary(name);
  const reason = !built
    ? 'dist/ is not built (npm run build)'
    : path === null
      ? `no ${name} binary in node_modules/.bin`
      : '';
  describe(`runtimes: ${name}${reason ? ` (skipped: ${reason})` : ''}`, () => {
    it.skipIf(reason !== '')(`should import every built entry and run the quick start under ${name}`, () => {
      writeFileSync(join(dir, 'smoke.ts'), smokeScript());
      check(run(path as string, [...args]));
    });

    it.skipIf(reason !== '')(
      `should serve a handler with toNodeListener and call it with nodeFetch under ${name}`,
      () => {
        writeFileSync(join(dir, 'node-entry.ts'), NODE_ENTRY_SCRIPT);
        expect(run(path as string, [...nodeArgs])).toEqual(['401 405 POST']);
      },
    );
  });
}
