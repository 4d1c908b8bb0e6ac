/**
 * A sliding-window rate limiter: at most `perSecond` sends in any window of 1,000 ms, so no
 * one-second window ever holds more than the limit (a token bucket would allow bursts of twice it).
 */
export interface RateLimiter {
  /** How many sends may start at `now` (at most `wanted`); those are recorded as taken. */
  take(now: number, wanted: number): number;
  /** The earliest time a further send may start, or `now` when one may start already. */
  nextSlot(now: number): number;
}

/** A limiter for `perSecond` sends per second; `undefined` or `Infinity` means unlimited. */
export function createRateLimiter(perSecond: number | undefined): RateLimiter {
  if (perSecond === undefined || !Number.isFinite(perSecond)) {
    return { take: (_now, wanted) => wanted, nextSlot: (now) => now };
  }
  const size = Math.max(1, Math.floor(perSecond));
  // Ring of the start times of the last `size` sends; -Infinity means never used.
  const ring = new Float64Array(size).fill(Number.NEGATIVE_INFINITY);
  let head = 0; // oldest entry
  return {
    take(now, wanted) {
      let taken = 0;
      while (taken < wanted && (ring[head] as number) <= now - 1000) {
        ring[head] = now;
        head = (head + 1) % size;
        taken++;
      }
      return taken;
    },
    nextSlot(now) {
      const oldest = ring[head] as number;
      return oldest <= now - 1000 ? now : oldest + 1000;
    },
  };
}
