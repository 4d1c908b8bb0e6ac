import type { Page } from 'campaign-lifecycle';

/** Ids kept sorted, for paging by id; appends are O(1) because ids sort by creation time. */
export class SortedIds {
  readonly ids: string[] = [];
  add(id: string): void {
    const ids = this.ids;
    if (ids.length === 0 || (ids[ids.length - 1] as string) < id) {
      ids.push(id);
      return;
    }
    ids.splice(this.indexAfter(id, true), 0, id);
  }
  remove(id: string): void {
    const i = this.indexAfter(id, true);
    if (this.ids[i] === id) this.ids.splice(i, 1);
  }
  /** First index whose id is > `after` (or >= when `inclusive`). */
  indexAfter(after: string | undefined, inclusive = false): number {
    if (after === undefined) return 0;
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.ids[mid] as string;
      if (v < after || (!inclusive && v === after)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The one paging loop: the records of `ids` strictly after `p.after`, in id order, at most `p.limit`
 * of them, those `get` finds and `keep` accepts.
 */
export function page<T>(
  ids: SortedIds | undefined,
  p: Partial<Page>,
  get: (id: string) => T | undefined,
  keep?: (v: T) => boolean,
): T[] {
  const out: T[] = [];
  if (!ids) return out;
  const limit = p.limit ?? Number.POSITIVE_INFINITY;
  for (let i = ids.indexAfter(p.after); i < ids.ids.length && out.length < limit; i++) {
    const v = get(ids.ids[i] as string);
    if (v !== undefined && (!keep || keep(v))) out.push(v);
  }
  return out;
}
