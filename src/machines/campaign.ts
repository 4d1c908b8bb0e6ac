/**
 * The campaign machine. Its running status is derived from per-status message counters that the
 * engine feeds it as `PROGRESS` events (never from spawned children: spawning is O(N²) in XState v5).
 */
import { assign, initialTransition, setup, transition } from 'xstate';
import type { CampaignMachineContext, PersistedState } from '../records.js';
import type { CampaignStatus, Channel, MessageCounts } from '../statuses.js';

/** The events of the campaign machine; the engine sends them after checking a command's input. */
export type CampaignEvent =
  | { type: 'EDIT' }
  | { type: 'EDIT_CONTACTS' }
  | { type: 'SAVE' }
  | { type: 'SCHEDULE'; at: number }
  | { type: 'UNSCHEDULE' }
  | { type: 'RUN' }
  | { type: 'PAUSE'; auto?: boolean; cause?: string }
  | { type: 'RESUME' }
  | { type: 'STOP' }
  | { type: 'CLOSE' }
  | { type: 'RETRY_FAILED' }
  | { type: 'RETRY_CAMPAIGN' }
  | { type: 'FAIL'; cause: string }
  | { type: 'ARCHIVE' }
  | { type: 'DELETE'; inFlight: number }
  | { type: 'PROGRESS'; counts: MessageCounts };

/** Messages not yet in a final status, other than email `retrying`. */
export function pendingCount(counts: MessageCounts): number {
  return counts.waiting + counts.queued + counts.sending + counts.sent;
}

/** Messages the provider may still report on: handed over and not final. */
export function inFlightCount(counts: MessageCounts): number {
  return counts.sending + counts.sent + counts.retrying;
}

/**
 * The running status a campaign's counters say (seed 000): anything not yet handed over or still
 * sending → in progress; only email retries left → active retries; all final → complete, with errors
 * if any failed.
 */
export function deriveRunningStatus(counts: MessageCounts): CampaignStatus {
  if (pendingCount(counts) > 0) return 'in_progress';
  if (counts.retrying > 0) return 'active_retries';
  return counts.failed > 0 ? 'complete_with_errors' : 'complete';
}

const derived = [
  { guard: 'pendingLeft', target: 'in_progress' },
  { guard: 'onlyRetryingLeft', target: 'active_retries' },
  { guard: 'anyFailed', target: 'complete_with_errors' },
  { target: 'complete' },
] as const;

/** The campaign machine (the same for both channels; `active_retries` only ever happens for email). */
// Built in a function called with a pure annotation, so that a bundle using only the helpers below
// (`deriveRunningStatus`…) can drop the machine, and XState with it.
export const campaignMachine = /* @__PURE__ */ buildCampaignMachine();

