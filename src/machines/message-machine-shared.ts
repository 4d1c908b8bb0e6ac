/**
 * What the SMS and email message machines share: the `setup()` with their guards, context updates and
 * delays, the state → status mapping, and the retry rule.
 */
import { and, assign, setup } from 'xstate';
import { FAILURE_REASONS, type FailureReasonId } from '../failure-reasons.js';
import { type Policy, presendBackoffFor } from '../policy.js';
import type { MessageContext } from '../records.js';
import type { Channel, MessageStatus } from '../statuses.js';
import type { MessageEvent } from './message-events.js';

/** Every state node of the message machines (`sent`/`assumed_delivered` SMS only, `retrying` email only). */
const MESSAGE_STATE_IDS = [
  'waiting',
  'queued',
  'backoff',
  'outside_window',
  'sending',
  'sent',
  'retrying',
  'delivered',
  'assumed_delivered',
  'failed',
  'opted_out',
  'cancelled',
] as const;

/** A state node of the message machines. */
export type MessageStateId = (typeof MESSAGE_STATE_IDS)[number];

/**
 * The status each state node shows. Only `backoff` differs from its name: a message waiting out its
 * pre-send backoff is still `queued` to the user.
 */
export const MESSAGE_STATE_STATUS: Readonly<Record<MessageStateId, MessageStatus>> = Object.freeze({
  waiting: 'waiting',
  queued: 'queued',
  backoff: 'queued',
  outside_window: 'queued',
  sending: 'sending',
  sent: 'sent',
  retrying: 'retrying',
  delivered: 'delivered',
  assumed_delivered: 'assumed_delivered',
  failed: 'failed',
  opted_out: 'opted_out',
  cancelled: 'cancelled',
});

/** The input of a message machine: the time the message is created. */
export interface MessageMachineInput {
  /** When the message was created (its first `updatedAt`). */
  readonly at: number;
}

/** Reasons the library sets itself when no provider report came in time: a later report may correct them. */
const GUESSED_FAILURES: ReadonlySet<FailureReasonId | null> = new Set<FailureReasonId | null>(['timed_out', 'expired']);

/**
 * Whether a manual retry may move a message out of this state: it failed, with a retryable reason.
 * The one place the rule is written: the machines' `RETRY` guard uses it, and so should any command
 * that picks the messages to retry (a record's `state` or `status`, both read `failed` here).
 * @example canRetry(message.state, message.context)
 */
export function canRetry(state: string, context: Pick<MessageContext, 'reason'>): boolean {
  return state === 'failed' && context.reason !== null && FAILURE_REASONS[context.reason].retryable;
}

/** The first context of a message; tolerates a missing input (XState builds a throwaway one). */
function initialContext(channel: Channel, at: number): MessageContext {
  return {
    channel,
    attempts: 0,
    reason: null,
    code: null,
    providerMessageId: null,
    firstDeferredAt: null,
    deferrals: 0,
    dueAt: null,
    updatedAt: at,
  };
}

