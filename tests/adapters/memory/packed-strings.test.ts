/**
 * The packed string columns of the compact memory layout: any string comes back exactly as stored,
 * packed or not; equality and order on rows agree with the strings'; the row index finds what a
 * `Map` would.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PackedColumn, RowIndex } from '../../../adapters/memory/packed-strings.js';
import { createId } from '../../../src/engine/ids.js';

const ULID = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ulidChar = fc.constantFrom(...ULID.split(''));
/** Engine-shaped ids and near misses: lower-case, a first character past 7, I/L/O, wrong lengths. */
const idLike = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('msg', 'ctc', 'cmp', 'x'),
      fc.constantFrom('0', '1', '7', '8', 'Z'),
      fc.array(ulidChar, { minLength: 24, maxLength: 26 }),
    )
    .map(([p, first, rest]) => `${p}_${first}${rest.join('')}`),
  fc
    .tuple(
      fc.constantFrom('msg_', 'MSG_', 'm1_', '_'),
      fc.array(fc.constantFrom('0', 'a', 'I', 'L', 'O', 'Z'), { minLength: 26, maxLength: 26 }),
    )
    .map(([p, cs]) => p + cs.join('')),
  fc
    .tuple(
      fc.constantFrom('SM', 'MM', 'S', 'ABCD', 'ABCDE', '1S', ''),
      fc.array(fc.constantFrom(...'0123456789abcdefA'.split('')), { minLength: 31, maxLength: 33 }),
    )
    .map(([p, cs]) => p + cs.join('')),
  fc.constant(''),
  fc.string({ maxLength: 40 }),
);
const addressLike = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 16n }).map((n) => `+${n}`),
  fc.constantFrom('+0', '+', '+1', '+999999999999999', '+1234567890123456', '07400000000', 'a@b.org'),
  fc.string({ maxLength: 20 }),
);
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('PackedColumn', () => {
  it('gives back every string exactly, and compares rows as the strings compare', () => {
    for (const [kind, arb] of [
      ['id', idLike],
      ['address', addressLike],
    ] as const) {
      fc.assert(
        fc.property(fc.array(arb, { minLength: 1, maxLength: 30 }), (strings) => {
          const column = new PackedColumn(kind);
          for (const [i, s] of strings.entries()) column.set(i + 1, s);
          strings.forEach((s, i) => {
            expect(column.get(i + 1)).toBe(s);
            expect(column.rowEquals(i + 1, s)).toBe(true);
          });
          for (let i = 0; i < strings.length; i++)
            for (let j = 0; j < strings.length; j++) {
              const a = strings[i] as string;
              const b = strings[j] as string;
              expect(column.rowsEqual(i + 1, j + 1)).toBe(a === b);
              expect(column.rowEquals(i + 1, b)).toBe(a === b);
              if (kind === 'id') {
                expect(column.compareRows(i + 1, j + 1)).toBe(compare(a, b));
                expect(column.compareRowTo(i + 1, b)).toBe(compare(a, b));
              }
            }
        }),
        { numRuns: 300 },
      );
    }
  });

  it('packs the engine ids, Twilio SIDs and E.164 numbers, and keeps a row empty when told', () => {
    const ids = new PackedColumn('id');
    const id = createId('msg');
    const sid = `SM${'0123456789abcdef'.repeat(2)}`;
    ids.set(1, id);
    ids.set(2, sid);
    ids.set(3, null);
    expect([ids.get(1), ids.get(2), ids.get(3), ids.has(3), ids.rowEquals(3, null)]).toEqual([
      id,
      sid,
      undefined,
      false,
      true,
    ]);
    const addresses = new PackedColumn('address');
    addresses.set(70_000, '+447400000001');
    expect(addresses.get(70_000)).toBe('+447400000001');
    expect(addresses.get(1_000_000)).toBeUndefined();
  });
});

describe('RowIndex', () => {
  it('finds a row for a string exactly when a multiset of the rows would, through adds and removes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 12 })), {
          maxLength: 300,
        }),
        (ops) => {
          const column = new PackedColumn('id');
          const index = new RowIndex(column);
          const pool = Array.from({ length: 13 }, (_, i) => (i % 2 ? createId('msg') : `other-${i}`));
          const model = new Map<number, string>();
          for (const [add, row, value] of ops) {
            if (add && !model.has(row)) {
              const s = pool[value] as string;
              column.set(row, s);
              index.add(row);
              model.set(row, s);
            } else if (!add && model.has(row)) {
              expect(index.remove(row)).toBe(true);
              model.delete(row);
              column.set(row, undefined);
            }
            expect(index.size).toBe(model.size);
            for (const s of pool) {
              const found = index.first(s);
              const holders = [...model].filter(([, v]) => v === s).map(([r]) => r);
              if (holders.length === 0) expect(found).toBe(0);
              else expect(holders).toContain(found);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
