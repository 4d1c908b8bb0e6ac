/**
 * A fake clock for tests: time moves only when the test says so, and every timer due in between
 * fires in time order, each awaited before the next, so days of campaign time run in milliseconds.
 */
import { type Clock, type Duration, OutreachError, type TimerHandle, toMs } from 'campaign-lifecycle';

interface Timer {
  id: number;
  at: number;
  seq: number;
  fn: () => unknown;
}

/** A {@link Clock} whose time a test controls. */
export interface FakeClock extends Clock {
  /** Moves time forward by `duration` (ms or `'10m'`, `'72h'`…), firing every timer due on the way, in time order. */
  advance(duration: Duration): Promise<void>;
  /** Moves time to a date (never backwards), firing every timer due on the way. */
  set(date: Date | number | string): Promise<void>;
  /** Fires the timers due now (after letting pending promises settle). */
  flush(): Promise<void>;
  /** Fires timers until none is left, up to `limit` timers; returns how many fired. */
  runAll(limit?: number): Promise<number>;
  /** Number of timers waiting. */
  readonly pending: number;
}

/** Options of {@link createFakeClock}. */
export interface FakeClockOptions {
  /** The start time. @defaultValue 2026-01-05T09:00:00Z (a Monday morning, UTC) */
  start?: Date | number | string;
}

const toTime = (value: Date | number | string): number => {
  const t = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(t))
    throw new OutreachError('VALIDATION_FAILED', `"${String(value)}" is not a date the fake clock can use.`);
  return t;
};

// Lets pending promises (and, on Node, pending I/O callbacks) run: `setImmediate` where the runtime
// has it (Node, Bun, Deno), else a zero-delay timer (edge runtimes, browsers). Looked up per call, so
// loading the module touches no runtime-specific global.
const settle = () =>
  new Promise<void>((resolve) => {
    const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
    if (typeof immediate === 'function') immediate(resolve);
    else setTimeout(resolve, 0);
  });

/**
 * Creates a fake clock.
 * @example
 * const clock = createFakeClock();
 * const outreach = createOutreach({ storage: memoryStorage(), clock, transports: { sms } });
 * await clock.advance('10m'); // every rule due in the next 10 minutes fires, in order
 */
export function createFakeClock(options: FakeClockOptions = {}): FakeClock {
  let now = toTime(options.start ?? '2026-01-05T09:00:00Z');
  let nextId = 1;
  let seq = 0;
  const heap: Timer[] = [];
  const live = new Set<number>();

  const less = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  const push = (t: Timer) => {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(t, heap[p] as Timer)) break;
      heap[i] = heap[p] as Timer;
      i = p;
    }
    heap[i] = t;
  };
  const pop = (): Timer | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last;
        if (l < heap.length && less(heap[l] as Timer, mv)) {
          m = l;
          mv = heap[l] as Timer;
        }
        if (r < heap.length && less(heap[r] as Timer, mv)) m = r;
        if (m === i) break;
        heap[i] = heap[m] as Timer;
        i = m;
      }
      heap[i] = last;
    }
    return top;
  };
  const peekLive = (): Timer | undefined => {
    while (heap.length > 0 && !live.has((heap[0] as Timer).id)) pop();
    return heap[0];
  };

  let running: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = running.then(fn, fn);
    running = result.catch(() => undefined);
    return result;
  };

  const runUntil = async (end: number, limit = Number.POSITIVE_INFINITY): Promise<number> => {
    let fired = 0;
    while (fired < limit) {
      let next = peekLive();
      if (!next || next.at > end) {
        await settle(); // let work started by the last callback schedule its timers
        next = peekLive();
        if (!next || next.at > end) break;
      }
      pop();
      live.delete(next.id);
      if (next.at > now) now = next.at;
      fired++;
      await next.fn();
    }
    if (end > now && Number.isFinite(end)) now = end;
    return fired;
  };

  return {
    now: () => now,
    setTimeout(fn: () => unknown, ms: number): TimerHandle {
      const id = nextId++;
      live.add(id);
      push({ id, at: now + Math.max(0, Number.isFinite(ms) ? ms : 0), seq: seq++, fn });
      return id;
    },
    clearTimeout(handle: TimerHandle) {
      live.delete(handle as number);
    },
    advance(duration) {
      return exclusive(async () => {
        await runUntil(now + toMs(duration));
      });
    },
    set(date) {
      return exclusive(async () => {
        const target = toTime(date);
        if (target < now) {
          throw new OutreachError(
            'VALIDATION_FAILED',
            `The fake clock cannot go back from ${new Date(now).toISOString()} to ${new Date(target).toISOString()}.`,
          );
        }
        await runUntil(target);
      });
    },
    flush() {
      return exclusive(async () => {
        await runUntil(now);
      });
    },
    runAll(limit = 1_000_000) {
      return exclusive(() => runUntil(Number.POSITIVE_INFINITY, limit));
    },
    get pending() {
      let n = 0;
      for (const t of heap) if (live.has(t.id)) n++;
      return n;
    },
  };
}
