/**
 * Strings of a known shape kept as numbers: a column of ids, addresses or provider ids that holds no
 * string per row, and a hash index over its rows in typed arrays (no `Map<string, number>`).
 *
 * Three shapes are packed, each exactly: a string packs only when it comes back the same, character
 * for character, so every other string (lower-case ULIDs, `SM` with upper-case hex, national phone
 * numbers, emails…) is kept as it is.
 * - the engine's ids (`src/engine/ids.ts`): a lower-case prefix, `_`, a 26-character Crockford base32
 *   ULID whose first character is 0–7: 128 bits;
 * - Twilio-style ids: one to four letters then 32 lower-case hex digits (`SM…`): 128 bits;
 * - E.164 numbers: `+`, a digit 1–9, up to 14 more digits: below 2^50.
 * Each row has a tag (0: none, 1: kept as a string, from 2: one shape and prefix, interned) and two or
 * four 32-bit words.
 */

import { flat } from './columns.js';

const ULID = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const HEX = '0123456789abcdef';
const ULID_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ULID.length; i++) ULID_VALUE[ULID.charCodeAt(i)] = i;
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < HEX.length; i++) HEX_VALUE[HEX.charCodeAt(i)] = i;

const SHIFT = 16;
const SIZE = 1 << SHIFT;
const MASK = SIZE - 1;

const NONE = 0;
const OTHER = 1;
/** Shapes, stored with the prefix in the tag's name. */
const S_ULID = 'u';
const S_HEX = 'h';
const S_E164 = 'e';
const MAX_TAGS = 255;
const CACHE = 1 << 14;

/** Which shapes a column packs: ids and provider ids (four words), or phone numbers (two). */
export type PackedKind = 'id' | 'address';

const isLower = (c: number) => c >= 97 && c <= 122;
const isLetter = (c: number) => isLower(c) || (c >= 65 && c <= 90);

/**
 * A column of strings, most of them packed. `key` takes a string to look up (its hash, from its
 * characters, kept per row when the column is `hashed`), `rowEqualsKey` then compares a row with it:
 * against the row's recently read string if there is one, else against the key parsed once (no
 * allocation).
 */
export class PackedColumn {
  private readonly width: number;
  private readonly tags: Uint8Array[] = [];
  private readonly words: Uint32Array[] = [];
  /** Strings kept as they are, per chunk, made when a chunk first needs one. */
  private readonly others: ((string | undefined)[] | undefined)[] = [];
  /** Per tag: its shape and its prefix. */
  private readonly tagShape: string[] = ['', ''];
  private readonly tagPrefix: string[] = ['', ''];
  /** Per tag, the characters of a decoded string (a plain array of small integers: `String.fromCharCode.apply` over one is several times faster than over a typed array). */
  private readonly tagChars: number[][] = [[], []];
  /**
   * The strings of rows read lately (the engine reads a message several times while it moves it on):
   * a read of the same row gives the same string, made once. Direct-mapped by row number.
   */
  private readonly cacheRow = new Uint32Array(CACHE);
  private readonly cacheString: (string | undefined)[] = new Array<string | undefined>(CACHE).fill(undefined);

  /** Per row, the hash of its string (a `hashed` column: one a {@link RowIndex} looks up). */
  private readonly hashes: Uint32Array[] = [];

  /** The scratch key: the string, and once parsed its tag and words. */
  private keyString = '';
  private keyParsed = false;
  private keyTag = NONE;
  private readonly keyWords = new Uint32Array(4);

  constructor(
    private readonly kind: PackedKind,
    private readonly hashed = false,
  ) {
    this.width = kind === 'id' ? 4 : 2;
  }

  private chunk(row: number): number {
    const c = row >>> SHIFT;
    while (this.tags.length <= c) {
      this.tags.push(new Uint8Array(SIZE));
      this.words.push(new Uint32Array(SIZE * this.width));
      this.others.push(undefined);
      if (this.hashed) this.hashes.push(new Uint32Array(SIZE));
    }
    return c;
  }

