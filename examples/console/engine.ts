/**
 * The console's engine: `createOutreach` over memory storage (or PostgreSQL when `DATABASE_URL` is
 * set) with simulated carriers. In simulate mode the engine runs on a fake clock that a real timer
 * moves forward `speed` times faster than real time, so the 10-minute rules of a whole campaign
 * lifecycle pass in seconds; the console can also pause the clock or skip ahead.
 */
import {
  createOutreach,
  type EmailTransport,
  type Outreach,
  type OutreachOptions,
  type SmsTransport,
  systemClock,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import {
  createFakeClock,
  type EmailOutcome,
  type FakeClock,
  type SmsOutcome,
  simulatedEmailCarrier,
  simulatedSmsCarrier,
} from 'campaign-lifecycle/testing';
import pg from 'pg';

/** The simulated clock of simulate mode, and its controls. */
export interface Simulation {
  readonly clock: FakeClock;
  /** Campaign milliseconds per real millisecond while playing. */
  readonly speed: number;
  readonly playing: boolean;
  play(): void;
  pause(): void;
  /** Moves the clock forward by `ms` at once (after any move under way), firing every timer due on the way. */
  advance(ms: number): Promise<void>;
  /** Stops the real timer that drives the clock. */
  close(): Promise<void>;
}

/** Options of {@link createConsoleEngine}. */
export interface ConsoleEngineOptions {
  /** Drive the engine on a fake clock (`speed` × real time) instead of the system clock. @defaultValue true */
  simulate?: boolean;
  /** Campaign time per real time in simulate mode. @defaultValue 60 */
  speed?: number;
  /** Whether the simulated clock starts moving at once. @defaultValue true */
  playing?: boolean;
  /** A PostgreSQL connection string; memory storage when absent. */
  databaseUrl?: string | undefined;
  /** The PostgreSQL schema of the console's tables. @defaultValue 'campaign_console' */
  schema?: string;
  /** Where the engine reports errors it cannot throw to anyone. @defaultValue console.error */
  onError?: (error: unknown) => void;
}

/** The engine and what the console shows about it. */
export interface ConsoleEngine {
  readonly outreach: Outreach;
  /** The clock controls, in simulate mode. */
  readonly simulation: Simulation | null;
  /** "memory" or "PostgreSQL (schema …)". */
  readonly storageLabel: string;
  /** Stops the worker, the clock and the database pool. */
  close(): Promise<void>;
}

/** A stable number 0..99 for an address (FNV-1a), so a contact's simulated fate never depends on send order. */
function bucket(address: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) {
    h ^= address.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 100;
}

/** What the simulated Twilio does with a number on its first send: mostly delivered, with seed 001's failures. */
export function smsFate(address: string): SmsOutcome {
  const b = bucket(address);
  if (b < 66) return { kind: 'delivered' };
  if (b < 74) return { kind: 'no_receipt' }; // Assumed Delivered after 10 minutes
  if (b < 80) return { kind: 'silent' }; // Failed (Timed Out) after 10 minutes: retryable
  if (b < 85) return { kind: 'undelivered', code: '30003' }; // Unreachable Number: not retryable
  if (b < 88) return { kind: 'undelivered', code: '30007' }; // Blocked by Carrier/User
  if (b < 90) return { kind: 'rejected', code: '21211' }; // Invalid Number, refused at once
  if (b < 93) return { kind: 'stop_reply' }; // Opted Out
  return { kind: 'presend_error', times: 2, then: { kind: 'delivered' } }; // two 503s, then delivered
}

/** What the simulated SendGrid does with an address on its first send. */
export function emailFate(address: string): EmailOutcome {
  const b = bucket(address);
  if (b < 64) return { kind: 'delivered' };
  if (b < 74) return { kind: 'engaged', click: b % 2 === 0 };
  if (b < 82) return { kind: 'deferred', times: 3, every: '10m' }; // Retrying, then Delivered
  if (b < 87) return { kind: 'bounce', type: 'bounce' }; // Bounced: not retryable
  if (b < 92) return { kind: 'bounce', type: 'blocked' }; // Blocked: retryable
  return { kind: 'unsubscribe' };
}

/**
 * Simulated carriers whose first send of a message follows its fate, and whose send after a manual
 * retry is delivered (the trouble has passed), so that "Retry" visibly works. A send rate (in campaign
 * time) makes dispatch visible: 2 SMS and 4 emails a second.
 */
function simulatedTransports(clock: FakeClock | typeof systemClock, failedOnce: ReadonlySet<string>, paced: boolean) {
  const SMS_LIMITS = paced ? { ratePerSecond: 2, concurrency: 4 } : { concurrency: 4 };
  const EMAIL_LIMITS = paced ? { ratePerSecond: 4, concurrency: 8 } : { concurrency: 8 };
  const smsFirst = simulatedSmsCarrier({ clock, limits: SMS_LIMITS, decide: ({ to }) => smsFate(to) });
  const smsRetry = simulatedSmsCarrier({ clock, limits: SMS_LIMITS });
  const emailFirst = simulatedEmailCarrier({ clock, limits: EMAIL_LIMITS, decide: ({ to }) => emailFate(to) });
  const emailRetry = simulatedEmailCarrier({ clock, limits: EMAIL_LIMITS });
  const sms: SmsTransport = {
    channel: 'sms',
    name: 'simulated-sms',
    limits: SMS_LIMITS,
    send: (message, options) => (failedOnce.has(message.messageId) ? smsRetry : smsFirst).send(message, options),
    connect(sink) {
      smsFirst.connect?.(sink);
      smsRetry.connect?.(sink);
    },
  };
  const email: EmailTransport = {
    channel: 'email',
    name: 'simulated-email',
    limits: EMAIL_LIMITS,
    send: (message, options) => (failedOnce.has(message.messageId) ? emailRetry : emailFirst).send(message, options),
    connect(sink) {
      emailFirst.connect?.(sink);
      emailRetry.connect?.(sink);
    },
  };
  return { sms, email };
}

const TICK_MS = 100;

function createSimulation(clock: FakeClock, speed: number, playing: boolean, onError: (e: unknown) => void) {
  let queue: Promise<void> = Promise.resolve();
  let moving = false;
  const enqueue = (ms: number) => {
    queue = queue.then(() => clock.advance(ms)).catch(onError);
    return queue;
  };
  const timer = setInterval(() => {
    if (!simulation.playing || moving) return; // never pile up ticks behind a slow one
    moving = true;
    void enqueue(speed * TICK_MS).finally(() => {
      moving = false;
    });
  }, TICK_MS);
  timer.unref();
  const simulation = {
    clock,
    speed,
    playing,
    play() {
      simulation.playing = true;
    },
    pause() {
      simulation.playing = false;
    },
    advance: (ms: number) => enqueue(ms),
    async close() {
      clearInterval(timer);
      await queue;
    },
  };
  return simulation satisfies Simulation;
}

/**
 * Builds the console's engine.
 * @example const { outreach, simulation } = createConsoleEngine({ simulate: true, speed: 60 });
 */
export function createConsoleEngine(options: ConsoleEngineOptions = {}): ConsoleEngine {
  const onError = options.onError ?? ((e: unknown) => console.error('[console]', e));
  const simulate = options.simulate ?? true;
  // The fake clock starts at the real time, so campaigns kept in PostgreSQL keep sensible dates.
  const fake = simulate ? createFakeClock({ start: Date.now() }) : null;
  const clock = fake ?? systemClock;
  const failedOnce = new Set<string>();
  const pool = options.databaseUrl ? new pg.Pool({ connectionString: options.databaseUrl, max: 10 }) : null;
  const schema = options.schema ?? 'campaign_console';
  const engineOptions: OutreachOptions = {
    storage: pool ? postgresStorage({ pool, schema }) : memoryStorage(),
    clock,
    // Not paced on PostgreSQL: while one channel waits for a send slot, the worker currently wakes every
    // millisecond of campaign time when the other channel also has a transport, and each wake-up is a
    // few database round trips, so a paced campaign on PostgreSQL would crawl.
    transports: simulatedTransports(clock, failedOnce, pool === null),
    defaultCountry: 'US',
    onError,
    // On a shared database the worker looks for other processes' work every second of campaign time
    // by default; on the fast simulated clock every 10 seconds of it is plenty (a sixth of a real second).
    ...(pool && fake ? { pollInterval: '10s' as const } : {}),
  };
  const outreach = createOutreach(engineOptions);
  outreach.subscribe((event) => {
    if (event.type === 'message.status' && event.to === 'failed') failedOnce.add(event.messageId);
  });
  const simulation = fake ? createSimulation(fake, options.speed ?? 60, options.playing ?? true, onError) : null;
  outreach.worker.start();
  return {
    outreach,
    simulation,
    storageLabel: pool ? `PostgreSQL (schema ${schema})` : 'memory',
    async close() {
      await simulation?.close();
      await outreach.worker.stop();
      await pool?.end();
    },
  };
}
