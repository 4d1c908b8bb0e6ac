/**
 * Benchmark 1: message transitions. The dispatch → accepted → sent → delivered cycle of N SMS
 * messages, applied per second through
 *   E0 a new message's first state (`stepper.initial`), E1 the engine's pure message stepper alone (E1x the
 *   same without its compiled table: XState's public `transition()`, on a tenth of the messages),
 *   E2 the stepper plus the record update into a Map that a storage would do,
 *   E3 the full engine ingest path (`outreach.ingest`, batches of 1,000, memory storage),
 * beside (a) a hand-written `switch` reducer on plain objects in a Map (the limit) and (b) one live
 * XState actor per message. Then heap bytes per message at N messages: stored records (memory
 * storage) against live actors. Each approach applies each phase to every message before the next
 * phase, as provider callbacks arrive in real campaigns.
 * Run: node --expose-gc --import tsx bench/message-transitions.bench.ts [messages=100000] [rounds=3]
 */
import { createOutreach, DEFAULT_POLICY, type MessageRecord, type ProviderEvent } from 'campaign-lifecycle';
import type { MessageEvent } from 'campaign-lifecycle/machines';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { type AnyActorRef, createActor } from 'xstate';
import { createMessageStepper, type MessageCurrent } from '../src/machines/message-step.js';
import { smsMessageMachine } from '../src/machines/sms-message.js';
import { acceptingSmsTransport, addGeneratedContacts } from './bench-fixtures.js';
import { fmt, heapAfterGc, msSince, printTable, profiled, type Row, writeResults } from './bench-report.js';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const WARMUP = Math.min(N, 20_000);
const T0 = Date.UTC(2026, 0, 5, 9);
const SENDING_TIMEOUT = DEFAULT_POLICY.smsSendingTimeout;
const RECEIPT_TIMEOUT = DEFAULT_POLICY.smsReceiptTimeout;

/** The cycle's four events; only the accepted one differs per message (its provider id). */
const sids = Array.from({ length: N }, (_, i) => `SM${i.toString(16).padStart(32, '0')}`);
const dispatch: MessageEvent = { type: 'DISPATCH', at: T0 + 1 };
const accepted: MessageEvent[] = sids.map((sid) => ({ type: 'SEND_ACCEPTED', at: T0 + 2, providerMessageId: sid }));
const sent: MessageEvent = { type: 'PROVIDER_SENT', at: T0 + 3 };
const delivered: MessageEvent = { type: 'PROVIDER_DELIVERED', at: T0 + 4 };
const phases: ((i: number) => MessageEvent)[] = [
  () => dispatch,
  (i) => accepted[i] as MessageEvent,
  () => sent,
  () => delivered,
];
const EVENTS_PER_MESSAGE = phases.length;

const ids = Array.from({ length: N }, (_, i) => `msg_${i.toString(36).padStart(12, '0')}`);

function check(what: string, ok: boolean) {
  if (!ok) throw new Error(`${what}: the benchmark did not reach the state it claims to measure`);
}

// ── E1: the stepper alone ─────────────────────────────────────────────────
const stepper = createMessageStepper('sms', DEFAULT_POLICY);
const queuedStep = stepper.step(stepper.initial(T0), { type: 'QUEUE', at: T0 });

function runStepper(n: number): number {
  const current: MessageCurrent[] = new Array(n).fill(queuedStep);
  const start = process.hrtime.bigint();
  for (const phase of phases) {
    for (let i = 0; i < n; i++) current[i] = stepper.step(current[i] as MessageCurrent, phase(i));
  }
  const ms = msSince(start);
  check(
    'E1',
    current.every((c) => c.state === 'delivered'),
  );
  return ms;
}

// ── E0: a new message's first state (what `save` asks for every contact) ──
function runInitial(n: number): number {
  let last = queuedStep as MessageCurrent;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) last = stepper.initial(T0 + i);
  const ms = msSince(start);
  check('E0', last.state === 'waiting');
  return ms;
}

// ── E1x: the stepper without its compiled table (XState's public transition(), the fallback) ──
const xstateStepper = createMessageStepper('sms', DEFAULT_POLICY, { compiled: false });

function runXstateStepper(n: number): number {
  const current: MessageCurrent[] = new Array(n).fill(queuedStep);
  const start = process.hrtime.bigint();
  for (const phase of phases) {
    for (let i = 0; i < n; i++) current[i] = xstateStepper.step(current[i] as MessageCurrent, phase(i));
  }
  const ms = msSince(start);
  check(
    'E1x',
    current.every((c) => c.state === 'delivered'),
  );
  return ms;
}

