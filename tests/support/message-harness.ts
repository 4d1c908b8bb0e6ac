/**
 * A tiny in-test engine over the message stepper: it keeps timers as `{ fireAt, event }` rows, as the
 * real engine keeps deadlines, and a fake time source that fires them when time reaches them.
 */

import type { MessageEvent, TimerEvent } from '../../src/machines/message-events.js';
import { createMessageStepper, type MessageStep, type MessageStepper } from '../../src/machines/message-step.js';
import { DEFAULT_POLICY, type Policy } from '../../src/policy.js';
import type { MessageContext } from '../../src/records.js';
import type { Channel, MessageStatus } from '../../src/statuses.js';

/** A message event without its timestamp: the harness stamps `at` from its clock. */
export type Unstamped = { type: string } & Record<string, unknown>;

/** One message driven by the stepper, with its own timer table and clock. */
export class TinyEngine {
  readonly stepper: MessageStepper;
  now: number;
  state: string;
  status: MessageStatus;
  context: MessageContext;
  /** Pending timers by id, as a deadline table would keep them. */
  readonly timers = new Map<string, { fireAt: number; event: { type: string } }>();
  /** Every step taken, in order. */
  readonly history: { event: string; at: number; step: MessageStep }[] = [];

  constructor(channel: Channel, policy: Policy = DEFAULT_POLICY, start = 0, stepper?: MessageStepper) {
    this.stepper = stepper ?? createMessageStepper(channel, policy);
    this.now = start;
    const first = this.stepper.initial(start);
    this.state = first.state;
    this.status = first.status;
    this.context = first.context;
  }

  /** An independent copy (same stepper, clock, state and timers; fresh history). */
  clone(): TinyEngine {
    const copy = Object.create(TinyEngine.prototype) as TinyEngine;
    Object.assign(copy, this, { timers: new Map(this.timers), history: [] });
    return copy;
  }

  /** Applies an event at the current time (timers fire first if due). */
  send(event: Unstamped): MessageStep {
    return this.apply({ ...event, at: this.now } as MessageEvent);
  }

  /** Applies an event exactly as given (no timers fired): for stale or hand-made timer events. */
  apply(event: MessageEvent | TimerEvent): MessageStep {
    const step = this.stepper.step({ state: this.state, context: this.context }, event);
    this.history.push({ event: event.type, at: event.at, step });
    if (step.changed) {
      for (const id of step.timers.cancel) this.timers.delete(id);
      for (const t of step.timers.set) this.timers.set(t.id, { fireAt: event.at + t.delay, event: t.event });
      this.state = step.state;
      this.status = step.status;
      this.context = step.context;
    }
    return step;
  }

  /** Moves the clock to `time`, firing every due timer at its own deadline, earliest first. */
  advanceTo(time: number): void {
    for (;;) {
      let next: [string, { fireAt: number; event: { type: string } }] | undefined;
      for (const entry of this.timers)
        if (entry[1].fireAt <= time && (!next || entry[1].fireAt < next[1].fireAt)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].fireAt);
      this.apply({ ...next[1].event, at: next[1].fireAt });
    }
    this.now = Math.max(this.now, time);
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.advanceTo(this.now + ms);
  }

  /** The pending timer whose event has this type, if any. */
  timerOfType(type: string): { fireAt: number; event: { type: string } } | undefined {
    for (const t of this.timers.values()) if (t.event.type === type) return t;
    return undefined;
  }

  /** Fires the pending timer with this event type by moving the clock to its deadline. */
  fire(type: string): MessageStep {
    const timer = this.timerOfType(type);
    if (!timer) throw new Error(`no pending timer ${type} in state ${this.state}`);
    this.advanceTo(timer.fireAt);
    const last = this.history.at(-1);
    if (!last || last.event !== type) throw new Error(`timer ${type} did not fire`);
    return last.step;
  }
}
