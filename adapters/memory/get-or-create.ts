/** The value under `key`, made by `make` and stored first if absent: the one get-or-create of the memory adapter. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** A key of two strings joined by a character that never occurs in either. */
export const key2 = (a: string, b: string): string => `${a}\u0000${b}`;

/** Counts one more `key` (a multiset: the same address may be held by several contacts). */
export function countUp<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Counts one `key` less, forgetting it at zero. */
export function countDown<K>(counts: Map<K, number> | undefined, key: K): void {
  const n = counts?.get(key);
  if (counts === undefined || n === undefined) return;
  if (n <= 1) counts.delete(key);
  else counts.set(key, n - 1);
}
