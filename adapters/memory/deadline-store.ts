import type { DeadlineRecord } from 'campaign-lifecycle';
import { DeadlineHeap } from './deadline-heap.js';
import type { Undo, UndoLog } from './undo-log.js';

/** Deadlines by id, with a heap by `fireAt` for the due ones. */
export class DeadlineStore {
  private readonly deadlines = new Map<string, DeadlineRecord>();
  private heap = new DeadlineHeap();
  constructor(private readonly undo: UndoLog) {}

  private put(d: DeadlineRecord): void {
    this.deadlines.set(d.id, d);
    if (!this.rebuildIfStale()) this.heap.push(d);
  }
  /**
   * Deletion is lazy (stale entries are dropped when they reach the top); rebuild the heap when stale
   * entries outnumber live ones, so cancelled timers (most of them) do not pile up in memory. Checked
   * on every write and every delete, so stale entries are let go as the live ones go too.
   */
  private rebuildIfStale(): boolean {
    if (this.heap.size <= 2 * this.deadlines.size + 1024) return false;
    this.heap = new DeadlineHeap();
    for (const live of this.deadlines.values()) this.heap.push(live);
    return true;
  }
  private readonly putAll = (rows: readonly DeadlineRecord[]) => {
    for (const d of rows) this.put(d);
  };

  upsert(rows: readonly DeadlineRecord[]): void {
    const prevs = rows.map((d) => this.deadlines.get(d.id));
    for (const d of rows) this.put(d);
    this.undo.record(() => {
      rows.forEach((d, i) => {
        const p = prevs[i];
        if (p) this.put(p);
        else this.deadlines.delete(d.id);
      });
    });
  }
  /** Deletes these deadlines; returns those that existed. */
  take(ids: Iterable<string>): DeadlineRecord[] {
    const taken: DeadlineRecord[] = [];
    for (const id of ids) {
      const p = this.deadlines.get(id);
      if (p) {
        taken.push(p);
        this.deadlines.delete(id);
      }
    }
    if (taken.length) {
      this.undo.record(() => this.putAll(taken));
      this.rebuildIfStale();
    }
    return taken;
  }
  takeDue(now: number, limit: number): DeadlineRecord[] {
    const out: DeadlineRecord[] = [];
    while (out.length < limit) {
      const top = this.heap.peek();
      if (!top || top.fireAt > now) break;
      this.heap.pop();
      if (this.deadlines.get(top.id) !== top) continue; // replaced or deleted since
      this.deadlines.delete(top.id);
      out.push(top);
    }
    if (out.length) this.undo.record(() => this.putAll(out));
    return out;
  }
  next(): number | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return undefined;
      if (this.deadlines.get(top.id) === top) return top.fireAt;
      this.heap.pop(); // drop stale entries as we meet them
    }
  }
  removeCampaign(id: string): Undo {
    const owned = [...this.deadlines.values()].filter((d) => d.campaignId === id);
    for (const d of owned) this.deadlines.delete(d.id);
    return () => this.putAll(owned);
  }
}
