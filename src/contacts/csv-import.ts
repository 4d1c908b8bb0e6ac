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
import { OutreachError } from '../errors.js';
import { LIMITS } from '../limits.js';
import type { Channel } from '../statuses.js';
import { textProblem } from '../validation.js';
import { normalizeEmail } from './email.js';
import { assertCountryCodes, type CountryCode } from './phone.js';
import { availableThreads, checkPhonesHere, type PhonePool, startPhonePool } from './phone-pool.js';

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
  /**
   * Threads that check phone numbers (SMS with the built-in rules only). By default one per core,
   * started once a file has passed 5,000 numbers, where the runtime has worker
   * threads (Node, Bun, Deno); `1` checks every number on the calling thread. The results are the
   * same either way, in the same order.
   */
  threads?: number | undefined;
}

/**
 * Numbers an SMS import checks on the calling thread before it starts worker threads (when
 * `threads` is not given): a small file never pays for starting them.
 */
export const PARALLEL_FROM = 5_000;

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
  const { batchSize, maxRows, threads } = options;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 256)) {
    throw new OutreachError('VALIDATION_FAILED', `threads must be a whole number from 1 to 256, got ${threads}.`);
  }
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
 * The part of csv-parse's `Parser` used here: its parser core (`api.parse`), fed bytes of the build's
 * own `Buffer` class (the Node build uses Node's, the platform-neutral build carries one), with
 * records taken through `push` and the counters in `info`. Going around the stream (and around
 * `on_record`, which builds an info object per record) saves about a fifth of the parsing time.
 */
interface CsvParser {
  api: {
    parse(
      bytes: Uint8Array | undefined,
      end: boolean,
      push: (record: string[]) => void,
      close: () => void,
    ): Error | undefined;
  };
  info: { lines: number; empty_lines: number };
  /** The field being read: a resizeable buffer over a `Buffer` of the build's class. */
  state: { field: { buf: { constructor: unknown } } };
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
  const onSkip = (error: { code?: string; empty_lines?: number } | undefined) => {
    if (error === undefined) return undefined;
    out.push({ skipped: unreadableRow(lastEnd + 1 + (error.empty_lines ?? lastEmpty) - lastEmpty, error.code) });
    return undefined;
  };
  const { Parser } = await import('#csv-parse');
  const parser = new Parser({
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    trim: true,
    on_skip: onSkip,
  }) as unknown as CsvParser;
  const { info } = parser;
  const push = (record: string[]) => {
    const { breaks, crlf } = breaksIn(record);
    crlfSeen += crlf;
    lastEnd = info.lines - crlfSeen;
    lastEmpty = info.empty_lines;
    out.push({ record, line: lastEnd - breaks });
  };
  const close = () => {};
  const bytes = parser.state.field.buf.constructor as { from(text: string, encoding: 'utf8'): Uint8Array };
  const parse = (chunk: Uint8Array | undefined, end: boolean) => {
    const error = parser.api.parse(chunk, end, push, close);
    if (error !== undefined) throw error;
    const items = out;
    out = [];
    return items;
  };
  return {
    write: (text) => parse(bytes.from(text, 'utf8'), false),
    end: () => parse(undefined, true),
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

/** An address checked: the normalised address, or why it is refused (the compact form threads pass). */
type Checked = string | { readonly message: string; readonly reason?: AddressRejection | undefined };

/**
 * Checks the address cells of one piece of the file, in order: on the calling thread (returning the
 * checks), or on the pool's worker threads (returning a promise of them).
 */
type AddressChecker = (raws: string[]) => Checked[] | Promise<Checked[]>;

/** An address checker and its life: whether it is starting threads (it needs event-loop turns), and its end. */
interface Checker {
  readonly check: AddressChecker;
  starting(): boolean;
  close(): Promise<void>;
}

/** A checker that works on the calling thread alone. */
const onThisThread = (check: AddressChecker): Checker => ({ check, starting: () => false, close: async () => {} });

/**
 * One turn of the event loop, so that worker answers (and a pool starting) are taken in while the
 * calling thread reads on: `setImmediate` where there is one, a zero timeout elsewhere.
 */
function nextTurn(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}

/** Checks on the calling thread with one function per address. */
function checkEach(check: (raw: string) => Checked): AddressChecker {
  return (raws) => {
    const out = new Array<Checked>(raws.length);
    for (let i = 0; i < raws.length; i++) out[i] = check(raws[i] as string);
    return out;
  };
}

/** A custom normaliser's answers in the compact form. */
function fromNormalizer(normalize: (raw: string) => AddressCheck): (raw: string) => Checked {
  return (raw) => {
    const r = normalize(raw);
    return r.ok ? r.address : { message: r.message, reason: r.reason };
  };
}

/** The email rules in the compact form. */
function checkEmail(raw: string): Checked {
  const r = normalizeEmail(raw);
  return r.ok ? r.email : { message: r.message, reason: r.reason };
}

/**
 * The SMS checker of the built-in rules: the calling thread until 5,000 numbers (or
 * at once when `threads` is given), then a pool of worker threads where the runtime has them, with
 * the calling thread taking a piece itself whenever every worker already has two. A piece a worker
 * fails on is checked on the calling thread, so a broken worker costs speed, not rows.
 */
function phoneChecker(options: CsvImportOptions): Checker {
  const phoneOptions = { defaultCountry: options.defaultCountry, allowedCountries: options.allowedCountries };
  const here = (raws: readonly string[]) => checkPhonesHere(raws, phoneOptions);
  const wanted = options.threads;
  if (wanted === 1) return { check: here, starting: () => false, close: async () => {} };
  let seen = 0;
  let closed = false;
  let started = false;
  let pool: Promise<PhonePool | null> | null = null;
  let ready: PhonePool | null = null;
  // Where there are no workers, and whenever every worker already has a batch running and one
  // waiting, the calling thread checks the piece itself rather than wait.
  const dispatch = (p: PhonePool | null, raws: string[]) =>
    p === null || p.pending >= p.threads * 2
      ? here(raws)
      : p.check(raws).catch(() =>
          // A worker failed: check the piece here. Once the import has ended (closed), nobody reads it.
          closed ? [] : here(raws),
        );
  const check: AddressChecker = (raws) => {
    if (pool === null) {
      seen += raws.length;
      if (wanted === undefined && seen < PARALLEL_FROM) return here(raws);
      pool = (async () => {
        const threads = wanted ?? (await availableThreads());
        // On one core a worker would only take turns with the reader.
        return wanted === undefined && threads < 2 ? null : startPhonePool(threads, phoneOptions);
      })();
      void pool.then((p) => {
        ready = p;
        started = true;
      });
    }
    const p = ready as PhonePool | null;
    if (p !== null || started) return dispatch(p, raws);
    // The workers are starting: with `threads` given, wait for them; otherwise read on meanwhile.
    return wanted === undefined ? here(raws) : (pool as Promise<PhonePool | null>).then((q) => dispatch(q, raws));
  };
  return {
    check,
    starting: () => pool !== null && ready === null && !started,
    async close() {
      closed = true;
      const p = pool === null ? null : await pool;
      await p?.close();
    },
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
  const tally = createTally();
  const batcher = createBatcher(options, tally, onBatch);
  const reader = await createCsvReader();
  const checker =
    options.normalizeAddress !== undefined
      ? onThisThread(checkEach(fromNormalizer(options.normalizeAddress)))
      : options.channel === 'email'
        ? onThisThread(checkEach(checkEmail))
        : phoneChecker(options);
  const table: { current: Table | null } = { current: null };
  const settle = settler(options, tally, batcher);
  // Pieces whose addresses are being checked on worker threads, oldest first: the calling thread
  // reads on meanwhile, and settles them in file order.
  const inFlight: { piece: Piece; checks: Promise<Checked[]> }[] = [];
  try {
    for await (const items of parsedPieces(source, reader)) {
      // Reading a file in memory never leaves the microtask queue: let worker answers in.
      if (inFlight.length > 0 || checker.starting()) await nextTurn();
      const piece = preparePiece(items, table, options);
      const checks = checker.check(piece.raws);
      if (Array.isArray(checks) && inFlight.length === 0) {
        await settle(piece, checks);
        continue;
      }
      inFlight.push({ piece, checks: Promise.resolve(checks) });
      while (inFlight.length > MAX_IN_FLIGHT) await settleOldest(inFlight, settle);
    }
    while (inFlight.length > 0) await settleOldest(inFlight, settle);
  } finally {
    await checker.close();
  }
  if (table.current === null) {
    throw new OutreachError(
      'CSV_INVALID',
      'The CSV file is empty: it needs a header row naming the columns, then one row per contact.',
      {
        details: { reason: 'empty' },
      },
    );
  }
  await batcher.flush();
  const { result } = tally;
  // Parse errors and batch-level duplicates are reported out of step with the rows around them.
  result.rejected.sort((a, b) => a.line - b.line);
  return result;
}

/** Pieces read ahead of the oldest one not yet settled (each about 1,000 rows). */
const MAX_IN_FLIGHT = 8;

async function settleOldest(
  inFlight: { piece: Piece; checks: Promise<Checked[]> }[],
  settle: (piece: Piece, checks: readonly Checked[]) => Promise<void>,
): Promise<void> {
  const { piece, checks } = inFlight.shift() as { piece: Piece; checks: Promise<Checked[]> };
  await settle(piece, await checks);
}

/**
 * One piece of the file after the checks that need no address rules: each item is a row csv-parse
 * could not read, a row refused (or `blank`) with its line, or a row whose address cell is in `raws`.
 */
interface Piece {
  readonly rows: ({ line: number; record: string[]; checked: RejectedRow | 'blank' | number } | RejectedRow)[];
  readonly raws: string[];
  /** Null only for a piece before the header, which holds nothing. */
  readonly table: Table | null;
}

/**
 * The first pass over a piece, on the calling thread: reads the header (the first record), checks
 * each row's shape and cells, and collects the address cells to check. Nothing is counted here, so
 * that pieces can be settled later, in order.
 */
function preparePiece(
  items: readonly ParsedItem[],
  table: { current: Table | null },
  options: CsvImportOptions,
): Piece {
  const rows: Piece['rows'] = [];
  const raws: string[] = [];
  for (const item of items) {
    if (item.skipped) {
      // Before the header, an unreadable row means the file has no readable header at all.
      if (table.current === null) {
        throw new OutreachError('CSV_INVALID', `The CSV header row cannot be read: ${item.skipped.reason}`, {
          details: { reason: 'header', line: item.skipped.line },
        });
      }
      rows.push(item.skipped);
      continue;
    }
    if (table.current === null) {
      table.current = readHeader(item.record, options);
      continue;
    }
    const checked = checkRow(table.current, item.record, item.line);
    if (typeof checked === 'string' && checked !== 'blank') {
      rows.push({ line: item.line, record: item.record, checked: raws.length });
      raws.push(checked);
    } else rows.push({ line: item.line, record: item.record, checked });
  }
  return { rows, raws, table: table.current };
}

/**
 * The second pass, in file order: counts rows (and enforces `maxRows`), reports refusals, drops
 * duplicates within the file, and hands good rows to the batcher.
 */
function settler(
  options: CsvImportOptions,
  tally: ReturnType<typeof createTally>,
  batcher: ReturnType<typeof createBatcher>,
): (piece: Piece, checks: readonly Checked[]) => Promise<void> {
  const { maxRows } = options;
  const { result, report } = tally;
  const refusedAs: AddressRejection = options.channel === 'sms' ? 'invalid_number' : 'invalid_email';
  // The line where each address first appeared, for duplicates within the file.
  const seen = new Map<string, number>();
  return async (piece, checks) => {
    const { table } = piece;
    if (table === null) return;
    if (result.addressColumn === '') {
      result.columns = table.header;
      result.addressColumn = table.addressColumn;
    }
    for (const row of piece.rows) {
      result.rows++;
      if (!('record' in row)) {
        // A row csv-parse could not read.
        report(row);
        continue;
      }
      const { line, checked } = row;
      // Checked before the row is read, blank rows included (as before the import was split up).
      if (maxRows !== undefined && result.rows > maxRows) {
        throw new OutreachError(
          'PAYLOAD_TOO_LARGE',
          `The CSV has more than ${maxRows} data rows; split it into smaller files.`,
          { details: { maxRows, line } },
        );
      }
      if (checked === 'blank') {
        result.rows--;
        continue;
      }
      if (typeof checked !== 'number') {
        report(checked);
        continue;
      }
      const column = table.addressColumn;
      const raw = piece.raws[checked] as string;
      const r = checks[checked] as Checked;
      if (typeof r !== 'string') {
        report({ line, column, code: r.reason ?? refusedAs, reason: r.message, value: raw });
        continue;
      }
      const first = seen.get(r);
      if (first !== undefined) {
        report({ line, column, code: 'duplicate', reason: `${r} already appears on line ${first}.`, value: raw });
        continue;
      }
      seen.set(r, line);
      if (batcher.add({ address: r, fields: fieldsOf(table.header, row.record), line })) await batcher.flush();
    }
  };
}
