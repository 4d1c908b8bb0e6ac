import type { OptOutLogEntry, OptOutLogFilter, OptOutLogRecord } from 'campaign-lifecycle';
import type { UndoLog } from './undo-log.js';

/**
 * The opt-out record: every suppression change, append-only, in id order. Campaign deletion never
 * touches it; a rolled-back transaction takes its entries back out.
 */
export class OptOutLogStore {
  private readonly rows: OptOutLogRecord[] = [];
  private nextId = 1;
  constructor(private readonly undo: UndoLog) {}

  append(entries: readonly OptOutLogEntry[]): void {
    if (entries.length === 0) return;
    const length = this.rows.length;
    for (const e of entries) this.rows.push({ ...e, id: this.nextId++ });
    this.undo.record(() => {
      this.rows.length = length;
    });
  }

  list(f: OptOutLogFilter): OptOutLogRecord[] {
    const after = f.after ?? 0;
    // Ids ascend with position: find the first id above `after` by bisection.
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.rows[mid] as OptOutLogRecord).id <= after) lo = mid + 1;
      else hi = mid;
    }
    const out: OptOutLogRecord[] = [];
    for (let i = lo; i < this.rows.length && out.length < f.limit; i++) {
      const r = this.rows[i] as OptOutLogRecord;
      if (f.channel !== undefined && r.channel !== f.channel) continue;
      if (f.address !== undefined && r.address !== f.address) continue;
      if (f.scope !== undefined && r.scope !== f.scope) continue;
      out.push(r);
    }
    return out;
  }
}
