import type { PackedColumn } from './packed-strings.js';

/** The slots of one campaign in id order (ids sort by creation time, so adding is an append). */
export class SlotsById {
  private slots = new Uint32Array(16);
  length = 0;
  constructor(private readonly ids: PackedColumn) {}

  at(i: number): number {
    return this.slots[i] as number;
  }
  add(slot: number): void {
    if (this.length === this.slots.length) {
      const grown = new Uint32Array(this.slots.length * 2);
      grown.set(this.slots);
      this.slots = grown;
    }
    if (this.length === 0 || this.ids.compareRows(this.slots[this.length - 1] as number, slot) < 0) {
      this.slots[this.length++] = slot;
      return;
    }
    const i = this.lowerBound(slot);
    this.slots.copyWithin(i + 1, i, this.length);
    this.slots[i] = slot;
    this.length++;
  }
  remove(slot: number): void {
    const i = this.lowerBound(slot);
    if (this.slots[i] !== slot || i >= this.length) return;
    this.slots.copyWithin(i, i + 1, this.length);
    this.length--;
  }
  /** First index whose id is >= the id of `slot`. */
  private lowerBound(slot: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids.compareRows(this.slots[mid] as number, slot) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** First index whose id is > `after` (0 when `after` is absent). */
  indexAfter(after: string | undefined): number {
    if (after === undefined) return 0;
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids.compareRowTo(this.slots[mid] as number, after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
