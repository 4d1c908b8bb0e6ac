import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type CsvImportOptions, type ImportedContact, importContactsCsv } from '../../../src/contacts/csv-import.js';
import { isOutreachError } from '../../../src/errors.js';

const dir = fileURLToPath(new URL('../../fixtures/', import.meta.url));

interface ExpectedRejection {
  line: number;
  column: string | null;
  code: string;
  value?: string;
  reasonIncludes?: string;
}
interface Expected {
  about: string;
  options: CsvImportOptions;
  error?: { code: string; messageIncludes: string[] };
  columns?: string[];
  addressColumn?: string;
  rows?: number;
  duplicates?: number;
  rejectedCount?: number;
  imported?: [number, string, Record<string, string>?][];
  rejected?: ExpectedRejection[];
}

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.expected.json'))
  .map((f) => f.replace('.expected.json', ''))
  .sort();

describe('importContactsCsv: nasty CSV corpus', () => {
  it('should have the corpus the issue asks for', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(13);
  });

  for (const name of fixtures) {
    const expected = JSON.parse(readFileSync(`${dir}${name}.expected.json`, 'utf8')) as Expected;
    const bytes = new Uint8Array(readFileSync(`${dir}${name}.csv`));

    it(`${name}: ${expected.about}`, async () => {
      const batches: ImportedContact[][] = [];
      const run = importContactsCsv(bytes, { ...expected.options, batchSize: 2 }, async (rows) => {
        batches.push(rows);
      });
      if (expected.error) {
        const error = await run.then(
          () => null,
          (e: unknown) => e,
        );
        expect(isOutreachError(error)).toBe(true);
        expect((error as { code: string }).code).toBe(expected.error.code);
        for (const part of expected.error.messageIncludes) expect((error as Error).message).toContain(part);
        // Refused as a whole: nothing was handed over.
        expect(batches).toEqual([]);
        return;
      }
      const result = await run;
      const imported = batches.flat();
      expect(result.columns).toEqual(expected.columns);
      expect(result.addressColumn).toBe(expected.addressColumn);
      expect(imported.map((r) => [r.line, r.address])).toEqual(
        expected.imported?.map(([line, address]) => [line, address]),
      );
      for (const [line, , fields] of expected.imported ?? []) {
        if (fields) expect(imported.find((r) => r.line === line)?.fields).toEqual(fields);
      }
      expect(result.imported).toBe(imported.length);
      expect(result.rows).toBe(expected.rows);
      expect(result.duplicates).toBe(expected.duplicates);
      expect(result.rejectedCount).toBe(expected.rejectedCount);
      expect(result.imported + result.rejectedCount + result.duplicates).toBe(result.rows);
      expect(result.rejected.map(({ line, column, code, value }) => ({ line, column, code, value }))).toEqual(
        (expected.rejected ?? []).map(({ line, column, code, value }) => ({ line, column, code, value })),
      );
      (expected.rejected ?? []).forEach((want, i) => {
        if (want.reasonIncludes) expect(result.rejected[i]?.reason).toContain(want.reasonIncludes);
      });
      // Batches respect batchSize.
      for (const b of batches) expect(b.length).toBeLessThanOrEqual(2);
    });
  }
});
