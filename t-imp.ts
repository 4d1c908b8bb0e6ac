import { importContactsCsv } from './src/contacts/csv-import.js';

const chunks: string[] = [];
let c = 'a,b,phone\n';
for (let i = 0; i < 60000; i++) {
  c += `x,y,0740${String(i).padStart(7, '0')}\n`;
  if (c.length > 65536) {
    chunks.push(c);
    c = '';
  }
}
chunks.push(c);
for (const threads of [1, undefined]) {
  const t = performance.now();
  await importContactsCsv(chunks, { channel: 'sms', defaultCountry: 'GB', threads }, async () => {});
  console.log(threads, performance.now() - t);
}
