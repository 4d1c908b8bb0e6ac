import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, createMachine } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { MESSAGE_STATE_STATUS, type MessageStateId } from '../../../src/machines/message-machine-shared.js';
import type { MessageContext } from '../../../src/records.js';
import type { Channel } from '../../../src/statuses.js';
import { TinyEngine, type Unstamped } from '../../support/message-harness.js';

type Snap = { value: unknown; context: MessageContext };

/** Drops the noisy parts of the context (times) so that the graph stays small. */
const serialize = (s: Snap) =>
  JSON.stringify({
    v: s.value,
    a: s.context.attempts,
    r: s.context.reason,
    p: s.context.providerMessageId !== null,
    d: Math.min(s.context.deferrals, 2),
  });

const common: Unstamped[] = [
  { type: 'QUEUE' },
  { type: 'DISPATCH' },
  { type: 'RELEASE' },
  { type: 'SEND_ACCEPTED', providerMessageId: 'p1' },
  { type: 'PROVIDER_SENDING', providerMessageId: 'p1' },
  { type: 'SEND_UNKNOWN', error: 'socket hang up' },
  { type: 'SEND_PRESEND_ERROR', error: 'ECONNREFUSED' },
  { type: 'SEND_REJECTED', reason: 'invalid_number', code: '21211' },
  { type: 'SEND_REJECTED', reason: 'opted_out', code: '21610' },
  { type: 'PROVIDER_DELIVERED' },
  { type: 'PROVIDER_FAILED', reason: 'unreachable', code: '30003' },
  { type: 'PROVIDER_FAILED', reason: 'opted_out', code: '21610' },
  { type: 'OPT_OUT', source: 'STOP' },
  { type: 'CANCEL' },
  { type: 'CLOSE' },
  { type: 'RETRY' },
  { type: 'HOLD', until: 3_600_000 },
  { type: 'DEADLINE_PASSED' },
];

const cases: { channel: Channel; machine: () => AnyStateMachine; events: Unstamped[] }[] = [
  {
    channel: 'sms',
    machine: () => new TinyEngine('sms').stepper.machine,
    events: [
      ...common,
      { type: 'PROVIDER_SENT', providerMessageId: 'p1' },
      { type: 'xstate.after.presendBackoff.sms.backoff' },
      { type: 'xstate.after.windowOpens.sms.outside_window' },
      { type: 'xstate.after.sendingTimeout.sms.sending' },
      { type: 'xstate.after.receiptTimeout.sms.sent' },
    ],
  },
  {
    channel: 'email',
    machine: () => new TinyEngine('email').stepper.machine,
    events: [
      ...common,
      { type: 'PROVIDER_DEFERRED' },
      { type: 'PROVIDER_DEFERRED', attempt: 1 },
      { type: 'xstate.after.presendBackoff.email.backoff' },
      { type: 'xstate.after.windowOpens.email.outside_window' },
      { type: 'xstate.after.sendingTimeout.email.sending' },
      { type: 'xstate.after.deferralWindow.email.retrying' },
    ],
  },
];

/** Replays a model step through the tiny engine: a delay event fires the stored timer at its deadline. */
function replay(engine: TinyEngine, event: Unstamped) {
  if (event.type.startsWith('xstate.after.')) {
    if (engine.timerOfType(event.type)) return engine.fire(event.type);
    // No timer pending: the model's event is a stale timer, which must change nothing.
    return engine.apply({ type: event.type, at: engine.now });
  }
  engine.advance(1_000);
  return engine.send(event);
}

/** State nodes of the machine that no shortest path ends in. */
function unreachedStates(machine: AnyStateMachine, events: Unstamped[]): string[] {
  const options = { input: { at: 0 }, events: events.map((e) => ({ ...e, at: 0 })), serializeState: serialize };
  const reached = new Set(getShortestPaths(machine, options as never).map((p) => (p.state as Snap).value as string));
  return Object.keys(machine.root.states).filter((s) => !reached.has(s));
}

