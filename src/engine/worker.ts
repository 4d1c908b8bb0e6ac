/**
 * The worker: the timer loop. Each round fires due deadlines and dispatches each channel; it keeps one
 * clock timer for its next wake-up (the next deadline, a rate-limit slot, or the poll), and on `stop`
 * ends the round early and aborts the signal that sends in flight were given.
 */
import type { TimerHandle } from '../ports/clock.js';
import type { EventSink } from '../provider-events.js';
import type { EngineContext } from './context.js';
import type { Deadlines } from './deadlines.js';
import type { Dispatch, RoundState } from './dispatch.js';
import type { OutreachWorker } from './outreach.js';

/** How long the worker waits before trying again after a failed round (a storage error, say). */
const WORKER_RETRY_MS = 1000;
/** How long `stop()` waits for sends in flight by default. */
const STOP_TIMEOUT_MS = 30_000;

/** The worker as the engine uses it: the public worker plus a nudge and the scheduled-start check. */
export interface EngineWorker extends OutreachWorker {
  /** Wakes the worker now (after a command). */
  kick(): void;
  /** Makes sure the worker wakes by `at` (a deadline an ingest just set). */
  wakeBy(at: number): void;
  /** Starts scheduled campaigns that are due on channels that were just released. */
  startDueScheduled(): Promise<void>;
}

/** What the worker runs. */
export interface WorkerParts {
  readonly deadlines: Deadlines;
  readonly dispatch: Dispatch;
  /** The sink transports report provider events to (`connect`), asked for when the worker starts. */
  readonly sink: () => EventSink;
  /** How often an idle worker looks for work other processes created; never when undefined. */
  readonly pollMs: number | undefined;
}

/** Builds the worker. */
export function createWorker(ctx: EngineContext, parts: WorkerParts): EngineWorker {
  const { clock, onError, transports, limiters, tx } = ctx;
  const { deadlines, dispatch, sink, pollMs } = parts;
  /** Aborted when the worker stops; a new one for the rounds after. */
  let controller = new AbortController();
  const round: RoundState = {
    get stopping() {
      return stopping;
    },
    get signal() {
      return controller.signal;
    },
  };

  let timer: TimerHandle | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let started = false;
  let busy: Promise<void> | null = null;
  let again = false;
  let stopping = false;

  const arm = (at: number) => {
    if (!started) return;
    if (timer !== undefined && timerAt <= at) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timerAt = at;
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        return runOnce().catch(onError);
      },
      Math.max(0, at - clock.now()),
    );
  };

  const runOnce = (): Promise<void> => {
    if (busy) {
      again = true;
      return busy;
    }
    if (controller.signal.aborted) controller = new AbortController();
    busy = (async () => {
      try {
        let rateWait = false;
        for (let i = 0; i < 1_000_000; i++) {
          if (stopping) break;
          again = false;
          const fired = await deadlines.fireDue();
          const [sms, email] = await Promise.all([
            dispatch.dispatchChannel('sms', round),
            dispatch.dispatchChannel('email', round),
          ]);
          rateWait = sms.waiting || email.waiting;
          // Held messages (outside their window, past the deadline) left the queue too: claim on.
          const moved = sms.sent + email.sent + sms.held + email.held;
          if (fired === 0 && moved === 0 && !again) break;
        }
        const now = clock.now();
        let next = (await tx((t) => t.nextDeadlineAt())) ?? Number.POSITIVE_INFINITY;
        if (rateWait) {
          for (const ch of ['sms', 'email'] as const)
            if (transports[ch]) next = Math.min(next, Math.max(now + 1, limiters[ch].nextSlot(now)));
        }
        if (pollMs !== undefined) next = Math.min(next, now + pollMs);
        if (Number.isFinite(next)) arm(next);
      } catch (error) {
        // The failed transaction rolled back; try again shortly rather than stall the campaign for ever.
        arm(clock.now() + WORKER_RETRY_MS);
        throw error;
      } finally {
        busy = null;
        stopping = false;
      }
    })();
    return busy;
  };

  const worker: EngineWorker = {
    startDueScheduled: deadlines.startDueScheduled,
    start() {
      if (started) return;
      started = true;
      for (const t of Object.values(transports)) t?.connect?.(sink());
      arm(clock.now());
    },
    async stop(opts) {
      started = false;
      // Sends in flight are told (`SendOptions.signal`); what they answer is recorded as usual.
      controller.abort();
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      if (!busy) return;
      // The round ends early: unstarted claims go back to the queue, sends in flight are recorded.
      stopping = true;
      let bound: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          busy.catch(() => {}), // the round's error went to whoever started it
          new Promise<void>((resolve) => {
            bound = setTimeout(resolve, opts?.timeoutMs ?? STOP_TIMEOUT_MS);
          }),
        ]);
      } finally {
        clearTimeout(bound);
      }
    },
    runOnce,
    get running() {
      return started;
    },
    kick() {
      if (started) arm(clock.now());
    },
    wakeBy(at) {
      if (started) arm(at);
    },
  };

  return worker;
}
