/**
 * The worker's wake-ups: a channel waiting for its rate limit wakes the worker at its next slot, and an
 * idle channel configured beside it (whose limiter always answers "now") does not wake it every millisecond.
 */
import type { Clock } from 'campaign-lifecycle';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';
import { harness, readyCampaign, statusesOf } from '../../support/harness.js';

/** The fake clock, with a count of the timers the engine set on it. */
function countingClock() {
  const clock = createFakeClock();
  const counted = { timers: 0 };
  const engineClock: Clock = {
    now: () => clock.now(),
    setTimeout: (fn, ms) => {
      counted.timers++;
      return clock.setTimeout(fn, ms);
    },
    clearTimeout: (h) => clock.clearTimeout(h),
  };
  return { clock, engineClock, counted };
}

describe('worker: waiting for a rate-limit slot', () => {
  it('a rate-limited SMS campaign with an idle email transport configured wakes the worker once per slot, not every millisecond', async () => {
    const { clock, engineClock, counted } = countingClock();
    const { outreach, sms } = harness({
      clock,
      engineClock,
      sms: { limits: { ratePerSecond: 5 } },
      email: { limits: { ratePerSecond: 10 } },
    });
    const c = await readyCampaign(outreach, 'sms', 100);
    await outreach.run(c.id);
    await clock.advance('25s');
    expect(sms.sendCalls).toBe(100); // 20 s of sending at 5 a second
    await clock.advance('5m');
    expect(await statusesOf(outreach, c.id)).toEqual({ delivered: 100 });
    // One wake-up per slot (20) plus the deadlines of 100 messages; it was 19,019 with the idle limiter.
    expect(counted.timers).toBeLessThan(500);
  });
});
