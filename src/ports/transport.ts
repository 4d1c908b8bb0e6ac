/**
 * The transport port: how a message reaches a provider, and how the outcome is classified.
 */
import type { OutgoingEmail, OutgoingSms } from '../content.js';
import type { FailureReasonId } from '../failure-reasons.js';
import type { EventSink } from '../provider-events.js';

/**
 * The outcome of one send, classified by the transport so that the engine never guesses:
 * - `accepted`: the provider took the message; receipts follow through `ingest`.
 * - `presend`: proven not accepted (connection refused, DNS failure, 429, 5xx before acceptance):
 *   the engine retries automatically with backoff, up to the policy's count.
 * - `rejected`: refused for good (invalid number, opted out…): failed with `reason`, never retried
 *   automatically. `fatal` marks a refusal of the whole account (bad credentials): the campaign fails.
 * - `unknown`: the request may have reached the provider (timeout, dropped connection): never resent;
 *   the provider's callback or the sending timeout settles it.
 */
export type SendResult =
  | { readonly outcome: 'accepted'; readonly providerMessageId?: string | undefined }
  | { readonly outcome: 'presend'; readonly error: string; readonly retryAfterMs?: number | undefined }
  | {
      readonly outcome: 'rejected';
      readonly reason: FailureReasonId;
      readonly code?: string | undefined;
      readonly error: string;
      readonly fatal?: boolean | undefined;
    }
  | { readonly outcome: 'unknown'; readonly error: string };

/** Limits a transport declares; the engine's dispatcher honours them. */
export interface TransportLimits {
  /** Most messages sent in any one-second window. Unlimited when absent. */
  readonly ratePerSecond?: number | undefined;
  /** Most sends in flight at once. @defaultValue 16 */
  readonly concurrency?: number | undefined;
}

/** Options the engine passes to every send. */
export interface SendOptions {
  /** Aborted when the engine stops. */
  readonly signal?: AbortSignal | undefined;
}

interface TransportBase {
  /** A short name for logs and stats (e.g. `twilio`, `sendgrid`, `simulated`). */
  readonly name: string;
  readonly limits?: TransportLimits | undefined;
  /**
   * Called once by the engine with the sink that takes provider events; transports that learn
   * outcomes themselves (simulated carriers, polling) report through it. Optional.
   */
  connect?(sink: EventSink): void;
}

/**
 * Sends SMS. `send` must not throw: it classifies every failure as a {@link SendResult}. If it throws
 * anyway, the engine treats the outcome as `unknown` (it may have been sent) and never resends.
 */
export interface SmsTransport extends TransportBase {
  readonly channel: 'sms';
  /** Hands one SMS to the provider and classifies the outcome; never throws. */
  send(message: OutgoingSms, options?: SendOptions): Promise<SendResult>;
}

/** Sends email. Same contract as {@link SmsTransport}. */
export interface EmailTransport extends TransportBase {
  readonly channel: 'email';
  /** Hands one email to the provider and classifies the outcome; never throws. */
  send(message: OutgoingEmail, options?: SendOptions): Promise<SendResult>;
}

/** A transport of either channel. */
export type Transport = SmsTransport | EmailTransport;