function buildCampaignMachine() {
  return setup({
    types: {
      context: {} as CampaignMachineContext,
      events: {} as CampaignEvent,
      input: {} as { channel: Channel } | undefined,
    },
    guards: {
      pendingLeft: ({ event }) => event.type === 'PROGRESS' && pendingCount(event.counts) > 0,
      onlyRetryingLeft: ({ event }) =>
        event.type === 'PROGRESS' && pendingCount(event.counts) === 0 && event.counts.retrying > 0,
      anyFailed: ({ event }) => event.type === 'PROGRESS' && event.counts.failed > 0,
      nothingInFlight: ({ event }) => event.type === 'DELETE' && event.inFlight === 0,
    },
    actions: {
      setSchedule: assign({ scheduledAt: ({ event }) => (event.type === 'SCHEDULE' ? event.at : null) }),
      clearSchedule: assign({ scheduledAt: null }),
      markRun: assign({ hasRun: true, scheduledAt: null, failureCause: null }),
      setFailure: assign({ failureCause: ({ event }) => (event.type === 'FAIL' ? event.cause : null) }),
      clearFailure: assign({ failureCause: null }),
      clearPauseCause: assign({ pauseCause: null }),
      notePause: assign({
        autoPaused: ({ context, event }) => context.autoPaused || (event.type === 'PAUSE' && event.auto === true),
        pauseCause: ({ event }) => (event.type === 'PAUSE' ? (event.cause ?? null) : null),
        spamBraked: ({ context, event }) =>
          context.spamBraked === true || (event.type === 'PAUSE' && event.cause === 'spam_complaints'),
      }),
    },
  }).createMachine({
    id: 'campaign',
    context: ({ input }) => ({
      channel: input?.channel ?? 'sms',
      scheduledAt: null,
      failureCause: null,
      hasRun: false,
      autoPaused: false,
    }),
    initial: 'draft',
    states: {
      draft: {
        on: {
          // Allowed, and no change of state: the command does its work on the campaign's data.
          EDIT: 'draft',
          EDIT_CONTACTS: 'draft',
          SAVE: 'ready',
          DELETE: 'deleted',
        },
      },
      ready: {
        on: {
          EDIT: 'ready',
          SCHEDULE: { target: 'scheduled', actions: 'setSchedule' },
          RUN: { target: 'in_progress', actions: 'markRun' },
          DELETE: 'deleted',
        },
      },
      scheduled: {
        // Locked (seed 002): reschedule or unschedule, never edit; editing is for Ready campaigns (seed 003).
        on: {
          SCHEDULE: { target: 'scheduled', actions: 'setSchedule' },
          UNSCHEDULE: { target: 'ready', actions: 'clearSchedule' },
          RUN: { target: 'in_progress', actions: 'markRun' },
          STOP: { target: 'stopped', actions: 'clearSchedule' },
          FAIL: { target: 'failed', actions: 'setFailure' },
        },
      },
      in_progress: {
        on: {
          PROGRESS: [...derived],
          PAUSE: { target: 'paused', actions: 'notePause' },
          STOP: 'stopped',
          CLOSE: 'in_progress',
          FAIL: { target: 'failed', actions: 'setFailure' },
          ARCHIVE: 'archived',
        },
      },
      paused: {
        on: {
          RESUME: { target: 'in_progress', actions: 'clearPauseCause' },
          STOP: 'stopped',
          CLOSE: 'in_progress',
          FAIL: { target: 'failed', actions: 'setFailure' },
          ARCHIVE: 'archived',
        },
      },
      active_retries: {
        on: {
          PROGRESS: [...derived],
          CLOSE: 'active_retries',
          ARCHIVE: 'archived',
        },
      },
      complete: {
        on: {
          PROGRESS: [...derived],
          ARCHIVE: 'archived',
          DELETE: 'deleted',
        },
      },
      complete_with_errors: {
        on: {
          PROGRESS: [...derived],
          RETRY_FAILED: 'in_progress',
          ARCHIVE: 'archived',
          DELETE: 'deleted',
        },
      },
      stopped: {
        on: {
          ARCHIVE: 'archived',
          DELETE: { guard: 'nothingInFlight', target: 'deleted' },
        },
      },
      failed: {
        on: {
          RETRY_CAMPAIGN: { target: 'ready', actions: 'clearFailure' },
          ARCHIVE: 'archived',
          DELETE: 'deleted',
        },
      },
      archived: { tags: ['frozen'] },
      deleted: { type: 'final' },
    },
  });
}

type CampaignSnapshot = ReturnType<typeof initialTransition<typeof campaignMachine>>[0];

/** The first state of a new campaign: draft. */
export function initialCampaignState(channel: Channel): PersistedState<CampaignMachineContext> {
  const [snapshot] = initialTransition(campaignMachine, { channel });
  return { value: snapshot.value as string, context: snapshot.context };
}

function restore(state: PersistedState<CampaignMachineContext>): CampaignSnapshot {
  return campaignMachine.resolveState({ value: state.value, context: state.context }) as CampaignSnapshot;
}

/** Whether the campaign machine accepts `event` in `state` (a command is allowed). */
export function campaignCan(state: PersistedState<CampaignMachineContext>, event: CampaignEvent): boolean {
  return restore(state).can(event);
}

/**
 * What an event does to a campaign state:
 * - `moved`: the state or its context changed (`state` is the new one);
 * - `unchanged`: the machine takes the event, and nothing changes (a command allowed in this status
 *   that does its work on the campaign's data, or a progress report that leaves the status as it is);
 * - `refused`: the machine does not take the event in this state (the command is not allowed).
 */
export type CampaignTransition =
  | { readonly outcome: 'moved'; readonly state: PersistedState<CampaignMachineContext> }
  | { readonly outcome: 'unchanged' }
  | { readonly outcome: 'refused' };

const UNCHANGED: CampaignTransition = { outcome: 'unchanged' };
const REFUSED: CampaignTransition = { outcome: 'refused' };

/** Applies an event to a campaign state and says whether it moved, changed nothing, or was refused. */
export function transitionCampaign(
  state: PersistedState<CampaignMachineContext>,
  event: CampaignEvent,
): CampaignTransition {
  const before = restore(state);
  const [after] = transition(campaignMachine, before, event);
  if (after === before || (after.value === before.value && after.context === before.context))
    return before.can(event) ? UNCHANGED : REFUSED;
  return { outcome: 'moved', state: { value: after.value as string, context: after.context } };
}

/** Whether a campaign in this status holds its channel (one running campaign per channel per scope). */
export function holdsChannel(status: CampaignStatus): boolean {
  return status === 'in_progress' || status === 'paused';
}
