/**
 * Streaming CSV import of contacts: csv-parse reads the file record by record, each row's address
 * is normalised, duplicates are dropped, bad rows are reported with their line, and good rows go to
 * the caller in awaited batches, so a file of a million rows never sits in memory.
 *
 * Runtime-neutral: no Node built-in and no Node global. Chunks are decoded with `TextDecoder` and fed
 * to csv-parse, loaded on the first import so that loading the library does not pay for the parser:
 * `#csv-parse` (package.json "imports") is csv-parse itself where the `node` condition holds (Node, Bun,
 * Deno), and its platform-neutral build (`csv-parse/browser/esm`, which carries its own `Buffer`)
 * everywhere else.
 */
import type { InfoRecord, Options } from '#csv-parse';
import { OutreachError } from '../errors.js';
import { LIMITS } from '../limits.js';
import type { Channel } from '../statuses.js';
import { textProblem } from '../validation.js';
import { normalizeEmail } from './email.js';
import { assertCountryCodes, type CountryCode, normalizePhone } from './phone.js';

/**
 * Where a CSV comes from: text, bytes, a web `ReadableStream`, or any (async) iterable of text or
 * byte chunks; a Node `Readable` (e.g. `fs.createReadStream(path)`) is an async iterable of bytes.
 * Bytes are read as UTF-8.
 */
export type CsvSource =
  | string
  | Uint8Array
  | ReadableStream<string | Uint8Array>
  | AsyncIterable<string | Uint8Array>
  | Iterable<string | Uint8Array>;

/** Options of {@link importContactsCsv}. */
export interface CsvImportOptions {
  /** The campaign's channel: `sms` normalises phone numbers, `email` email addresses. */
  channel: Channel;
  /**
   * Header of the address column, matched without case. By default the first of `phone`, `mobile`,
   * `phone_number`, `mobile_number`, `cell`, `telephone`, `tel`, `msisdn` (SMS) or `email`,
   * `e-mail`, `email_address`, `mail` (email); spaces, `_` and `-` are ignored when matching.
   */
  addressColumn?: string | undefined;
  /** Country assumed for national phone formats. */
  defaultCountry?: CountryCode | undefined;
  /** Countries whose numbers are accepted; others are rejected as `unsupported_country`. */
  allowedCountries?: readonly CountryCode[] | undefined;
  /** Rows per `onBatch` call. @defaultValue 1000 */
  batchSize?: number | undefined;
  /** Refuse files with more data rows than this (`PAYLOAD_TOO_LARGE`). */
  maxRows?: number | undefined;
  /**
   * Which of these normalised addresses the campaign already holds (from earlier imports); they
   * are dropped as duplicates. Called once per batch.
   */
  existing?: ((addresses: string[]) => Promise<ReadonlySet<string>>) | undefined;
  /**
   * Normalises one address cell (already checked non-empty) instead of the built-in rules
   * (libphonenumber-js with `defaultCountry`/`allowedCountries`, or the email check): the engine
   * passes its `ContentRenderer`'s `normalizeAddress` here, so a custom renderer applies to CSV
   * imports as it does to `addContacts`. A refusal without a `reason` is reported as
   * `invalid_number` (SMS) or `invalid_email` (email), with the normaliser's message.
   */
  normalizeAddress?: ((raw: string) => AddressCheck) | undefined;
}

/** What an address normaliser says about one cell: the normalised address, or why it is refused. */
export type AddressCheck =
  | { ok: true; address: string }
  | { ok: false; message: string; reason?: AddressRejection | undefined };

/** The rejection codes an address normaliser may give. */
export type AddressRejection = 'invalid_number' | 'unsupported_country' | 'invalid_email';

/** One good row. */
export interface ImportedContact {
  /** Normalised address: E.164 or lower-cased email. */
  address: string;
  /** Every named column of the row, by trimmed header, as written in the file. */
  fields: Record<string, string>;
  /** Physical line of the file where the row starts (1-based, the header is line 1). */
  line: number;
}

/** Why a row was refused. */
export type RejectionCode =
  | 'invalid_number'
  | 'unsupported_country'
  | 'invalid_email'
  | 'missing_address'
  | 'malformed_row'
  | 'invalid_cell'
  | 'duplicate';

