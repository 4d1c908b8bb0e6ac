/**
 * A sliding-window rate limiter: at most `perSecond` sends in any window of 1,000 ms, so no
 * one-second window ever holds more than the limit (a token bucket would allow bursts of twice it).
 * The dispatcher asks how many sends fit before it claims messages, and records the sends at the
 * moment it starts them, so the window is measured where the transport sees it.
 */
export interface RateLimiter {
  /** How many sends may start at `now`. */
  available(now: number): number;
  /** Records `count` sends starting at `now` (never more than `available(now)` allowed). */
  record(now: number, count: number): void;
  /** The earliest time a further send may start, or `now` when one may start already. */
  nextSlot(now: number): number;
}

/** A limiter for `perSecond` sends per second; `undefined` or `Infinity` means unlimited. */
export function createRateLimiter(perSecond: number | undefined): RateLimiter {
  if (perSecond === undefined || !Number.isFinite(perSecond)) {
    return { available: () => Number.POSITIVE_INFINITY, record: () => {}, nextSlot: (now) => now };
  }
  const size = Math.max(1, Math.floor(perSecond));
  // Ring of the start times of the last `size` sends, oldest at `head`; -Infinity means never used.
  const ring = new Float64Array(size).fill(Number.NEGATIVE_INFINITY);
  let head = 0;
  // A send at `t` leaves the window [now - 999, now] once now >= t + 1000.
  const free = (i: number, now: number) => (ring[(head + i) % size] as number) <= now - 1000;
  return {
    available(now) {
      let n = 0;
      while (n < size && free(n, now)) n++;
      return n;
    },
    record(now, count) {
      for (let i = 0; i < count; i++) {
        ring[head] = now;
        head = (head + 1) % size;
      }
    },
    nextSlot(now) {
      const oldest = ring[head] as number;
      return oldest <= now - 1000 ? now : oldest + 1000;
    },
  };
}
