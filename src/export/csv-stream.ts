/**
 * Streams rows out as CSV text (RFC 4180: `,` between cells, `\n` after each row, a cell holding
 * `"`, `,`, CR or LF quoted with its quotes doubled) in chunks, lazily, so an export of a million
 * messages holds one chunk at a time. Written here rather than with csv-stringify, which needs
 * Node's `Buffer` when it loads: the exports run on any runtime.
 */
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
  const line = (cells: readonly CsvCell[]) => {
    let out = '';
    for (let i = 0; i < cells.length; i++) {
      if (i > 0) out += ',';
      out += csvCell(cells[i], neutralize);
    }
    return `${out}\n`;
  };
  yield line(header);
  let chunk = '';
  let count = 0;
  for await (const row of rows) {
    chunk += line(toCells(row));
    if (++count >= chunkRows) {
      yield chunk;
      chunk = '';
      count = 0;
    }
  }
  if (count > 0) yield chunk;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One cell as CSV: empty for null, numbers as written, text neutralised (unless turned off) and quoted when needed. */
function csvCell(cell: CsvCell, neutralize: boolean): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') return String(cell);
  const text = neutralize ? neutralizeCell(cell) : cell;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** An epoch-milliseconds time as ISO 8601, or an empty cell. */
export const isoTime = (ms: number | null | undefined): string | null =>
  ms == null ? null : new Date(ms).toISOString();
