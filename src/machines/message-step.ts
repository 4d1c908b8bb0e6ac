/**
 * The pure step function the engine drives message machines with: (state, context, event) → next
 * state, status, context and the timers to set or cancel. It is the one place that runs the message
 * machines: through their compiled (state, event) table (compiled-step.ts, ≈ 1 µs a step), or, for a
 * machine the compiler does not handle (or `compiled: false`), through XState's public
 * `initialTransition()`/`transition()` (≈ 20–30 µs: each call builds a throwaway actor).
 */
import { type AnyStateMachine, type ExecutableActionObject, initialTransition, transition } from 'xstate';
import * as z from 'zod';
import { OutreachError } from '../errors.js';
import type { Policy } from '../policy.js';
import type { MessageContext } from '../records.js';
import type { Channel, MessageStatus } from '../statuses.js';
import { compileFlatMachine } from './compiled-step.js';
import { createEmailMessageMachine, type EmailMessageMachine } from './email-message.js';
import { type MessageEvent, MessageEventSchema, type TimerEvent, TimerEventSchema } from './message-events.js';
import { MESSAGE_STATE_STATUS, type MessageStateId } from './message-machine-shared.js';

import { createSmsMessageMachine, type SmsMessageMachine } from './sms-message.js';

/** A timer a step asks for: fire `event` on the message `delay` ms after the step's `at`. */
export interface MessageTimer {
  /** Stable per state (XState's delayed-event id): a re-armed timer replaces the old one. */
  readonly id: string;
  readonly delay: number;
  readonly event: { readonly type: string };
}

/** The result of one step. */
export interface MessageStep {
  /** The machine's state node (`backoff` shows as status `queued`). */
  readonly state: string;
  readonly status: MessageStatus;
  readonly context: MessageContext;
  /** False when the machine ignored the event (duplicate, backward move, stale timer). */
  readonly changed: boolean;
  readonly timers: {
    readonly set: readonly MessageTimer[];
    /** Ids of timers to delete. */
    readonly cancel: readonly string[];
  };
}

/** A message's persisted state, as the stepper reads it. */
export interface MessageCurrent {
  readonly state: string;
  readonly context: MessageContext;
}

/** Runs one channel's message machine as a pure function. */
export interface MessageStepper {
  /** The first state of a new message created at `at`: waiting. */
  initial(at: number): MessageStep;
  /** Applies one event (already validated) to a message. */
  step(current: MessageCurrent, event: MessageEvent | TimerEvent): MessageStep;
  /** The status a state node shows. */
  statusOf(state: string): MessageStatus;
  /** The machine it runs. */
  readonly machine: SmsMessageMachine | EmailMessageMachine;
}

/** An action as a transition returns it (XState's executable action object). */
export type MachineAction = ExecutableActionObject;

const NO_TIMERS: MessageStep['timers'] = Object.freeze({ set: Object.freeze([]), cancel: Object.freeze([]) });

/** Turns the raise/cancel actions of a transition into timer rows; raises without a finite delay are dropped. */
export function timersOf(actions: readonly MachineAction[]): MessageStep['timers'] {
  if (actions.length === 0) return NO_TIMERS;
  const set: MessageTimer[] = [];
  const cancel: string[] = [];
  for (const action of actions) {
    const params = action.params as Record<string, unknown> | undefined;
    if (action.type === 'xstate.raise' && params) {
      // A raise without delay was already handled inside the step; an Infinity delay never fires.
      const delay = params.delay;
      if (typeof delay === 'number' && Number.isFinite(delay) && typeof params.id === 'string') {
        set.push({ id: params.id, delay, event: params.event as { type: string } });
      }
    } else if (action.type === 'xstate.cancel' && params && typeof params.sendId === 'string') {
      cancel.push(params.sendId);
    }
  }
  return { set, cancel };
}

/**
 * The status a state node of a channel's machine shows.
 * @throws OutreachError `VALIDATION_FAILED` for a state the channel's machine does not have.
 */