  // ── parsing ──────────────────────────────────────────────────────────────

  /**
   * Reads `s` into the scratch key; `intern` gives a new shape and prefix a tag (when storing). A
   * string whose shape and prefix have no tag (and `intern` is false or the tags ran out) is `OTHER`.
   */
  private parse(s: string, intern: boolean): void {
    this.keyString = s;
    this.keyParsed = true;
    const w = this.keyWords;
    let shape = '';
    let cut = 0;
    if (this.kind === 'address') {
      if (parseE164(s, w)) shape = S_E164;
    } else {
      cut = parseUlid(s, w);
      if (cut > 0) shape = S_ULID;
      else if (parseHex(s, w)) {
        shape = S_HEX;
        cut = s.length - 32;
      }
    }
    if (shape !== '') {
      const tag = this.tagFor(shape, s, cut, intern);
      if (tag !== 0) {
        this.keyTag = tag;
        return;
      }
    }
    this.keyTag = OTHER;
  }

  /** The tag of `shape` with the prefix `s.slice(0, cut)`, interned when `intern` and there is room; 0 when none. */
  private tagFor(shape: string, s: string, cut: number, intern: boolean): number {
    // Few tags (one or two a column): a scan without building the prefix string.
    for (let tag = 2; tag < this.tagShape.length; tag++) {
      const prefix = this.tagPrefix[tag] as string;
      if (this.tagShape[tag] === shape && prefix.length === cut && s.startsWith(prefix)) return tag;
    }
    if (!intern || this.tagShape.length > MAX_TAGS) return 0;
    const tag = this.tagShape.length;
    const prefix = s.slice(0, cut);
    this.tagShape.push(shape);
    this.tagPrefix.push(prefix);
    // The characters of a decoded string, the prefix (and `_`) written once.
    const length = shape === S_ULID ? cut + 27 : shape === S_HEX ? cut + 32 : 0;
    const chars = new Array<number>(length).fill(0);
    for (let i = 0; i < cut; i++) chars[i] = s.charCodeAt(i);
    if (shape === S_ULID) chars[cut] = 95;
    this.tagChars.push(chars);
    return tag;
  }

  /** Reads `s` as a key to look up; returns its hash. */
  key(s: string): number {
    this.keyString = s;
    this.keyParsed = false;
    return hashString(s);
  }

  /** Reads `s` as a key to compare rows with (no hash: {@link rowEquals} needs none). */
  private compareKey(s: string): void {
    this.keyString = s;
    this.keyParsed = false;
  }

  // ── rows ─────────────────────────────────────────────────────────────────

  /** Stores `s` (or nothing) in `row`. */
  set(row: number, s: string | undefined | null): void {
    const slot = row & (CACHE - 1);
    if (this.cacheRow[slot] === row) {
      this.cacheRow[slot] = 0;
      this.cacheString[slot] = undefined;
    }
    const c = this.chunk(row);
    const i = row & MASK;
    const tags = this.tags[c] as Uint8Array;
    const others = this.others[c];
    if (others !== undefined) others[i] = undefined;
    if (s === undefined || s === null) {
      tags[i] = NONE;
      return;
    }
    this.parse(s, true);
    tags[i] = this.keyTag;
    if (this.hashed) (this.hashes[c] as Uint32Array)[i] = hashString(s);
    // A string just written is read again soon (the engine moves a message on in steps).
    this.cacheRow[slot] = row;
    this.cacheString[slot] = s;
    if (this.keyTag === OTHER) {
      let list = others;
      if (list === undefined) {
        list = new Array<string | undefined>(SIZE).fill(undefined);
        this.others[c] = list;
      }
      list[i] = flat(s);
      return;
    }
    (this.words[c] as Uint32Array).set(this.keyWords.subarray(0, this.width), i * this.width);
  }

