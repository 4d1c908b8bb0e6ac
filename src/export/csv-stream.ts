/**
 * Streams rows out as CSV text in chunks with csv-stringify, lazily, so an export of a million
 * messages holds one chunk at a time.
 */
import { stringify } from 'csv-stringify/sync';
import { neutralizeCell } from './neutralize-cell.js';

/** Options shared by the CSV exports. */
export interface CsvExportOptions {
  /** Neutralise formula-like text cells (see `neutralizeCell`). Turn off only for machine consumers. @defaultValue true */
  neutralize?: boolean | undefined;
  /** Rows per chunk yielded. @defaultValue 500 */
  chunkRows?: number | undefined;
}

/** A cell as the exports build it: text is neutralised, numbers are written as they are. */
export type CsvCell = string | number | null | undefined;

/** Rows given as a sync or async iterable. */
export type RowSource<T> = Iterable<T> | AsyncIterable<T>;

/** Turns rows into CSV text chunks (header first). */
export async function* csvChunks<T>(
  header: readonly string[],
  rows: RowSource<T>,
  toCells: (row: T) => CsvCell[],
  options: CsvExportOptions = {},
): AsyncGenerator<string> {
  const neutralize = options.neutralize !== false;
  const chunkRows = options.chunkRows ?? 500;
  const cast = neutralize ? { string: (value: string) => neutralizeCell(value) } : {};
  yield stringify([header.map((h) => (neutralize ? neutralizeCell(h) : h))]);
  let buffer: CsvCell[][] = [];
  for await (const row of rows) {
    buffer.push(toCells(row));
    if (buffer.length >= chunkRows) {
      yield stringify(buffer, { cast });
      buffer = [];
    }
  }
  if (buffer.length > 0) yield stringify(buffer, { cast });
}

/** An epoch-milliseconds time as ISO 8601, or an empty cell. */
export const isoTime = (ms: number | null | undefined): string | null =>
  ms == null ? null : new Date(ms).toISOString();