/** One refused row. */
export interface RejectedRow {
  /** Physical line where the row starts (for an unparseable row, where the parser gave up). */
  line: number;
  /** The column at fault, or null when the whole row is. */
  column: string | null;
  /** A sentence a person can act on. */
  reason: string;
  code: RejectionCode;
  /** The offending cell, as written. */
  value?: string;
}

/** What an import did. */
export interface CsvImportResult {
  /** Rows handed to `onBatch`. */
  imported: number;
  /** Rows dropped because their address appeared earlier in the file or is already in the campaign. */
  duplicates: number;
  /**
   * Refused rows in file order, duplicates included (code `duplicate`), at most
   * {@link MAX_REPORTED_REJECTIONS} entries; `truncated` says when more were left out.
   */
  rejected: RejectedRow[];
  /** Rows refused as invalid (duplicates not included): `imported + rejectedCount + duplicates = rows`. */
  rejectedCount: number;
  /** Data rows read (empty and all-blank lines are not rows). */
  rows: number;
  /** Whether `rejected` was cut at {@link MAX_REPORTED_REJECTIONS}. */
  truncated: boolean;
  /** The header, trimmed, in file order. */
  columns: string[];
  /** The header of the address column. */
  addressColumn: string;
}

/** The most rejected rows an import lists (all are counted). */
export const MAX_REPORTED_REJECTIONS = 10_000;

const ADDRESS_ALIASES: Record<Channel, readonly string[]> = {
  sms: [
    'phone',
    'mobile',
    'phonenumber',
    'mobilenumber',
    'mobilephone',
    'cell',
    'cellphone',
    'telephone',
    'tel',
    'msisdn',
  ],
  email: ['email', 'emailaddress', 'mail'],
};

const headerKey = (name: string) => name.toLowerCase().replace(/[\s_-]+/g, '');

// Control characters other than tab, CR and LF: a header holding them is a binary file, not CSV.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is exactly what it looks for
const BINARY = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

function findAddressColumn(columns: readonly string[], options: CsvImportOptions): number {
  const keys = columns.map(headerKey);
  const wanted =
    options.addressColumn === undefined ? ADDRESS_ALIASES[options.channel] : [headerKey(options.addressColumn)];
  for (const key of wanted) {
    const index = keys.indexOf(key);
    if (index !== -1) return index;
  }
  const expected =
    options.addressColumn === undefined
      ? `"${options.channel === 'sms' ? 'phone' : 'email'}" column (or one of: ${ADDRESS_ALIASES[options.channel].join(', ')})`
      : `"${options.addressColumn}" column`;
  throw new OutreachError(
    'CSV_INVALID',
    `The CSV header has no ${expected}. Columns found: ${columns.map((c) => `"${c}"`).join(', ') || 'none'}. ` +
      'Rename the address column or pass addressColumn.',
    { details: { expected: options.addressColumn ?? wanted[0], columns: [...columns] } },
  );
}

function checkHeader(record: string[]): string[] {
  const columns = record.map((c) => c.trim());
  if (columns.some((c) => BINARY.test(c))) {
    throw new OutreachError('CSV_INVALID', 'The file is not a CSV text file (its first line holds binary data).', {
      details: { reason: 'binary' },
    });
  }
  if (columns.length > LIMITS.fieldsPerContact) {
    throw new OutreachError(
      'CSV_INVALID',
      `The CSV header has ${columns.length} columns; a contact holds at most ${LIMITS.fieldsPerContact} fields.`,
      { details: { reason: 'columns', max: LIMITS.fieldsPerContact } },
    );
  }
  const seen = new Set<string>();
  for (const c of columns) {
    if (c.length > LIMITS.fieldNameLength) {
      throw new OutreachError(
        'CSV_INVALID',
        `The CSV header has a column name of ${c.length} characters; names are at most ${LIMITS.fieldNameLength}.`,
        { details: { reason: 'column_name', max: LIMITS.fieldNameLength } },
      );
    }
    if (c === '') continue;
    if (c === '__proto__')
      throw new OutreachError('CSV_INVALID', 'The CSV header has a column named "__proto__"; rename it.');
    if (seen.has(c)) {
      throw new OutreachError(
        'CSV_INVALID',
        `The CSV header names the column "${c}" twice; every column needs its own name.`,
        {
          details: { columns },
        },
      );
    }
    seen.add(c);
  }
  return columns;
}

