import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../../src/engine/rate-limiter.js';

describe('engine: sliding-window rate limiter', () => {
  it('should allow at most the limit in any window of 1,000 ms', () => {
    const l = createRateLimiter(3);
    expect(l.available(0)).toBe(3);
    l.record(0, 2);
    expect(l.available(500)).toBe(1);
    l.record(500, 1);
    expect(l.available(999)).toBe(0);
    expect(l.nextSlot(999)).toBe(1000);
    expect(l.available(1000)).toBe(2); // the two sends of t=0 left the window
    expect(l.available(1499)).toBe(2);
    expect(l.available(1500)).toBe(3);
  });

  it('should be unlimited without a rate', () => {
    const l = createRateLimiter(undefined);
    l.record(0, 1_000_000);
    expect(l.available(0)).toBe(Number.POSITIVE_INFINITY);
    expect(l.nextSlot(5)).toBe(5);
  });
});
