/**
 * Columns for the compact layout: typed arrays in fixed chunks of 65,536 rows, grown a chunk at a
 * time (no copy when they grow, no half-empty doubling), and an interner that gives each distinct
 * string of a column one small number.
 */
import { OutreachError } from 'campaign-lifecycle';

const SHIFT = 16;
const SIZE = 1 << SHIFT;
const MASK = SIZE - 1;

/** A column of 64-bit floats (times, counts). */
export class F64Column {
  private readonly chunks: Float64Array[] = [];
  get(i: number): number {
    return (this.chunks[i >>> SHIFT] as Float64Array)[i & MASK] as number;
  }
  set(i: number, v: number): void {
    const c = i >>> SHIFT;
    while (this.chunks.length <= c) this.chunks.push(new Float64Array(SIZE));
    (this.chunks[c] as Float64Array)[i & MASK] = v;
  }
}

/** A column of unsigned 32-bit integers (row numbers, interned values). */
export class U32Column {
  private readonly chunks: Uint32Array[] = [];
  get(i: number): number {
    return (this.chunks[i >>> SHIFT] as Uint32Array)[i & MASK] as number;
  }
  set(i: number, v: number): void {
    const c = i >>> SHIFT;
    while (this.chunks.length <= c) this.chunks.push(new Uint32Array(SIZE));
    (this.chunks[c] as Uint32Array)[i & MASK] = v;
  }
}

/** A column of unsigned 16-bit integers (interned names: statuses, states, events). */
export class U16Column {
  private readonly chunks: Uint16Array[] = [];
  get(i: number): number {
    return (this.chunks[i >>> SHIFT] as Uint16Array)[i & MASK] as number;
  }
  set(i: number, v: number): void {
    const c = i >>> SHIFT;
    while (this.chunks.length <= c) this.chunks.push(new Uint16Array(SIZE));
    (this.chunks[c] as Uint16Array)[i & MASK] = v;
  }
}

/** A column of unsigned 8-bit integers (flags). */
export class U8Column {
  private readonly chunks: Uint8Array[] = [];
  get(i: number): number {
    return (this.chunks[i >>> SHIFT] as Uint8Array)[i & MASK] as number;
  }
  set(i: number, v: number): void {
    const c = i >>> SHIFT;
    while (this.chunks.length <= c) this.chunks.push(new Uint8Array(SIZE));
    (this.chunks[c] as Uint8Array)[i & MASK] = v;
  }
}

/**
 * A column of optional texts that mostly repeat (log details: `{}`, a provider status): each distinct
 * text gets a number (up to 65,534, kept for the life of the storage), a row holds the number; texts
 * past that are kept per row.
 */
export class TextColumn {
  private readonly codes = new U16Column();
  private readonly texts: string[] = [''];
  private readonly numbers = new Map<string, number>();
  private readonly rare = new Map<number, string>();
  get(i: number): string | undefined {
    const code = this.codes.get(i);
    if (code === 0) return undefined;
    return code === RARE ? this.rare.get(i) : this.texts[code];
  }
  set(i: number, text: string | undefined): void {
    if (this.rare.size > 0) this.rare.delete(i);
    if (text === undefined) {
      this.codes.set(i, 0);
      return;
    }
    let code = this.numbers.get(text);
    if (code === undefined && this.texts.length < RARE) {
      code = this.texts.length;
      this.texts.push(text);
      this.numbers.set(text, code);
    }
    if (code === undefined) {
      this.rare.set(i, text);
      code = RARE;
    }
    this.codes.set(i, code);
  }
}
const RARE = 0xffff;

/** A column of values the heap must hold (strings of one row each, e.g. ids). */
export class RefColumn<T> {
  private readonly chunks: (T | undefined)[][] = [];
  get(i: number): T | undefined {
    return (this.chunks[i >>> SHIFT] as (T | undefined)[])[i & MASK];
  }
  set(i: number, v: T | undefined): void {
    const c = i >>> SHIFT;
    while (this.chunks.length <= c) this.chunks.push(new Array<T | undefined>(SIZE).fill(undefined));
    (this.chunks[c] as (T | undefined)[])[i & MASK] = v;
  }
}

/** Gives each distinct string one number, from 1 (0 stands for `null`). Strings are kept for the life of the storage. */
export class Interner {
  private readonly numbers = new Map<string, number>();
  private readonly strings: (string | null)[] = [null];
  constructor(private readonly max = 0xffffffff) {}
  number(s: string | null): number {
    if (s === null) return 0;
    let n = this.numbers.get(s);
    if (n === undefined) {
      n = this.strings.length;
      if (n > this.max)
        throw new OutreachError('STORAGE_ERROR', `Memory storage holds more than ${this.max} distinct names.`);
      this.strings.push(s);
      this.numbers.set(s, n);
    }
    return n;
  }
  /** The number of a string already interned, or `undefined`. */
  find(s: string): number | undefined {
    return this.numbers.get(s);
  }
  string(n: number): string | null {
    return this.strings[n] as string | null;
  }
}

/**
 * The string as one flat copy when it is made of pieces (ids built by concatenation are chains of
 * string pieces in V8, about 200 bytes for a 30-character id, against 56 flat). Kept only when equal,
 * so no text is ever changed.
 */
export function flat(s: string): string {
  const copy = s.normalize();
  return copy === s ? copy : s;
}