function validateOptions(options: CsvImportOptions): void {
  const { batchSize, maxRows } = options;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
    throw new OutreachError('VALIDATION_FAILED', `batchSize must be a positive whole number, got ${batchSize}.`);
  }
  if (maxRows !== undefined && (!Number.isInteger(maxRows) || maxRows < 0)) {
    throw new OutreachError('VALIDATION_FAILED', `maxRows must be a whole number of at least 0, got ${maxRows}.`);
  }
  assertCountryCodes([
    ...(options.defaultCountry ? [options.defaultCountry] : []),
    ...(options.allowedCountries ?? []),
  ]);
}

// Text is fed to the parser in pieces of at most this many characters, so that one huge string or
// byte chunk does not turn into one huge array of records.
const PIECE = 64 * 1024;

/** Splits text into pieces of at most {@link PIECE} characters, never between the halves of a surrogate pair. */
function* piecesOf(text: string): Generator<string> {
  let start = 0;
  while (text.length - start > PIECE) {
    let end = start + PIECE;
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end--;
    yield text.slice(start, end);
    start = end;
  }
  if (start < text.length) yield start === 0 ? text : text.slice(start);
}

/** The source as text pieces: bytes are decoded as UTF-8, a multi-byte character split across chunks included. */
async function* textOf(source: CsvSource): AsyncGenerator<string> {
  if (typeof source === 'string') {
    yield* piecesOf(source);
    return;
  }
  const decoder = new TextDecoder('utf-8');
  const decode = (bytes: Uint8Array) => {
    const pieces: string[] = [];
    for (let at = 0; at < bytes.byteLength; at += PIECE) {
      pieces.push(decoder.decode(bytes.subarray(at, at + PIECE), { stream: true }));
    }
    return pieces;
  };
  if (source instanceof Uint8Array) {
    yield* decode(source);
    yield decoder.decode();
    return;
  }
  let iterable: AsyncIterable<unknown> | Iterable<unknown>;
  if (typeof (source as ReadableStream).getReader === 'function' && !(Symbol.asyncIterator in source)) {
    const reader = (source as ReadableStream<string | Uint8Array>).getReader();
    iterable = {
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            yield value;
          }
        } finally {
          reader.releaseLock();
        }
      },
    };
  } else {
    iterable = source as AsyncIterable<unknown>;
  }
  for await (const chunk of iterable) {
    if (typeof chunk === 'string') yield* piecesOf(chunk);
    else if (chunk instanceof Uint8Array) yield* decode(chunk);
    else throw new OutreachError('CSV_INVALID', 'The CSV source yielded a chunk that is neither text nor bytes.');
  }
  yield decoder.decode();
}

/**
 * The part of csv-parse's `Parser` used here. Text goes in through `write` (which turns it into the
 * build's own `Buffer` and parses it synchronously); records come out through the `on_record` and
 * `on_skip` callbacks, in file order; the end of input goes straight to the parser core, because the
 * platform-neutral build's stream `end()` calls a `destroy` its stream shim lacks.
 */
interface CsvParser {
  write(text: string): boolean;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  api: {
    parse(text: undefined, end: true, push: (item: unknown) => void, close: () => void): Error | undefined;
  };
}

/** What the reader gives, in file order: a record and the physical line it starts on, or a row it could not read. */
type ParsedItem = { record: string[]; line: number; skipped?: undefined } | { skipped: RejectedRow };

/** Turns text into records: `write` returns the items a piece of text completes, `end` the last ones. */
interface CsvReader {
  write(text: string): ParsedItem[];
  end(): ParsedItem[];
}

/** The sentence for a row csv-parse could not read. */
function unreadableRow(line: number, code: string | undefined): RejectedRow {
  return {
    line,
    column: null,
    code: 'malformed_row',
    reason:
      code === 'CSV_QUOTE_NOT_CLOSED'
        ? 'A quoted cell that starts on this row is never closed, so the rest of the file was read as one cell: close the quote.'
        : `The row cannot be read as CSV (${code ?? 'parse error'}); check its quotes.`,
  };
}

/**
 * csv-parse set up for contacts (BOM stripped, cells trimmed, empty lines and unreadable rows
 * skipped), giving each record with the physical line it starts on and each unreadable row in its
 * place. csv-parse is loaded on the first import.
 */