// ── E2: the stepper plus the record update a storage does ─────────────────
const queuedRecord = (id: string): MessageRecord => ({
  id,
  campaignId: 'cmp_bench',
  contactId: `ctc_${id}`,
  scope: 'default',
  channel: 'sms',
  to: '+447400000000',
  status: 'queued',
  state: queuedStep.state,
  context: queuedStep.context,
  createdAt: T0,
  updatedAt: T0,
});

function runStepperMap(n: number): number {
  const map = new Map<string, MessageRecord>();
  for (let i = 0; i < n; i++) map.set(ids[i] as string, queuedRecord(ids[i] as string));
  const start = process.hrtime.bigint();
  for (const phase of phases) {
    for (let i = 0; i < n; i++) {
      const id = ids[i] as string;
      const m = map.get(id) as MessageRecord;
      const event = phase(i);
      const step = stepper.step(m, event);
      if (step.changed) {
        map.set(id, { ...m, status: step.status, state: step.state, context: step.context, updatedAt: event.at });
      }
    }
  }
  const ms = msSince(start);
  check(
    'E2',
    [...map.values()].every((m) => m.status === 'delivered'),
  );
  return ms;
}

// ── (a) the hand-written reducer: the limit ──────────────────────────────
interface PlainMessage {
  readonly id: string;
  readonly status: 'queued' | 'sending' | 'sent' | 'delivered';
  readonly attempts: number;
  readonly reason: string | null;
  readonly code: string | null;
  readonly providerMessageId: string | null;
  readonly updatedAt: number;
  /** When the pending timeout rule fires: the reducer keeps the same deadlines the machine asks for. */
  readonly deadlineAt: number | null;
}

function reduce(m: PlainMessage, e: MessageEvent): PlainMessage | null {
  switch (e.type) {
    case 'DISPATCH':
      return m.status === 'queued'
        ? { ...m, status: 'sending', attempts: m.attempts + 1, updatedAt: e.at, deadlineAt: e.at + SENDING_TIMEOUT }
        : null;
    case 'SEND_ACCEPTED':
      return m.status === 'sending' && e.providerMessageId !== undefined && e.providerMessageId !== m.providerMessageId
        ? { ...m, providerMessageId: e.providerMessageId, updatedAt: e.at }
        : null;
    case 'PROVIDER_SENT':
      return m.status === 'sending'
        ? {
            ...m,
            status: 'sent',
            reason: null,
            code: null,
            providerMessageId: e.providerMessageId ?? m.providerMessageId,
            updatedAt: e.at,
            deadlineAt: e.at + RECEIPT_TIMEOUT,
          }
        : null;
    case 'PROVIDER_DELIVERED':
      return m.status === 'sending' || m.status === 'sent'
        ? { ...m, status: 'delivered', updatedAt: e.at, deadlineAt: null }
        : null;
    default:
      return null;
  }
}

function runReducer(n: number): number {
  const map = new Map<string, PlainMessage>();
  for (let i = 0; i < n; i++) {
    const id = ids[i] as string;
    map.set(id, {
      id,
      status: 'queued',
      attempts: 0,
      reason: null,
      code: null,
      providerMessageId: null,
      updatedAt: T0,
      deadlineAt: null,
    });
  }
  const start = process.hrtime.bigint();
  for (const phase of phases) {
    for (let i = 0; i < n; i++) {
      const id = ids[i] as string;
      const next = reduce(map.get(id) as PlainMessage, phase(i));
      if (next) map.set(id, next);
    }
  }
  const ms = msSince(start);
  check(
    '(a)',
    [...map.values()].every((m) => m.status === 'delivered'),
  );
  return ms;
}

// ── (b) one live actor per message ──────────────────────────────────────
function createActors(n: number): AnyActorRef[] {
  const actors: AnyActorRef[] = new Array(n);
  for (let i = 0; i < n; i++) actors[i] = createActor(smsMessageMachine, { input: { at: T0 } }).start();
  return actors;
}