/** The shared `setup()` of both message machines, bound to one channel and one policy. */
export function messageMachineSetup(channel: Channel, policy: Policy) {
  return setup({
    types: {
      context: {} as MessageContext,
      events: {} as MessageEvent,
      input: {} as MessageMachineInput | undefined,
      tags: {} as 'final',
    },
    guards: {
      mayRetryPresend: ({ context }) => context.attempts <= policy.maxPresendRetries,
      reportsOptOut: ({ event }) =>
        (event.type === 'SEND_REJECTED' || event.type === 'PROVIDER_FAILED') && event.reason === 'opted_out',
      newProviderId: ({ context, event }) =>
        (event.type === 'SEND_ACCEPTED' || event.type === 'PROVIDER_SENDING') &&
        event.providerMessageId !== undefined &&
        event.providerMessageId !== context.providerMessageId,
      guessedFailure: ({ context }) => GUESSED_FAILURES.has(context.reason),
      timedOut: ({ context }) => context.reason === 'timed_out',
      closedByUser: ({ context }) => context.reason === 'closed_by_user',
      differentFailure: ({ context, event }) =>
        event.type === 'PROVIDER_FAILED' && (event.reason !== context.reason || (event.code ?? null) !== context.code),
      // Only `failed` has a RETRY transition, so this is `canRetry` for the state it guards.
      retryable: ({ context }) => canRetry('failed', context),
      // Repeats of a deferral SendGrid already reported (same attempt number) change nothing.
      newDeferral: ({ context, event }) =>
        event.type === 'PROVIDER_DEFERRED' && (event.attempt === undefined || event.attempt > context.deferrals),
      // A live actor would clamp an Infinity timeout to 1 ms; this keeps "retry indefinitely" true there too.
      deferralWindowIsFinite: () => Number.isFinite(policy.emailDeferralWindow),
    },
    actions: {
      stamp: assign({ updatedAt: ({ event }) => event.at }),
      countAttempt: assign(({ context, event }) => ({ attempts: context.attempts + 1, updatedAt: event.at })),
      uncountAttempt: assign(({ context, event }) => ({
        attempts: Math.max(0, context.attempts - 1),
        updatedAt: event.at,
      })),
      recordProviderId: assign(({ context, event }) => ({
        providerMessageId: ('providerMessageId' in event && event.providerMessageId) || context.providerMessageId,
        updatedAt: event.at,
      })),
      recordSent: assign(({ context, event }) => ({
        reason: null,
        code: null,
        providerMessageId: ('providerMessageId' in event && event.providerMessageId) || context.providerMessageId,
        updatedAt: event.at,
      })),
      recordFailure: assign(({ context, event }) =>
        event.type === 'SEND_REJECTED' || event.type === 'PROVIDER_FAILED'
          ? { reason: event.reason, code: event.code ?? null, updatedAt: event.at }
          : context,
      ),
      setReason: assign(({ event }, params: { reason: FailureReasonId }) => ({
        reason: params.reason,
        code: null,
        updatedAt: event.at,
      })),
      clearFailure: assign(({ event }) => ({ reason: null, code: null, updatedAt: event.at })),
      startDeferral: assign(({ context, event }) => ({
        firstDeferredAt: event.at,
        deferrals: Math.max(context.deferrals + 1, (event.type === 'PROVIDER_DEFERRED' && event.attempt) || 0),
        reason: null,
        code: null,
        updatedAt: event.at,
      })),
      countDeferral: assign(({ context, event }) => ({
        deferrals: (event.type === 'PROVIDER_DEFERRED' && event.attempt) || context.deferrals + 1,
        updatedAt: event.at,
      })),
      holdUntil: assign(({ event }) => ({
        dueAt: event.type === 'HOLD' ? event.until : null,
        updatedAt: event.at,
      })),
      clearDue: assign(({ event }) => ({ dueAt: null, updatedAt: event.at })),
      resetForRetry: assign(({ event }) => ({
        attempts: 0,
        reason: null,
        code: null,
        providerMessageId: null,
        firstDeferredAt: null,
        deferrals: 0,
        updatedAt: event.at,
      })),
    },
    delays: {
      sendingTimeout: channel === 'sms' ? policy.smsSendingTimeout : policy.emailSendingTimeout,
      receiptTimeout: policy.smsReceiptTimeout,
      presendBackoff: ({ context, event }) =>
        Math.max(
          presendBackoffFor(policy, context.attempts),
          (event.type === 'SEND_PRESEND_ERROR' && event.retryAfterMs) || 0,
        ),
      // Until the recipient's sending window opens (the engine computes it when it holds the message).
      windowOpens: ({ event }) => (event.type === 'HOLD' ? Math.max(0, event.until - event.at) : 0),
      // Measured from the first deferral, whichever event entered `retrying`.
      deferralWindow: ({ context, event }) =>
        (context.firstDeferredAt ?? event.at) + policy.emailDeferralWindow - event.at,
    },
  });
}

