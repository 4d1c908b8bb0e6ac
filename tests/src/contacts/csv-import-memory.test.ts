import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { importContactsCsv } from '../../../src/contacts/csv-import.js';

const ROWS = 200_000;

function* generatedCsv(): Generator<string> {
  yield 'first_name,last_name,phone,notes\n';
  let chunk = '';
  for (let i = 0; i < ROWS; i++) {
    // Distinct valid GB mobiles: 07400 000000 + i.
    chunk += `Name${i},Surname${i},0740${String(i).padStart(7, '0')},"note, with comma ${i}"\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

// A real collection before each sample, so the figure is memory kept, not garbage not yet swept.
// global.gc exists under --expose-gc; otherwise V8 can hand it out at run time.
function collector(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = collector();

describe('importContactsCsv: bounded memory', () => {
  it('should stream 200k generated rows with bounded heap growth', async () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let imported = 0;
    let batches = 0;
    const r = await importContactsCsv(
      Readable.from(generatedCsv()),
      { channel: 'sms', defaultCountry: 'GB' },
      async (batch) => {
        imported += batch.length;
        if (++batches % 25 === 0) {
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed);
        }
      },
    );
    expect(r).toMatchObject({ imported: ROWS, rows: ROWS, rejectedCount: 0, duplicates: 0 });
    expect(imported).toBe(ROWS);
    // The file is ~14 MB of text and 200k row objects would be far more; what grows is the set of
    // seen addresses (~60 bytes each, ~12 MiB here).
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
