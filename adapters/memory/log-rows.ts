import { F64Column, TextColumn, U8Column, U16Column, U32Column } from './columns.js';

/**
 * The event log's rows, numbered from 1 in the order they were appended (0: none); each row links to
 * the next row of its message. Names and campaign ids are interned by the store that owns the rows.
 */
export class LogRows {
  /** The number of the last row. */
  count = 0;
  readonly next = new U32Column();
  readonly at = new F64Column();
  readonly event = new U16Column();
  readonly from = new U16Column();
  readonly to = new U16Column();
  readonly changed = new U8Column();
  readonly campaign = new U32Column();
  /** JSON text of the detail, or `undefined` (equal texts share a number). */
  readonly detail = new TextColumn();

  /** Appends a row (not yet linked to a next one); returns its number. */
  append(
    at: number,
    event: number,
    from: number,
    to: number,
    changed: boolean,
    campaign: number,
    detail: string | undefined,
  ): number {
    const n = ++this.count;
    this.next.set(n, 0);
    this.at.set(n, at);
    this.event.set(n, event);
    this.from.set(n, from);
    this.to.set(n, to);
    this.changed.set(n, changed ? 1 : 0);
    this.campaign.set(n, campaign);
    this.detail.set(n, detail);
    return n;
  }

  /** Drops the rows after `count` (the rows of a transaction rolled back). */
  truncate(count: number): void {
    for (let n = count + 1; n <= this.count; n++) this.detail.set(n, undefined);
    this.count = count;
  }

  /** Copies the linked rows from `head` on into these rows; returns the new first and last row numbers. */
  copyList(from: LogRows, head: number): [number, number] {
    let first = 0;
    let last = 0;
    for (let n = head; n !== 0; n = from.next.get(n)) {
      const m = this.append(
        from.at.get(n),
        from.event.get(n),
        from.from.get(n),
        from.to.get(n),
        from.changed.get(n) === 1,
        from.campaign.get(n),
        from.detail.get(n),
      );
      if (last === 0) first = m;
      else this.next.set(last, m);
      last = m;
    }
    return [first, last];
  }

  /** How many rows are linked from `head` on. */
  length(head: number): number {
    let k = 0;
    for (let n = head; n !== 0; n = this.next.get(n)) k++;
    return k;
  }
}