/** The shared machine config pieces, so both machines spell each rule once. */
export function sharedMessageConfig(channel: Channel) {
  const optOut = { target: 'opted_out', actions: { type: 'setReason', params: { reason: 'opted_out' } } } as const;
  const close = { target: 'cancelled', actions: { type: 'setReason', params: { reason: 'closed_by_user' } } } as const;
  const cancel = { target: 'cancelled', actions: 'stamp' } as const;
  const deadlinePassed = {
    target: 'cancelled',
    actions: { type: 'setReason', params: { reason: 'deadline_passed' } },
  } as const;
  const notHandedOver = { CANCEL: cancel, CLOSE: close, OPT_OUT: optOut, DEADLINE_PASSED: deadlinePassed } as const;
  const providerFailed = [
    { guard: 'reportsOptOut', target: 'opted_out', actions: 'recordFailure' },
    { target: 'failed', actions: 'recordFailure' },
  ] as const;
  // The states before hand-over, and the hand-over events in Sending, are the same for both channels.
  const preSendStates = {
    waiting: {
      on: { QUEUE: { target: 'queued', actions: 'stamp' }, ...notHandedOver },
    },
    queued: {
      on: {
        DISPATCH: { target: 'sending', actions: 'countAttempt' },
        HOLD: { target: 'outside_window', actions: 'holdUntil' },
        ...notHandedOver,
      },
    },
    backoff: {
      after: { presendBackoff: { target: 'queued', actions: 'stamp' } },
      on: notHandedOver,
    },
    // Outside the recipient's sending window: still Queued to the user, due again when it opens.
    outside_window: {
      after: { windowOpens: { target: 'queued', actions: 'clearDue' } },
      on: notHandedOver,
    },
  } as const;
  const handOver = {
    // A claim never handed over: back to the queue, as if never dispatched.
    RELEASE: { target: 'queued', actions: 'uncountAttempt' },
    // No target: news of the provider's id must not restart the sending timer.
    SEND_ACCEPTED: { guard: 'newProviderId', actions: 'recordProviderId' },
    PROVIDER_SENDING: { guard: 'newProviderId', actions: 'recordProviderId' },
    SEND_PRESEND_ERROR: [
      { guard: 'mayRetryPresend', target: 'backoff', actions: 'stamp' },
      { target: 'failed', actions: { type: 'setReason', params: { reason: 'pre_send_error' } } },
    ],
    SEND_REJECTED: providerFailed,
  } as const;
  const sendingTimeout = {
    sendingTimeout: { target: 'failed', actions: { type: 'setReason', params: { reason: 'timed_out' } } },
  } as const;
  // Late truth: the provider corrects the library's own guesses (timed out, expired, closed by user).
  const failedCorrections = {
    PROVIDER_DELIVERED: { guard: 'guessedFailure', target: 'delivered', actions: 'clearFailure' },
    PROVIDER_FAILED: [
      { guard: and(['guessedFailure', 'reportsOptOut']), target: 'opted_out', actions: 'recordFailure' },
      { guard: and(['guessedFailure', 'differentFailure']), actions: 'recordFailure' },
    ],
    RETRY: { guard: 'retryable', target: 'queued', actions: 'resetForRetry' },
    OPT_OUT: optOut,
  } as const;
  const settledStates = {
    opted_out: { tags: ['final'] },
    cancelled: {
      tags: ['final'],
      on: {
        PROVIDER_DELIVERED: { guard: 'closedByUser', target: 'delivered', actions: 'clearFailure' },
        PROVIDER_FAILED: [
          { guard: and(['closedByUser', 'reportsOptOut']), target: 'opted_out', actions: 'recordFailure' },
          { guard: 'closedByUser', target: 'failed', actions: 'recordFailure' },
        ],
      },
    },
  } as const;
  return {
    failedCorrections,
    settledStates,
    context: ({ input }: { input: MessageMachineInput | undefined }) => initialContext(channel, input?.at ?? 0),
    optOut,
    close,
    cancel,
    providerFailed,
    preSendStates,
    handOver,
    sendingTimeout,
  };
}