const engineSnap = (e: TinyEngine): Snap => ({ value: e.state, context: e.context });

for (const { channel, machine: build, events } of cases) {
  const machine = build();
  const options = {
    input: { at: 0 },
    events: events.map((e) => ({ ...e, at: 0 })),
    serializeState: serialize,
  } as never;
  const paths = getShortestPaths(machine, options) as unknown as {
    state: Snap;
    steps: { event: Unstamped; state: Snap }[];
  }[];
  const adjacency = getAdjacencyMap(machine, options) as unknown as Record<
    string,
    { state: Snap; transitions: Record<string, { event: Unstamped; state: Snap }> }
  >;
  const pathTo = new Map(paths.map((p) => [serialize(p.state), p]));

  const reachedEngines = new Map<string, TinyEngine>();
  /** A fresh engine in the state a vertex names, reached by replaying its shortest path (once). */
  const engineAt = (key: string) => {
    let engine = reachedEngines.get(key);
    if (!engine) {
      const path = pathTo.get(key);
      if (!path) throw new Error(`no path to ${key}`);
      engine = new TinyEngine(channel);
      for (const step of path.steps.slice(1)) replay(engine, step.event);
      reachedEngines.set(key, engine);
    }
    return engine.clone();
  };

  describe(`${channel}-message machine: model-based paths`, () => {
    it('should reach every state node of the machine through a generated path', () => {
      expect(unreachedStates(machine, events)).toEqual([]);
    });

    it.each(paths.map((p) => [serialize(p.state), p] as const))('should replay the path to %s', (_key, path) => {
      const engine = new TinyEngine(channel);
      for (const step of path.steps.slice(1)) {
        replay(engine, step.event);
        expect(serialize(engineSnap(engine))).toBe(serialize(step.state));
        expect(engine.status).toBe(MESSAGE_STATE_STATUS[engine.state as MessageStateId]);
      }
    });

    const edges = Object.entries(adjacency).flatMap(([from, { transitions }]) =>
      Object.values(transitions).map((t) => [`${from} --${t.event.type}-->`, from, t] as const),
    );

    it.each(Object.keys(adjacency))('should take every generated edge out of %s', (from) => {
      for (const { event, state: to } of Object.values(adjacency[from]!.transitions)) {
        const engine = engineAt(from);
        const before = serialize(engineSnap(engine));
        const step = replay(engine, event);
        expect(serialize(engineSnap(engine)), `${from} --${event.type}-->`).toBe(serialize(to));
        if (!step.changed) expect(serialize(engineSnap(engine))).toBe(before);
      }
    });

    it('should take every transition the machine defines through some generated edge', () => {
      const defined = new Set<string>();
      for (const node of Object.values(machine.root.states)) {
        for (const [type, transitions] of node.transitions) {
          for (const t of transitions) defined.add(`${node.key} --${type}--> ${t.target?.[0]?.key ?? node.key}`);
        }
      }
      const taken = new Set<string>();
      for (const [, from, { event }] of edges) {
        const engine = engineAt(from);
        const source = engine.state;
        if (replay(engine, event).changed) taken.add(`${source} --${event.type}--> ${engine.state}`);
      }
      expect([...defined].filter((d) => !taken.has(d))).toEqual([]);
      expect([...taken].filter((t) => !defined.has(t))).toEqual([]);
    });
  });
}

describe('message machines: model coverage guard', () => {
  it('should report a state that no generated path reaches when a machine gains one', () => {
    const base = cases[0]!.machine();
    const grown = createMachine(
      { ...base.config, states: { ...base.config.states, orphan: { tags: ['final'] } } } as never,
      base.implementations as never,
    ) as unknown as AnyStateMachine;
    expect(unreachedStates(grown, cases[0]!.events)).toEqual(['orphan']);
  });
});
