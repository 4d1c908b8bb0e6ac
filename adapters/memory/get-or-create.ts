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