  /** Whether `row` holds a string. */
  has(row: number): boolean {
    const c = row >>> SHIFT;
    return c < this.tags.length && (this.tags[c] as Uint8Array)[row & MASK] !== NONE;
  }

  /** The string in `row`, made anew (or `undefined`). */
  get(row: number): string | undefined {
    const c = row >>> SHIFT;
    if (c >= this.tags.length) return undefined;
    const i = row & MASK;
    const tag = (this.tags[c] as Uint8Array)[i] as number;
    if (tag === NONE) return undefined;
    if (tag === OTHER) return (this.others[c] as (string | undefined)[])[i];
    const slot = row & (CACHE - 1);
    if (this.cacheRow[slot] === row) return this.cacheString[slot];
    const words = this.words[c] as Uint32Array;
    const at = i * this.width;
    const shape = this.tagShape[tag];
    let out: string;
    if (shape === S_E164) out = `+${(words[at] as number) * 4294967296 + (words[at + 1] as number)}`;
    else {
      const chars = this.tagChars[tag] as number[];
      const cut = (this.tagPrefix[tag] as string).length;
      if (shape === S_HEX) hexInto(words, at, chars, cut);
      else ulidInto(words, at, chars, cut + 1);
      // One flat string from the character codes.
      out = String.fromCharCode.apply(null, chars);
    }
    this.cacheRow[slot] = row;
    this.cacheString[slot] = out;
    return out;
  }

  /** The hash of the string in `row` (the hash `key` gives for it). */
  hashRow(row: number): number {
    if (this.hashed) return (this.hashes[row >>> SHIFT] as Uint32Array)[row & MASK] as number;
    return hashString(this.get(row) ?? '');
  }

  /** Whether `row` holds `s` (`null` and `undefined`: nothing). */
  rowEquals(row: number, s: string | null | undefined): boolean {
    if (s === null || s === undefined) return !this.has(row);
    this.compareKey(s);
    return this.rowEqualsKey(row);
  }

  /** Whether `row` holds the scratch key's string. */
  rowEqualsKey(row: number): boolean {
    const c = row >>> SHIFT;
    const i = row & MASK;
    const tag = (this.tags[c] as Uint8Array)[i] as number;
    if (tag === NONE) return false;
    const slot = row & (CACHE - 1);
    if (this.cacheRow[slot] === row) return this.cacheString[slot] === this.keyString;
    if (!this.keyParsed) this.parse(this.keyString, false);
    if (tag !== this.keyTag) return false;
    if (tag === OTHER) return (this.others[c] as string[])[i] === this.keyString;
    const words = this.words[c] as Uint32Array;
    const at = i * this.width;
    for (let k = 0; k < this.width; k++) if (words[at + k] !== this.keyWords[k]) return false;
    return true;
  }

  /** Whether rows `a` and `b` hold the same string. */
  rowsEqual(a: number, b: number): boolean {
    const ta = (this.tags[a >>> SHIFT] as Uint8Array)[a & MASK] as number;
    const tb = (this.tags[b >>> SHIFT] as Uint8Array)[b & MASK] as number;
    if (ta !== tb) return false;
    if (ta === NONE) return true;
    if (ta === OTHER) return this.get(a) === this.get(b);
    const wa = this.words[a >>> SHIFT] as Uint32Array;
    const wb = this.words[b >>> SHIFT] as Uint32Array;
    const ia = (a & MASK) * this.width;
    const ib = (b & MASK) * this.width;
    for (let k = 0; k < this.width; k++) if (wa[ia + k] !== wb[ib + k]) return false;
    return true;
  }