async function createCsvReader(): Promise<CsvReader> {
  // csv-parse counts a CRLF inside a quoted field as two lines; `crlfSeen` undoes that.
  let crlfSeen = 0;
  // End line and empty-line count of the last record read: a row the parser skips starts after them.
  let lastEnd = 0;
  let lastEmpty = 0;
  let out: ParsedItem[] = [];
  let failure: { error: unknown } | null = null;
  const onRecord = (record: string[], context: InfoRecord) => {
    const { breaks, crlf } = breaksIn(record);
    crlfSeen += crlf;
    lastEnd = context.lines - crlfSeen;
    lastEmpty = context.empty_lines;
    out.push({ record, line: lastEnd - breaks });
    // Nothing goes to the stream: every record is taken here, in order with the skips.
    return undefined;
  };
  const onSkip = (error: { code?: string; empty_lines?: number } | undefined) => {
    if (error === undefined) return undefined;
    out.push({ skipped: unreadableRow(lastEnd + 1 + (error.empty_lines ?? lastEmpty) - lastEmpty, error.code) });
    return undefined;
  };
  const { Parser } = await import('#csv-parse');
  const parser = new Parser({
    bom: true,
    // csv-parse types on_record as returning a record; it accepts undefined (the record is dropped).
    on_record: onRecord as unknown as Options['on_record'],
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    trim: true,
    on_skip: onSkip,
  }) as unknown as CsvParser;
  parser.on('error', (error) => {
    failure = { error };
  });
  const take = () => {
    const items = out;
    out = [];
    return items;
  };
  return {
    write(text) {
      parser.write(text);
      if (failure) throw (failure as { error: unknown }).error;
      return take();
    },
    end() {
      const error = parser.api.parse(
        undefined,
        true,
        () => {},
        () => {},
      );
      if (error !== undefined) throw error;
      return take();
    },
  };
}

/**
 * Reads the source piece by piece: each text piece is written to the parser and the items it
 * completes are yielded (and handled by the caller) before the next piece is read, so a slow
 * consumer slows the reader and memory holds one piece's records at most. Stopping early (a bad
 * header, `maxRows`) just drops the parser: it holds nothing to release.
 */
async function* parsedPieces(source: CsvSource, reader: CsvReader): AsyncGenerator<ParsedItem[]> {
  for await (const text of textOf(source)) {
    if (text === '') continue;
    const items = reader.write(text);
    if (items.length > 0) yield items;
  }
  const last = reader.end();
  if (last.length > 0) yield last;
}

/** The first cell no contact field may hold (a NUL, or more than LIMITS.fieldValueLength characters), and why. */
function badCell(header: readonly string[], record: readonly string[]): { column: string; reason: string } | null {
  for (let i = 0; i < header.length; i++) {
    const value = record[i] as string;
    const column = header[i] as string;
    if (value.length > LIMITS.fieldValueLength) {
      return {
        column,
        reason: `The "${column}" cell has ${value.length} characters; a cell holds at most ${LIMITS.fieldValueLength}.`,
      };
    }
    const problem = textProblem(value);
    if (problem) return { column, reason: `The "${column}" cell ${problem}; remove it and import the row again.` };
  }
  return null;
}

/** Counts physical line breaks (CRLF, LF or CR) inside a record's fields, and the CRLFs among them. */
function breaksIn(record: readonly string[]): { breaks: number; crlf: number } {
  let breaks = 0;
  let crlf = 0;
  for (const field of record) {
    if (field.indexOf('\n') === -1 && field.indexOf('\r') === -1) continue;
    for (let i = 0; i < field.length; i++) {
      const ch = field.charCodeAt(i);
      if (ch === 13) {
        breaks++;
        if (field.charCodeAt(i + 1) === 10) {
          crlf++;
          i++;
        }
      } else if (ch === 10) breaks++;
    }
  }
  return { breaks, crlf };
}

/** The header row, checked, and where its address column is. */
interface Table {
  readonly header: string[];
  readonly addressIndex: number;
  readonly addressColumn: string;
}

function readHeader(record: string[], options: CsvImportOptions): Table {
  const header = checkHeader(record);
  const addressIndex = findAddressColumn(header, options);
  return { header, addressIndex, addressColumn: header[addressIndex] as string };
}

