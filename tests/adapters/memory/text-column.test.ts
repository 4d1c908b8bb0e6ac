/** The log's detail column: every text comes back, past the 65,534 numbered ones too, and rows clear. */
import { describe, expect, it } from 'vitest';
import { TextColumn } from '../../../adapters/memory/columns.js';

describe('TextColumn', () => {
  it('gives back each row its text, numbered or kept per row once the numbers run out', () => {
    const column = new TextColumn();
    const rows = 70_000;
    for (let i = 1; i <= rows; i++) column.set(i, i % 3 === 0 ? '{}' : i % 3 === 1 ? `{"n":${i}}` : undefined);
    for (let i = 1; i <= rows; i++)
      expect(column.get(i)).toBe(i % 3 === 0 ? '{}' : i % 3 === 1 ? `{"n":${i}}` : undefined);
    // A row past the numbered texts, cleared and written again.
    column.set(rows - 2, undefined);
    expect(column.get(rows - 2)).toBeUndefined();
    column.set(rows - 2, '{}');
    expect(column.get(rows - 2)).toBe('{}');
    column.set(rows + 1, '{"late":1}');
    expect(column.get(rows + 1)).toBe('{"late":1}');
  });
});