  /**
   * The order of row `a`'s string against row `b`'s, as strings compare (-1, 0, 1). Ids of one shape
   * and prefix are fixed-width, in an alphabet in ASCII order, so their words compare as the text does.
   */
  compareRows(a: number, b: number): number {
    const ta = (this.tags[a >>> SHIFT] as Uint8Array)[a & MASK] as number;
    const tb = (this.tags[b >>> SHIFT] as Uint8Array)[b & MASK] as number;
    if (ta === tb && ta > OTHER && this.tagShape[ta] !== S_E164) {
      const wa = this.words[a >>> SHIFT] as Uint32Array;
      const wb = this.words[b >>> SHIFT] as Uint32Array;
      const ia = (a & MASK) * this.width;
      const ib = (b & MASK) * this.width;
      for (let k = 0; k < this.width; k++) {
        const x = wa[ia + k] as number;
        const y = wb[ib + k] as number;
        if (x !== y) return x < y ? -1 : 1;
      }
      return 0;
    }
    return compareStrings(this.get(a) ?? '', this.get(b) ?? '');
  }

  /** The order of row `a`'s string against `s`, as strings compare. */
  compareRowTo(a: number, s: string): number {
    const ta = (this.tags[a >>> SHIFT] as Uint8Array)[a & MASK] as number;
    if (ta > OTHER && this.tagShape[ta] !== S_E164) {
      this.parse(s, false);
      if (this.keyTag === ta) {
        const wa = this.words[a >>> SHIFT] as Uint32Array;
        const ia = (a & MASK) * this.width;
        for (let k = 0; k < this.width; k++) {
          const x = wa[ia + k] as number;
          const y = this.keyWords[k] as number;
          if (x !== y) return x < y ? -1 : 1;
        }
        return 0;
      }
    }
    return compareStrings(this.get(a) ?? '', s);
  }
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The end of the prefix of an engine id (`msg_` + 26 base32 characters, the first 0–7), or 0; fills `w`. */
function parseUlid(s: string, w: Uint32Array): number {
  const cut = s.length - 27;
  if (cut < 1 || s.charCodeAt(cut) !== 95 /* _ */) return 0;
  for (let i = 0; i < cut; i++) if (!isLower(s.charCodeAt(i))) return 0;
  const first = s.charCodeAt(cut + 1);
  if (first < 48 || first > 55) return 0; // 0–7: the first character holds 3 bits
  // 3 + 25 × 5 = 128 bits, most significant first.
  let acc = first - 48;
  let bits = 3;
  let k = 0;
  for (let i = cut + 2; i < s.length; i++) {
    const code = s.charCodeAt(i);
    const v = code < 128 ? (ULID_VALUE[code] as number) : -1;
    if (v < 0) return 0;
    if (bits + 5 <= 32) {
      acc = (acc << 5) | v;
      bits += 5;
      if (bits === 32) {
        w[k++] = acc >>> 0;
        acc = 0;
        bits = 0;
      }
    } else {
      const take = 32 - bits;
      w[k++] = ((acc << take) | (v >>> (5 - take))) >>> 0;
      bits = 5 - take;
      acc = v & ((1 << bits) - 1);
    }
  }
  return cut;
}

const ULID_CODES = Uint16Array.from(ULID, (c) => c.charCodeAt(0));
const HEX_CODES = Uint16Array.from(HEX, (c) => c.charCodeAt(0));

/** Writes the 26 characters of the 128 bits at `w[at…]` into `out` from `from`: 3 bits, then 25 × 5. */
function ulidInto(w: Uint32Array, at: number, out: number[], from: number): void {
  let pos = 0;
  for (let n = 0; n < 26; n++) {
    const len = n === 0 ? 3 : 5;
    const word = at + (pos >>> 5);
    const off = pos & 31;
    let v: number;
    if (off + len <= 32) v = ((w[word] as number) >>> (32 - off - len)) & ((1 << len) - 1);
    else {
      const high = 32 - off;
      v =
        (((w[word] as number) & ((1 << high) - 1)) << (len - high)) | ((w[word + 1] as number) >>> (32 - (len - high)));
    }
    out[from + n] = ULID_CODES[v] as number;
    pos += len;
  }
}

/** One to four letters, then 32 lower-case hex digits; fills `w`. */
function parseHex(s: string, w: Uint32Array): boolean {
  const cut = s.length - 32;
  if (cut < 1 || cut > 4) return false;
  for (let i = 0; i < cut; i++) if (!isLetter(s.charCodeAt(i))) return false;
  for (let k = 0; k < 4; k++) {
    let acc = 0;
    for (let j = 0; j < 8; j++) {
      const code = s.charCodeAt(cut + k * 8 + j);
      const v = code < 128 ? (HEX_VALUE[code] as number) : -1;
      if (v < 0) return false;
      acc = (acc << 4) | v;
    }
    w[k] = acc >>> 0;
  }
  return true;
}

/** Writes the 32 hex digits of the 128 bits at `w[at…]` into `out` from `from`. */
function hexInto(w: Uint32Array, at: number, out: number[], from: number): void {
  for (let k = 0; k < 4; k++) {
    const word = w[at + k] as number;
    for (let j = 0; j < 8; j++) out[from + k * 8 + j] = HEX_CODES[(word >>> (28 - 4 * j)) & 15] as number;
  }
}

/** `+`, a digit 1–9, up to 14 more digits; fills `w` with the number's high and low words. */
function parseE164(s: string, w: Uint32Array): boolean {
  const n = s.length;
  if (n < 2 || n > 16 || s.charCodeAt(0) !== 43 /* + */) return false;
  const first = s.charCodeAt(1);
  if (first < 49 || first > 57) return false;
  let v = 0;
  for (let i = 1; i < n; i++) {
    const code = s.charCodeAt(i);
    if (code < 48 || code > 57) return false;
    v = v * 10 + (code - 48);
  }
  w[0] = Math.floor(v / 4294967296);
  w[1] = v >>> 0;
  return true;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h ^ 1);
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Rows by the string a {@link PackedColumn} holds for them: open addressing with linear probing in a
 * `Uint32Array` of row numbers (0: empty), at most half full; deletion shifts the probe chain back
 * (no tombstones). Rows with equal strings may all be in it (`first` finds one); the caller keeps it
 * unique where it needs to. A row's string must not change while the row is in the index.
 */
export class RowIndex {
  private table = new Uint32Array(16);
  private count = 0;
  constructor(private readonly column: PackedColumn) {}