/**
 * The checks of a data row before its address: the right number of cells, no cell a contact field
 * cannot hold, an address. Returns the refusal, `blank` for a row of empty cells (spreadsheets leave
 * them at the end; it is not a row), or the raw address cell.
 */
function checkRow(table: Table, record: readonly string[], line: number): RejectedRow | 'blank' | string {
  const { header, addressIndex, addressColumn: column } = table;
  if (record.length < header.length) {
    return {
      line,
      column: header[record.length] ?? null,
      code: 'malformed_row',
      reason: `The row has ${record.length} cells but the header has ${header.length}: "${header[record.length]}" and later columns are missing.`,
    };
  }
  if (record.length > header.length && record.slice(header.length).some((v) => v !== '')) {
    return {
      line,
      column: null,
      code: 'malformed_row',
      reason: `The row has ${record.length} cells but the header has ${header.length}; quote cells that contain commas.`,
    };
  }
  const bad = badCell(header, record);
  if (bad) return { line, column: bad.column, code: 'invalid_cell', reason: bad.reason };
  const raw = record[addressIndex] as string;
  if (raw !== '') return raw;
  if (record.every((v) => v === '')) return 'blank';
  return { line, column, code: 'missing_address', reason: `The "${column}" cell is empty.` };
}

/** The built-in address rules: libphonenumber-js for SMS, the email check for email. */
function builtInNormalizer(options: CsvImportOptions): (raw: string) => AddressCheck {
  if (options.channel === 'email') {
    return (raw) => {
      const r = normalizeEmail(raw);
      return r.ok ? { ok: true, address: r.email } : { ok: false, message: r.message, reason: r.reason };
    };
  }
  const phoneOptions = { defaultCountry: options.defaultCountry, allowedCountries: options.allowedCountries };
  return (raw) => {
    const r = normalizePhone(raw, phoneOptions);
    return r.ok ? { ok: true, address: r.e164 } : { ok: false, message: r.message, reason: r.reason };
  };
}

/** The fields of a good row: every named column, as written. */
function fieldsOf(header: readonly string[], record: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < header.length; i++) {
    const name = header[i] as string;
    if (name !== '') fields[name] = record[i] as string;
  }
  return fields;
}

/** The result being built, and how a refused row is counted and listed. */
function createTally(): { result: CsvImportResult; report(row: RejectedRow): void } {
  const result: CsvImportResult = {
    imported: 0,
    duplicates: 0,
    rejected: [],
    rejectedCount: 0,
    rows: 0,
    truncated: false,
    columns: [],
    addressColumn: '',
  };
  const report = (row: RejectedRow) => {
    if (row.code === 'duplicate') result.duplicates++;
    else result.rejectedCount++;
    if (result.rejected.length < MAX_REPORTED_REJECTIONS) result.rejected.push(row);
    else result.truncated = true;
  };
  return { result, report };
}

/**
 * Collects good rows into batches of `batchSize`; `flush` drops those the campaign already holds
 * (`existing`), reports them as duplicates, and awaits `onBatch` with the rest.
 */
function createBatcher(
  options: CsvImportOptions,
  tally: ReturnType<typeof createTally>,
  onBatch: (rows: ImportedContact[]) => Promise<void>,
) {
  const batchSize = options.batchSize ?? 1000;
  const { existing } = options;
  const { result, report } = tally;
  let batch: ImportedContact[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    let rows = batch;
    batch = [];
    if (existing) {
      const known = await existing(rows.map((r) => r.address));
      if (known.size > 0) {
        const kept: ImportedContact[] = [];
        for (const row of rows) {
          if (known.has(row.address)) {
            report({
              line: row.line,
              column: result.addressColumn,
              code: 'duplicate',
              reason: `${row.address} is already in the campaign.`,
              value: row.fields[result.addressColumn] ?? row.address,
            });
          } else kept.push(row);
        }
        rows = kept;
      }
    }
    if (rows.length === 0) return;
    await onBatch(rows);
    result.imported += rows.length;
  };
  return {
    /** Adds a row; true when the batch is full and should be flushed. */
    add(row: ImportedContact): boolean {
      batch.push(row);
      return batch.length >= batchSize;
    },
    flush,
  };
}

