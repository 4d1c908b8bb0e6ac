import type { DeadlineRecord } from 'campaign-lifecycle';

/**
 * A binary min-heap of deadlines by `fireAt`, with lazy deletion (entries checked against the map).
 * It holds the records themselves (a million waiting deadlines mean no extra object each).
 */
type HeapEntry = DeadlineRecord;

export class DeadlineHeap {
  private readonly heap: HeapEntry[] = [];
  push(entry: HeapEntry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as HeapEntry).fireAt <= entry.fireAt) break;
      h[i] = h[p] as HeapEntry;
      i = p;
    }
    h[i] = entry;
  }
  peek(): HeapEntry | undefined {
    return this.heap[0];
  }
  pop(): HeapEntry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last.fireAt;
        if (l < n && (h[l] as HeapEntry).fireAt < mv) {
          m = l;
          mv = (h[l] as HeapEntry).fireAt;
        }
        if (r < n && (h[r] as HeapEntry).fireAt < mv) m = r;
        if (m === i) break;
        h[i] = h[m] as HeapEntry;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
  get size(): number {
    return this.heap.length;
  }
}
