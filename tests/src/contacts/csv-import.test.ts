import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ImportedContact, importContactsCsv, MAX_REPORTED_REJECTIONS } from '../../../src/contacts/csv-import.js';
import { normalizeEmail } from '../../../src/contacts/email.js';
import { isOutreachError } from '../../../src/errors.js';

const collect = () => {
  const rows: ImportedContact[] = [];
  return { rows, onBatch: async (batch: ImportedContact[]) => void rows.push(...batch) };
};

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    if (isOutreachError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

const CSV = 'name,email\r\nAnn,ann@example.org\r\nBen,"ben@example.org"\r\nCé,"ce@example.org"\r\n';

describe('importContactsCsv: sources', () => {
  const bytes = new TextEncoder().encode(CSV);
  // Chunks of 3 bytes split CRLFs, quotes and the two bytes of "é".
  const pieces = () => Array.from({ length: Math.ceil(bytes.length / 3) }, (_, i) => bytes.slice(i * 3, i * 3 + 3));
  const sources: [string, () => unknown][] = [
    ['a string', () => CSV],
    ['a Uint8Array', () => bytes],
    ['a Node Readable of small chunks', () => Readable.from(pieces().map((p) => Buffer.from(p)))],
    [
      'a web ReadableStream of small chunks',
      () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const p of pieces()) controller.enqueue(p);
            controller.close();
          },
        }),
    ],
    [
      'an async iterable of strings',
      () =>
        (async function* () {
          for (let i = 0; i < CSV.length; i += 5) yield CSV.slice(i, i + 5);
        })(),
    ],
  ];
  for (const [label, make] of sources) {
    it(`should read ${label}`, async () => {
      const { rows, onBatch } = collect();
      const r = await importContactsCsv(make() as string, { channel: 'email' }, onBatch);
      expect(r.imported).toBe(3);
      expect(rows.map((x) => [x.line, x.address, x.fields.name])).toEqual([
        [2, 'ann@example.org', 'Ann'],
        [3, 'ben@example.org', 'Ben'],
        [4, 'ce@example.org', 'Cé'],
      ]);
    });
  }
});

