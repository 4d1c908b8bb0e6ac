/**
 * The events of the SMS and email message machines. The engine creates them (from commands,
 * transport outcomes, provider events and fired deadlines) and stamps `at` with its clock;
 * machines never read the clock.
 */
import * as z from 'zod';
import { FAILURE_REASON_IDS, type FailureReasonId } from '../failure-reasons.js';

const at = z.number().finite().nonnegative();
const reason = z.enum(FAILURE_REASON_IDS as [FailureReasonId, ...FailureReasonId[]]);
const code = z.string().max(100).optional();

/** Zod schema of every message event (timer events excluded: the machine makes those itself). */
export const MessageEventSchema = z.discriminatedUnion('type', [
  /** The campaign runs: waiting → queued. */
  z.object({ type: z.literal('QUEUE'), at }),
  /** The dispatcher hands the message to the transport: queued → sending, attempts + 1. */
  z.object({ type: z.literal('DISPATCH'), at }),
  /**
   * The dispatcher's claim ended before the message was handed to the transport (its claimant died or
   * stopped): sending → queued, attempts − 1. The engine raises it only for a claim whose lease it still holds.
   */
  z.object({ type: z.literal('RELEASE'), at }),
  /** The transport says the provider accepted it. */
  z.object({ type: z.literal('SEND_ACCEPTED'), at, providerMessageId: z.string().min(1).max(300).optional() }),
  /** The transport proves the provider did not accept it (network, 429, 5xx): automatic retry with backoff. */
  z.object({
    type: z.literal('SEND_PRESEND_ERROR'),
    at,
    error: z.string().max(2000),
    retryAfterMs: z.number().nonnegative().optional(),
  }),
  /** The provider refused it for good. */
  z.object({ type: z.literal('SEND_REJECTED'), at, reason, code, error: z.string().max(2000).optional() }),
  /** The outcome is unknown (timeout after the request left): stays sending, never resent. */
  z.object({ type: z.literal('SEND_UNKNOWN'), at, error: z.string().max(2000) }),
  /** Provider: accepted / queued / sending (no status change beyond sending). */
  z.object({ type: z.literal('PROVIDER_SENDING'), at, providerMessageId: z.string().min(1).max(300).optional() }),
  /** Provider (SMS): handed to the carrier. */
  z.object({ type: z.literal('PROVIDER_SENT'), at, providerMessageId: z.string().min(1).max(300).optional() }),
  /** Provider: delivered. */
  z.object({ type: z.literal('PROVIDER_DELIVERED'), at }),
  /** Provider: undelivered, failed, bounced, blocked, dropped… with a mapped reason and the raw code. */
  z.object({ type: z.literal('PROVIDER_FAILED'), at, reason, code }),
  /** Provider (email): deferred by the receiving server. */
  z.object({ type: z.literal('PROVIDER_DEFERRED'), at, attempt: z.number().int().nonnegative().optional() }),
  /** Unsubscribe, STOP reply, spam report, manual opt-out, or a suppressed contact at run time. */
  z.object({ type: z.literal('OPT_OUT'), at, source: z.string().max(100) }),
  /** The campaign was stopped: only messages not yet handed over are cancelled. */
  z.object({ type: z.literal('CANCEL'), at }),
  /** The campaign was closed: every non-final message is cancelled with `closed_by_user`. */
  z.object({ type: z.literal('CLOSE'), at }),
  /** Manual retry of a failed message with a retryable reason. */
  z.object({ type: z.literal('RETRY'), at }),
  /**
   * The recipient is outside the campaign's sending window: queued → outside_window (still status
   * Queued) until `until`, when its window opens and it is queued again.
   */
  z.object({ type: z.literal('HOLD'), at, until: z.number().finite().nonnegative() }),
  /** The campaign's deadline passed: a message not handed over yet is cancelled with `deadline_passed`. */
  z.object({ type: z.literal('DEADLINE_PASSED'), at }),
]);

/** An event of the message machines. */
export type MessageEvent = z.infer<typeof MessageEventSchema>;

/** A delayed event the machine raised: the engine stores it as a deadline and feeds it back at `at`. */
export interface TimerEvent {
  readonly type: string;
  readonly at: number;
}

/** Zod schema of a fired timer event (`xstate.after.<delay>.<machine>.<state>`, stamped with `at`). */
export const TimerEventSchema = z.object({ type: z.string().startsWith('xstate.after.').max(200), at });
