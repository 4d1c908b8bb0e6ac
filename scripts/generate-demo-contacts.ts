/**
 * Writes examples/demo/contacts.csv: 3,000 synthetic contacts, deterministic (seeded), with the
 * untidiness of a real export (national phone formats, upper-case emails, a few bad rows).
 * Run: npx tsx scripts/generate-demo-contacts.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../adapters/testing/simulated-carriers.js';

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Katherine',
  'Linus',
  'Margaret',
  'Tim',
  'Barbara',
  'Edsger',
  'Frances',
  'Dennis',
  'Radia',
  'Ken',
  'Hedy',
  'John',
  'Shafi',
  'Leslie',
  'Sophie',
  'Niklaus',
  'Joan',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Johnson',
  'Torvalds',
  'Hamilton',
  'Berners-Lee',
  'Liskov',
  'Dijkstra',
  'Allen',
  'Ritchie',
  'Perlman',
  'Thompson',
  'Lamarr',
  'McCarthy',
  'Goldwasser',
  'Lamport',
  'Wilson',
  'Wirth',
  'Clarke',
];
const AREAS = ['415', '212', '617', '312', '206', '303', '512', '919'];

const random = seededRandom(2026);
const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');

const rows = ['first_name,last_name,phone,email,grade'];
for (let i = 0; i < 3000; i++) {
  const first = pick(FIRST);
  const last = pick(LAST);
  const area = pick(AREAS);
  const exchange = `${2 + Math.floor(random() * 7)}${digits(2)}`;
  const line = digits(4);
  const style = Math.floor(random() * 4);
  const phone =
    style === 0
      ? `(${area}) ${exchange}-${line}`
      : style === 1
        ? `${area}-${exchange}-${line}`
        : style === 2
          ? `+1 ${area} ${exchange} ${line}`
          : `${area}.${exchange}.${line}`;
  const email = `${first}.${last}${i}@example.org`.replace(/[^A-Za-z0-9.@-]/g, '');
  const grade = String(1 + Math.floor(random() * 12));
  const name = random() < 0.02 ? `"${first}, Jr."` : first;
  rows.push(`${name},${last},${phone},${random() < 0.05 ? email.toUpperCase() : email},${grade}`);
}
// A few rows a real export would have: no phone, a malformed number, a duplicate.
rows.push('Nadia,Nophone,,nadia@example.org,4');
rows.push('Bad,Number,12345,bad.number@example.org,5');
rows.push(rows[1] as string);

const target = fileURLToPath(new URL('../examples/demo/contacts.csv', import.meta.url));
writeFileSync(target, `${rows.join('\r\n')}\r\n`);
console.log(`wrote ${rows.length - 1} rows to ${target}`);