export function statusOfMessageState(channel: Channel, state: string): MessageStatus {
  const status = Object.hasOwn(MESSAGE_STATE_STATUS, state) ? MESSAGE_STATE_STATUS[state as MessageStateId] : undefined;
  const foreign = channel === 'sms' ? state === 'retrying' : state === 'sent' || state === 'assumed_delivered';
  if (status === undefined || foreign) {
    throw new OutreachError('VALIDATION_FAILED', `"${state}" is not a state of the ${channel} message machine.`, {
      details: { channel, state },
    });
  }
  return status;
}

/**
 * Creates the pure step function of one channel's message machine.
 * @example
 * const stepper = createMessageStepper('sms', DEFAULT_POLICY);
 * let m = stepper.initial(0);
 * m = stepper.step(m, { type: 'QUEUE', at: 1 }); // m.status === 'queued'
 */
export function createMessageStepper(
  channel: Channel,
  policy: Policy,
  options: { compiled?: boolean } = {},
): MessageStepper {
  const machine: AnyStateMachine =
    channel === 'sms' ? createSmsMessageMachine(policy) : createEmailMessageMachine(policy);
  const statusOf = (state: string) => statusOfMessageState(channel, state);
  // The machine compiled into a (state, event) table (10–30× faster); XState's public API otherwise.
  const compiled = options.compiled === false ? undefined : compileFlatMachine<MessageContext>(machine);
  const unchanged = (current: MessageCurrent): MessageStep => ({
    state: current.state,
    status: statusOf(current.state),
    context: current.context,
    changed: false,
    timers: NO_TIMERS,
  });
  return {
    machine: machine as SmsMessageMachine | EmailMessageMachine,
    statusOf,
    initial(at) {
      if (compiled) {
        const r = compiled.initial({ at });
        const timers = r.set.length === 0 ? NO_TIMERS : { set: r.set, cancel: r.cancel };
        return { state: r.state, status: statusOf(r.state), context: r.context, changed: true, timers };
      }
      const [snapshot, actions] = initialTransition(machine, { at });
      const state = snapshot.value as string;
      return { state, status: statusOf(state), context: snapshot.context, changed: true, timers: timersOf(actions) };
    },
    step(current, event) {
      if (compiled) {
        const r = compiled.step(current.state, current.context, event);
        if (!r) return unchanged(current);
        const timers = r.set.length === 0 && r.cancel.length === 0 ? NO_TIMERS : { set: r.set, cancel: r.cancel };
        return { state: r.state, status: statusOf(r.state), context: r.context, changed: true, timers };
      }
      const before = machine.resolveState({ value: current.state, context: current.context });
      const [after, actions] = transition(machine, before, event);
      if (after === before) return unchanged(current);
      const state = after.value as string;
      return { state, status: statusOf(state), context: after.context, changed: true, timers: timersOf(actions) };
    },
  };
}

/**
 * Validates an event from outside (zod) and applies it. Bad input changes nothing.
 * @throws OutreachError `VALIDATION_FAILED` with zod's readable issues when the event has the wrong shape.
 * @example
 * applyMessageEvent(stepper, message, { type: 'PROVIDER_DELIVERED', at: clock.now() });
 */
export function applyMessageEvent(stepper: MessageStepper, current: MessageCurrent, event: unknown): MessageStep {
  const isTimer =
    typeof event === 'object' &&
    event !== null &&
    typeof (event as { type?: unknown }).type === 'string' &&
    (event as { type: string }).type.startsWith('xstate.after.');
  const parsed = isTimer ? TimerEventSchema.safeParse(event) : MessageEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new OutreachError('VALIDATION_FAILED', `Invalid message event:\n${z.prettifyError(parsed.error)}`, {
      details: { issues: parsed.error.issues },
    });
  }
  return stepper.step(current, parsed.data);
}