/**
 * Imports contacts from a CSV file, streaming.
 *
 * The header row names the contact fields (trimmed, BOM stripped). Every data row is either handed
 * to `onBatch` (awaited, so a slow store slows the reader instead of filling memory), dropped as a
 * duplicate, or reported as rejected with its physical line, column and reason; good rows import
 * even when others are bad. Empty lines and rows whose cells are all blank are skipped. A row with
 * fewer cells than the header, or with non-empty cells beyond it, is `malformed_row` (trailing empty
 * cells, as spreadsheets write them, are accepted).
 *
 * Memory stays bounded by `batchSize` except for the set of addresses seen so far (for duplicates
 * within the file): about 60 bytes per distinct address.
 *
 * @throws OutreachError `CSV_INVALID` before any `onBatch` when the file is empty, binary, has no
 * header, or the header lacks the address column (the message names the column expected and the
 * columns found); `VALIDATION_FAILED` for bad options; `PAYLOAD_TOO_LARGE` when `maxRows` is passed:
 * batches already handed over stay handed over, so run the import in a transaction when the whole
 * file must be refused.
 * @example
 * const result = await importContactsCsv(file, { channel: 'sms', defaultCountry: 'GB' }, async (rows) => {
 *   await storage.insertContacts(rows);
 * });
 */
export async function importContactsCsv(
  source: CsvSource,
  options: CsvImportOptions,
  onBatch: (rows: ImportedContact[]) => Promise<void>,
): Promise<CsvImportResult> {
  validateOptions(options);
  const { maxRows } = options;
  const normalize = options.normalizeAddress ?? builtInNormalizer(options);
  const refusedAs: AddressRejection = options.channel === 'sms' ? 'invalid_number' : 'invalid_email';
  const tally = createTally();
  const { result, report } = tally;
  const batcher = createBatcher(options, tally, onBatch);
  const reader = await createCsvReader();
  // The line where each address first appeared, for duplicates within the file.
  const seen = new Map<string, number>();
  let table: Table | null = null;

  for await (const items of parsedPieces(source, reader)) {
    for (const item of items) {
      if (item.skipped) {
        // Rows csv-parse could not read are data rows too (they count in `rows`); before the header
        // they mean the file has no readable header at all.
        if (table === null) {
          throw new OutreachError('CSV_INVALID', `The CSV header row cannot be read: ${item.skipped.reason}`, {
            details: { reason: 'header', line: item.skipped.line },
          });
        }
        result.rows++;
        report(item.skipped);
        continue;
      }
      const { record, line } = item;
      if (table === null) {
        table = readHeader(record, options);
        result.columns = table.header;
        result.addressColumn = table.addressColumn;
        continue;
      }
      result.rows++;
      // Checked before the row is read, blank rows included (as before the import was split up).
      if (maxRows !== undefined && result.rows > maxRows) {
        throw new OutreachError(
          'PAYLOAD_TOO_LARGE',
          `The CSV has more than ${maxRows} data rows; split it into smaller files.`,
          { details: { maxRows, line } },
        );
      }
      const checked = checkRow(table, record, line);
      if (checked === 'blank') {
        result.rows--;
        continue;
      }
      if (typeof checked !== 'string') {
        report(checked);
        continue;
      }
      const column = table.addressColumn;
      const r = normalize(checked);
      if (!r.ok) {
        report({ line, column, code: r.reason ?? refusedAs, reason: r.message, value: checked });
        continue;
      }
      const first = seen.get(r.address);
      if (first !== undefined) {
        report({
          line,
          column,
          code: 'duplicate',
          reason: `${r.address} already appears on line ${first}.`,
          value: checked,
        });
        continue;
      }
      seen.set(r.address, line);
      if (batcher.add({ address: r.address, fields: fieldsOf(table.header, record), line })) await batcher.flush();
    }
  }
  if (table === null) {
    throw new OutreachError(
      'CSV_INVALID',
      'The CSV file is empty: it needs a header row naming the columns, then one row per contact.',
      {
        details: { reason: 'empty' },
      },
    );
  }
  await batcher.flush();
  // Parse errors and batch-level duplicates are reported out of step with the rows around them.
  result.rejected.sort((a, b) => a.line - b.line);
  return result;
}
