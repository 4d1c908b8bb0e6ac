/**
 * Sums the self time of one or more V8 `.cpuprofile` files into the areas that matter for the
 * Postgres + Twilio path (Web Request/Response and fetch, Node HTTP and sockets, the pg driver, the
 * Postgres adapter, the Twilio adapter, the engine, GC…), idle left out, each as a share of the busy
 * time; with `--per=<count> --cpu-ms=<process CPU ms>` also as CPU ms per item (the busy shares
 * scaled to the processes' measured CPU time, since a sampled profile on a loaded machine counts
 * time spent descheduled as busy).
 * Run: npx tsx bench/profile-areas.ts <a.cpuprofile> [b.cpuprofile …] [--per=20000] [--cpu-ms=58600]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First matching rule wins: [area, test on the file path or, for native frames, the function name]. */
const AREAS: [string, RegExp][] = [
  ['(idle)', /^\(idle\)$/],
  ['GC', /^\(garbage collector\)$/],
  [
    'Web Request/Response, fetch, web streams, AbortSignal (undici)',
    /undici|webstreams|abort_controller|js_transferable|internal\/blob|^makeTransferable$/,
  ],
  [
    'Node HTTP, net, streams, events, socket writes',
    /_http_|internal\/streams|node:net|stream_base|node:events|^writev$|^writeBuffer$|^writeUtf8String$|^parse$|^execute$|node:stream|internal\/http/,
  ],
  ['pg driver (pg, pg-protocol)', /node_modules\/(pg|pg-protocol|pg-types|postgres-)/],
  ['Postgres adapter (adapters/postgres)', /adapters\/postgres\//],
  ['Twilio adapter (signature, handler, transport)', /adapters\/twilio\//],
  ['XState', /node_modules\/xstate/],
  ['zod', /node_modules\/zod/],
  ['engine (src/)', /(^|\/)src\//],
  ['benchmark harness (bench/)', /(^|\/)bench\//],
  [
    'URL, Buffer, text, crypto',
    /internal\/url|node:buffer|internal\/encoding|internal\/crypto|node:url|^digest$|^update$/,
  ],
  [
    'microtasks, timers, runtime',
    /^\(program\)$|^runMicrotasks$|task_queues|internal\/timers|async_hooks|^memoryUsage$/,
  ],
];

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--'));
const opt = (name: string) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : undefined;
};
const per = opt('per');
const cpuMs = opt('cpu-ms');
if (files.length === 0) {
  console.error('usage: tsx bench/profile-areas.ts <file.cpuprofile>… [--per=N] [--cpu-ms=M]');
  process.exit(1);
}
const areas = new Map<string, number>();
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = (byId.get(profile.samples[i] as number) as ProfileNode).callFrame;
    const path = frame.url ? relative(process.cwd(), frame.url.replace(/^file:\/\//, '')) : '';
    const key = path || frame.functionName;
    const area = AREAS.find(([, re]) => re.test(key))?.[0] ?? 'other';
    areas.set(area, (areas.get(area) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
}
const idle = areas.get('(idle)') ?? 0;
areas.delete('(idle)');
const busy = [...areas.values()].reduce((a, b) => a + b, 0);
console.log(
  `${files.length} profile(s): ${(busy / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle (sampled)`,
);
console.log(`${'% busy'.padStart(7)}${per && cpuMs ? '  CPU ms/item' : ''}  area`);
for (const [area, us] of [...areas].sort((a, b) => b[1] - a[1])) {
  const share = us / busy;
  const each = per && cpuMs ? `  ${((share * cpuMs) / per).toFixed(3).padStart(11)}` : '';
  console.log(`${(share * 100).toFixed(1).padStart(7)}${each}  ${area}`);
}