  get size(): number {
    return this.count;
  }

  /** A row holding `s`, or 0. */
  first(s: string): number {
    const column = this.column;
    const table = this.table;
    const mask = table.length - 1;
    const h = column.key(s);
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const row = table[i] as number;
      if (row === 0) return 0;
      if (column.hashRow(row) === h && column.rowEqualsKey(row)) return row;
    }
  }

  /** Adds `row` (its string already in the column). */
  add(row: number): void {
    if ((this.count + 1) * 2 > this.table.length) this.grow();
    this.place(row);
    this.count++;
  }

  private place(row: number): void {
    const table = this.table;
    const mask = table.length - 1;
    let i = this.column.hashRow(row) & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = row;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.place(old[i] as number);
  }

  /** Removes `row` (its string still in the column); false when it was not in the index. */
  remove(row: number): boolean {
    const table = this.table;
    const mask = table.length - 1;
    let i = this.column.hashRow(row) & mask;
    for (;;) {
      const r = table[i] as number;
      if (r === 0) return false;
      if (r === row) break;
      i = (i + 1) & mask;
    }
    // Shift back the entries after the hole that may no longer be reached past it.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const r = table[j] as number;
      if (r === 0) break;
      const home = this.column.hashRow(r) & mask;
      // r may move into the hole when its home is not cyclically within (hole, j].
      const within = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!within) {
        table[hole] = r;
        hole = j;
      }
    }
    table[hole] = 0;
    this.count--;
    return true;
  }
}
