/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and prints the functions with the most self
 * time: the samples whose top frame is that function, summed per function and location.
 * Run: npx tsx bench/cpu-profile-summary.ts <file.cpuprofile> [top=10]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: tsx bench/cpu-profile-summary.ts <file.cpuprofile> [top=10]');
  process.exit(1);
}
const top = Number(process.argv[3] ?? 10);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byNode = new Map(profile.nodes.map((n) => [n.id, n]));

// Each sample's time is the delta to the next sample (V8 records the delta before each sample).
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i] as number;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
}
const perFunction = new Map<string, number>();
const perArea = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = (byNode.get(id) as ProfileNode).callFrame;
  const path = frame.url ? relative(process.cwd(), frame.url.replace(/^file:\/\//, '')) : '';
  // tsx-compiled files report line 1, so the column tells functions of one file apart.
  const where = path ? `${path}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : '';
  const key = `${frame.functionName || '(anonymous)'}  ${where}`.trim();
  perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  const area = path === '' ? frame.functionName : (/node_modules\/((@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path);
  perArea.set(area, (perArea.get(area) ?? 0) + us);
}
const total = [...perFunction.values()].reduce((a, b) => a + b, 0);
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log(`${'self ms'.padStart(9)}  ${'%'.padStart(5)}  function`);
for (const [key, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(us / 1000).toFixed(0).padStart(9)}  ${((us / total) * 100).toFixed(1).padStart(5)}  ${key}`);
}
console.log(`\n${'self ms'.padStart(9)}  ${'%'.padStart(5)}  by file or package`);
for (const [area, us] of [...perArea].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(us / 1000).toFixed(0).padStart(9)}  ${((us / total) * 100).toFixed(1).padStart(5)}  ${area}`);
}