describe('importContactsCsv: duplicates, batches and limits', () => {
  it('should drop addresses already in the campaign, asking once per batch', async () => {
    const asked: string[][] = [];
    const { rows, onBatch } = collect();
    const r = await importContactsCsv(
      CSV,
      {
        channel: 'email',
        batchSize: 2,
        existing: async (addresses) => {
          asked.push(addresses);
          return new Set(addresses.filter((a) => a === 'ben@example.org'));
        },
      },
      onBatch,
    );
    expect(asked).toEqual([['ann@example.org', 'ben@example.org'], ['ce@example.org']]);
    expect(rows.map((x) => x.address)).toEqual(['ann@example.org', 'ce@example.org']);
    expect(r).toMatchObject({ imported: 2, duplicates: 1, rejectedCount: 0, rows: 3 });
    expect(r.rejected).toEqual([
      expect.objectContaining({
        line: 3,
        code: 'duplicate',
        reason: expect.stringContaining('already in the campaign'),
      }),
    ]);
  });

  it('should wait for each batch before handing over the next (backpressure)', async () => {
    const body = Array.from({ length: 50 }, (_, i) => `p${i}@example.org`).join('\n');
    let inFlight = 0;
    let maxInFlight = 0;
    const sizes: number[] = [];
    await importContactsCsv(`email\n${body}\n`, { channel: 'email', batchSize: 7 }, async (batch) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      sizes.push(batch.length);
      await new Promise<void>((resolve) => setImmediate(resolve));
      inFlight--;
    });
    expect(maxInFlight).toBe(1);
    expect(sizes).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
  });

  it('should list at most MAX_REPORTED_REJECTIONS rejected rows and count them all', async () => {
    const bad = MAX_REPORTED_REJECTIONS + 5;
    const csv = `email\n${'not-an-email\n'.repeat(bad)}ok@example.org\n`;
    const { rows, onBatch } = collect();
    const r = await importContactsCsv(csv, { channel: 'email' }, onBatch);
    expect(r.rejected).toHaveLength(MAX_REPORTED_REJECTIONS);
    expect(r).toMatchObject({ rejectedCount: bad, truncated: true, imported: 1, rows: bad + 1 });
    expect(rows).toHaveLength(1);
  });

  it('should refuse a file above maxRows with PAYLOAD_TOO_LARGE', async () => {
    const e = await refusal(importContactsCsv(CSV, { channel: 'email', maxRows: 2 }, async () => {}));
    expect(e.code).toBe('PAYLOAD_TOO_LARGE');
    expect(e.message).toContain('more than 2 data rows');
  });

  it('should use the addressColumn option, matched without case', async () => {
    const { rows, onBatch } = collect();
    await importContactsCsv(
      'Name,Work Mail,Home\nAnn,ann@work.org,ann@home.org\n',
      { channel: 'email', addressColumn: 'work mail' },
      onBatch,
    );
    expect(rows[0]?.address).toBe('ann@work.org');
  });

  it('should refuse a header that names a column twice, before importing anything', async () => {
    const { rows, onBatch } = collect();
    const e = await refusal(importContactsCsv('email,name,name\na@b.org,x,y\n', { channel: 'email' }, onBatch));
    expect(e.code).toBe('CSV_INVALID');
    expect(e.message).toContain('"name" twice');
    expect(rows).toEqual([]);
  });

  it('should refuse bad options with VALIDATION_FAILED', async () => {
    expect((await refusal(importContactsCsv(CSV, { channel: 'email', batchSize: 0 }, async () => {}))).code).toBe(
      'VALIDATION_FAILED',
    );
    expect(
      (await refusal(importContactsCsv(CSV, { channel: 'sms', allowedCountries: ['ZZ' as 'GB'] }, async () => {})))
        .code,
    ).toBe('VALIDATION_FAILED');
  });
});

describe('importContactsCsv: properties', () => {
  const quote = (v: string) => (/[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v);
  const address = fc.oneof(
    fc.constantFrom(
      'ann@example.org',
      'ANN@example.org',
      ' ben@example.org',
      'cat@example.org',
      'x@y',
      '',
      'no at',
      'a"b@c.org',
    ),
    fc.emailAddress(),
  );
  const cell = fc.string({ maxLength: 8 });
  const row = fc.tuple(address, cell, cell);

  it('should account for every data row: imported + rejected + duplicates = rows, and lose no accepted row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 40 }),
        fc.constantFrom('\n', '\r\n'),
        fc.integer({ min: 1, max: 5 }),
        async (rows, eol, batchSize) => {
          const dataRows = rows.filter(([a, b, c]) => [a, b, c].some((v) => v.trim() !== ''));
          const csv = `email,note,other${eol}${rows.map((r) => r.map(quote).join(',')).join(eol)}${eol}`;
          const { rows: got, onBatch } = collect();
          const r = await importContactsCsv(csv, { channel: 'email', batchSize }, onBatch);
          expect(r.rows).toBe(dataRows.length);
          expect(r.imported + r.rejectedCount + r.duplicates).toBe(dataRows.length);
          expect(got).toHaveLength(r.imported);
          expect(new Set(got.map((g) => g.address)).size).toBe(got.length);
          // Every row whose address is valid and new is among the accepted rows, in order.
          const seen = new Set<string>();
          const want: string[] = [];
          for (const [a] of dataRows) {
            const n = normalizeEmail(a);
            if (!n.ok || seen.has(n.email)) continue;
            seen.add(n.email);
            want.push(n.email);
          }
          expect(got.map((g) => g.address)).toEqual(want);
        },
      ),
      { seed: 20240601, numRuns: 150 },
    );
  });
});