function runActors(actors: AnyActorRef[]): number {
  for (const a of actors) a.send({ type: 'QUEUE', at: T0 });
  const start = process.hrtime.bigint();
  for (const phase of phases) {
    for (let i = 0; i < actors.length; i++) (actors[i] as AnyActorRef).send(phase(i));
  }
  const ms = msSince(start);
  check(
    '(b)',
    actors.every((a) => a.getSnapshot().value === 'delivered'),
  );
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rate = (messages: number, ms: number) => (messages * EVENTS_PER_MESSAGE) / (ms / 1000);

console.log(
  `message-transitions: ${fmt(N)} SMS messages × ${EVENTS_PER_MESSAGE} events, ${ROUNDS} rounds, Node ${process.version}`,
);

// Warm every path up before timing, so the JIT has compiled each.
runStepper(WARMUP);
runInitial(WARMUP);
runXstateStepper(Math.min(WARMUP, 5000));
runStepperMap(WARMUP);
runReducer(WARMUP);
for (const a of (() => {
  const w = createActors(Math.min(WARMUP, 5000));
  runActors(w);
  return w;
})())
  a.stop();

const e1 = await profiled('transitions-e1-stepper', async () =>
  median(Array.from({ length: ROUNDS }, () => runStepper(N))),
);
const e0 = median(Array.from({ length: ROUNDS }, () => runInitial(N)));
// The fallback is ~10–30× slower: a tenth of the messages keeps the run short.
const NX = Math.max(1, Math.floor(N / 10));
const e1x = median(Array.from({ length: ROUNDS }, () => runXstateStepper(NX)));
const e2 = median(Array.from({ length: ROUNDS }, () => runStepperMap(N)));
const ra = median(Array.from({ length: ROUNDS }, () => runReducer(N)));

// (b) and the actors' heap: create N started actors (waiting), measure, then run the cycle.
const heapBeforeActors = heapAfterGc();
let start = process.hrtime.bigint();
let actors: AnyActorRef[] | null = createActors(N);
const actorCreateMs = msSince(start);
const heapActorsWaiting = heapAfterGc() - heapBeforeActors;
const rb = runActors(actors);
const heapActorsDelivered = heapAfterGc() - heapBeforeActors;
for (const a of actors) a.stop();
actors = null;

// ── E3: the full engine ingest path, and the stored records' heap ───────
const clock = createFakeClock({ start: T0 });
const outreach = createOutreach({
  storage: memoryStorage(),
  clock,
  transports: { sms: acceptingSmsTransport() },
  batchSize: 1000,
  onError: (e) => {
    throw e;
  },
});
const campaign = await outreach.createCampaign({
  name: 'transitions',
  channel: 'sms',
  content: { body: 'Hi {{first_name}}' },
});
// Contacts first, so that the heap delta of `save` is the messages alone.
await addGeneratedContacts(outreach, campaign.id, N);
const heapBeforeSave = heapAfterGc();
await outreach.save(campaign.id);
const heapRecordsWaiting = heapAfterGc() - heapBeforeSave;
await outreach.run(campaign.id);
start = process.hrtime.bigint();
await outreach.worker.runOnce(); // DISPATCH + SEND_ACCEPTED (no provider id yet) for every message
const dispatchMs = msSince(start);
const sending = await outreach.listMessages(campaign.id, { statuses: ['sending'], limit: N });
check('E3 setup', sending.length === N);
const batches: ProviderEvent[][] = [];
for (const status of ['sending', 'sent', 'delivered'] as const) {
  for (let i = 0; i < N; i += 1000) {
    batches.push(
      sending.slice(i, i + 1000).map((m, k) => ({
        type: 'status' as const,
        channel: 'sms' as const,
        messageId: m.id,
        providerMessageId: sids[i + k] as string,
        status,
      })),
    );
  }
}
sending.length = 0;
start = process.hrtime.bigint();
let applied = 0;
await profiled('transitions-e3-ingest', async () => {
  for (const batch of batches) applied += (await outreach.ingest(batch)).applied;
});
const e3 = msSince(start);
batches.length = 0;
const stats = await outreach.getStats(campaign.id);
check('E3', stats.counts.delivered === N && applied === 3 * N);
const heapRecordsDelivered = heapAfterGc() - heapBeforeSave;

const perMessage = (bytes: number) => bytes / N;
const figures = {
  messages: N,
  eventsPerMessage: EVENTS_PER_MESSAGE,
  eventsPerSecond: {
    e1Stepper: rate(N, e1),
    e2StepperAndMap: rate(N, e2),
    e3EngineIngest: (3 * N) / (e3 / 1000),
    aReducer: rate(N, ra),
    bLiveActors: rate(N, rb),
  },
  nsPerEvent: {
    e1Stepper: (e1 * 1e6) / (N * EVENTS_PER_MESSAGE),
    e2StepperAndMap: (e2 * 1e6) / (N * EVENTS_PER_MESSAGE),
    e3EngineIngest: (e3 * 1e6) / (3 * N),
    aReducer: (ra * 1e6) / (N * EVENTS_PER_MESSAGE),
    bLiveActors: (rb * 1e6) / (N * EVENTS_PER_MESSAGE),
  },
  initialPerSecond: N / (e0 / 1000),
  nsPerInitial: (e0 * 1e6) / N,
  xstateFallbackEventsPerSecond: rate(NX, e1x),
  xstateFallbackNsPerEvent: (e1x * 1e6) / (NX * EVENTS_PER_MESSAGE),
  engineDispatchMessagesPerSecond: N / (dispatchMs / 1000),
  actorCreateAndStartPerSecond: N / (actorCreateMs / 1000),
  heapBytesPerMessage: {
    recordsWaiting: perMessage(heapRecordsWaiting),
    actorsWaiting: perMessage(heapActorsWaiting),
    recordsDeliveredWithLog: perMessage(heapRecordsDelivered),
    actorsDelivered: perMessage(heapActorsDelivered),
  },
};
const ns = figures.nsPerEvent;
const ratios = {
  e1OverA: ns.e1Stepper / ns.aReducer,
  e2OverA: ns.e2StepperAndMap / ns.aReducer,
  e3OverA: ns.e3EngineIngest / ns.aReducer,
  bOverA: ns.bLiveActors / ns.aReducer,
  heapActorsOverRecordsWaiting: heapActorsWaiting / heapRecordsWaiting,
  heapActorsOverRecordsDelivered: heapActorsDelivered / heapRecordsDelivered,
};

const rows: Row[] = [
  {
    path: '(a) hand-written switch reducer, Map',
    'events/s': figures.eventsPerSecond.aReducer,
    'ns/event': ns.aReducer,
    'x (a)': 1,
  },
  {
    path: 'E1 message stepper alone',
    'events/s': figures.eventsPerSecond.e1Stepper,
    'ns/event': ns.e1Stepper,
    'x (a)': ratios.e1OverA,
  },
  {
    path: 'E2 stepper + record update in a Map',
    'events/s': figures.eventsPerSecond.e2StepperAndMap,
    'ns/event': ns.e2StepperAndMap,
    'x (a)': ratios.e2OverA,
  },
  {
    path: 'E3 engine ingest (1,000/batch, memory)',
    'events/s': figures.eventsPerSecond.e3EngineIngest,
    'ns/event': ns.e3EngineIngest,
    'x (a)': ratios.e3OverA,
  },
  {
    path: '(b) one live XState actor per message',
    'events/s': figures.eventsPerSecond.bLiveActors,
    'ns/event': ns.bLiveActors,
    'x (a)': ratios.bOverA,
  },
];
printTable(`Events per second (median of ${ROUNDS}; E3 and (b) one run; E3 counts its 3 provider events)`, rows);
printTable(`Heap bytes per message at ${fmt(N)} messages (after global.gc)`, [
  {
    state: 'waiting (after save / start)',
    'stored record': figures.heapBytesPerMessage.recordsWaiting,
    'live actor': figures.heapBytesPerMessage.actorsWaiting,
    'actor / record': ratios.heapActorsOverRecordsWaiting,
  },
  {
    state: 'delivered (record with its event log)',
    'stored record': figures.heapBytesPerMessage.recordsDeliveredWithLog,
    'live actor': figures.heapBytesPerMessage.actorsDelivered,
    'actor / record': ratios.heapActorsOverRecordsDelivered,
  },
]);
printTable('Other', [
  { figure: 'E0 stepper.initial() (a new message), per s', value: figures.initialPerSecond },
  { figure: 'E0 stepper.initial(), ns each', value: figures.nsPerInitial },
  { figure: 'E1x stepper without its table (XState fallback), events/s', value: figures.xstateFallbackEventsPerSecond },
  { figure: 'E1x stepper without its table, ns/event', value: figures.xstateFallbackNsPerEvent },
  { figure: 'engine dispatch (worker.runOnce), messages/s', value: figures.engineDispatchMessagesPerSecond },
  { figure: 'live actors created and started, per s', value: figures.actorCreateAndStartPerSecond },
]);
printTable('Targets', [
  {
    target: 'per event <= 3x the reducer (E2/a)',
    measured: `${fmt(ratios.e2OverA)}x`,
    met: ratios.e2OverA <= 3 ? 'yes' : 'no',
  },
  {
    target: 'per event <= 3x the reducer (E3/a)',
    measured: `${fmt(ratios.e3OverA)}x`,
    met: ratios.e3OverA <= 3 ? 'yes' : 'no',
  },
  {
    target: '>= 5x less heap than live actors',
    measured: `${fmt(ratios.heapActorsOverRecordsWaiting)}x`,
    met: ratios.heapActorsOverRecordsWaiting >= 5 ? 'yes' : 'no',
  },
]);
await writeResults('message-transitions', { ...figures, ratios });
