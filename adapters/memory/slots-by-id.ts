import type { RefColumn } from './columns.js';

/** The slots of one campaign in id order (ids sort by creation time, so adding is an append). */
export class SlotsById {
  private slots = new Uint32Array(16);
  length = 0;
  constructor(private readonly ids: RefColumn<string>) {}

  at(i: number): number {
    return this.slots[i] as number;
  }
  private idAt(i: number): string {
    return this.ids.get(this.slots[i] as number) as string;
  }
  add(slot: number): void {
    if (this.length === this.slots.length) {
      const grown = new Uint32Array(this.slots.length * 2);
      grown.set(this.slots);
      this.slots = grown;
    }
    const id = this.ids.get(slot) as string;
    if (this.length === 0 || this.idAt(this.length - 1) < id) {
      this.slots[this.length++] = slot;
      return;
    }
    const i = this.lowerBound(id);
    this.slots.copyWithin(i + 1, i, this.length);
    this.slots[i] = slot;
    this.length++;
  }
  remove(slot: number): void {
    const i = this.lowerBound(this.ids.get(slot) as string);
    if (this.slots[i] !== slot || i >= this.length) return;
    this.slots.copyWithin(i, i + 1, this.length);
    this.length--;
  }
  /** First index whose id is >= `id`. */
  private lowerBound(id: string): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.idAt(mid) < id) lo = mid + 1;
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
      if (this.idAt(mid) <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
