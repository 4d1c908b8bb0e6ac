/**
 * Paging through a storage list ordered by id: each page starts after the last id of the one before,
 * and a short page is the last.
 */

/**
 * Yields the pages of a list, `limit` items at most each (an empty list yields nothing).
 * @param list reads one page: the items after `after` (from the start when undefined)
 * @param idOf the id of an item, where the next page starts
 */
export async function* pages<T>(
  list: (after: string | undefined, limit: number) => Promise<readonly T[]>,
  limit: number,
  idOf: (item: T) => string,
): AsyncGenerator<readonly T[]> {
  let after: string | undefined;
  for (;;) {
    const page = await list(after, limit);
    if (page.length > 0) yield page;
    const last = page[page.length - 1];
    if (page.length < limit || last === undefined) return;
    after = idOf(last);
  }
}

/** The id of a record, for {@link pages}. */
export const byId = (item: { readonly id: string }) => item.id;
