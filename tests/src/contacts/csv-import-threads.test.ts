import { describe, expect, it } from 'vitest';
import { type CsvImportOptions, type ImportedContact, importContactsCsv } from '../../../src/contacts/csv-import.js';
import { checkPhonesHere, startPhonePool } from '../../../src/contacts/phone-pool.js';

/**
 * A file with every kind of row, spread so that each piece the reader hands over (64K characters)
 * mixes them: good numbers in national and international form, bad ones, other countries,
 * duplicates within the file, short and long rows, bad cells, blank rows, cells across lines, and an
 * unclosed quote at the end.
 */
function mixedCsv(rows: number): string {
  const lines = ['name,phone,note'];
  for (let i = 0; i < rows; i++) {
    const n = String(i % 9_000).padStart(6, '0');
    switch (i % 17) {
      case 0:
        lines.push(`Bad${i},07400 12,short number`);
        break;
      case 1:
        lines.push(`Fr${i},+33 6 12 ${n.slice(0, 2)} ${n.slice(2, 4)} ${n.slice(4)},other country`);
        break;
      case 2:
        lines.push(`Short${i},07400${n}`);
        break;
      case 3:
        lines.push(`Long${i},07400${n},x,extra`);
        break;
      case 4:
        lines.push(',,');
        break;
      case 5:
        lines.push(`"Multi\nline ${i}",+44 7400 ${n},"note\r\nacross lines"`);
        break;
      case 6:
        lines.push(`Nul${i},07400${n},bad\u0000cell`);
        break;
      case 7:
        lines.push(`Empty${i},,no phone`);
        break;
      case 8:
        lines.push(`Letters${i},call me,letters`);
        break;
      default:
        lines.push(`Name${i},0740${String(i % 12_000).padStart(7, '0')},ok ${i}`);
    }
  }
  lines.push('Unclosed,"07400 000001,never closed');
  return `${lines.join('\n')}\n`;
}

async function run(source: string, options: CsvImportOptions) {
  const batches: ImportedContact[][] = [];
  const result = await importContactsCsv(source, options, async (batch) => {
    batches.push(batch);
  });
  return { result, batches };
}

const OPTIONS: CsvImportOptions = {
  channel: 'sms',
  defaultCountry: 'GB',
  allowedCountries: ['GB', 'IE'],
  batchSize: 700,
};

describe('importContactsCsv: numbers checked on worker threads', () => {
  it('should give a pool of workers the same checks as the calling thread', async () => {
    const pool = await startPhonePool(2, { defaultCountry: 'GB', allowedCountries: ['GB'] });
    expect(pool?.threads).toBe(2);
    try {
      const raws = ['07400 000001', '+33 6 12 34 56 78', 'call me', '07400 12', '+44 7400 000002'];
      const [a, b] = await Promise.all([pool?.check(raws), pool?.check(raws.slice().reverse())]);
      expect(a).toEqual(checkPhonesHere(raws, { defaultCountry: 'GB', allowedCountries: ['GB'] }));
      expect(b).toEqual(checkPhonesHere(raws.slice().reverse(), { defaultCountry: 'GB', allowedCountries: ['GB'] }));
      expect(typeof a?.[0]).toBe('string');
      expect(a?.[1]).toMatchObject({ reason: 'unsupported_country' });
    } finally {
      await pool?.close();
    }
  });

  it('should reject the batches of a worker that fails (the import then checks them itself), not hang or end the process', async () => {
    // An unknown default country makes every check throw inside the workers.
    const pool = await startPhonePool(2, { defaultCountry: 'XX' as never });
    try {
      await expect(pool?.check(['07400 000001'])).rejects.toBeDefined();
      await expect(pool?.check(['07400 000002'])).rejects.toBeDefined();
    } finally {
      await pool?.close();
    }
  });

  it('should import the same rows, refusals, lines and batches, in the same order, on 1 and on 2 threads', async () => {
    const csv = mixedCsv(12_000);
    const one = await run(csv, { ...OPTIONS, threads: 1 });
    const two = await run(csv, { ...OPTIONS, threads: 2 });
    // Every kind of row happened.
    const codes = new Set(one.result.rejected.map((r) => r.code));
    expect([...codes].sort()).toEqual(
      ['duplicate', 'invalid_cell', 'invalid_number', 'malformed_row', 'missing_address', 'unsupported_country'].sort(),
    );
    expect(one.result.imported).toBeGreaterThan(3_000);
    expect(one.result.truncated).toBe(false);
    expect(two.result).toEqual(one.result);
    expect(two.batches).toEqual(one.batches);
  });

  it('should agree when it switches to threads part way (the default) and with duplicates already in the campaign', async () => {
    const csv = mixedCsv(20_000);
    const existing = async (addresses: string[]) => new Set(addresses.filter((a) => a.endsWith('7')));
    const one = await run(csv, { ...OPTIONS, existing, threads: 1 });
    const auto = await run(csv, { ...OPTIONS, existing });
    expect(auto.result).toEqual(one.result);
    expect(auto.batches).toEqual(one.batches);
  });

  it('should stop at maxRows after handing over the same batches', async () => {
    const csv = mixedCsv(12_000);
    const outcome = async (threads: number) => {
      const batches: number[][] = [];
      const error = await importContactsCsv(csv, { ...OPTIONS, maxRows: 9_000, threads }, async (batch) => {
        batches.push(batch.map((r) => r.line));
      }).catch((e: unknown) => e);
      return { error, batches };
    };
    const one = await outcome(1);
    const two = await outcome(2);
    expect(one.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(two).toEqual(one);
  });

  it('should refuse a thread count that is not a whole number from 1 to 256', async () => {
    for (const threads of [0, 1.5, 257]) {
      await expect(run('phone\n07400000001\n', { ...OPTIONS, threads })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    }
  });
});
