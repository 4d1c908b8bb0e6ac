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
 * - `unknown`: the request may have reached the provider (timeout, dropped connection): never resent
 *   blindly; the provider's callback settles it, or at the sending timeout the transport's `lookup`
 *   (when it has one), else the message fails with `timed_out`.
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
  /** Most messages sent in any one-second window (each message of a batched request counts). Unlimited when absent. */
  readonly ratePerSecond?: number | undefined;
  /** Most messages in flight at once (each message of a batched request counts). @defaultValue 16 */
  readonly concurrency?: number | undefined;
}

/**
 * What the provider knows of a send whose outcome is unknown, as {@link SmsTransport.lookup} reports it:
 * - `found`: the provider created it; its id and status (mapped like a status callback) are adopted.
 *   `status` is `sending` while the provider still holds it (queued, accepted, scheduled), `sent`,
 *   `delivered`, or `failed` with a `reason` and the provider's `code`.
 * - `absent`: proof that the provider never created it and never will (the request window closed long
 *   ago and a complete listing holds no match): the engine queues it again as an automatic retry.
 * - `undecidable`: anything else (the lookup failed, the listing was cut short, several messages
 *   match): the message fails with `timed_out`, as it would without a lookup.
 */
export type LookupResult =
  | {
      readonly outcome: 'found';
      readonly providerMessageId: string;
      readonly status: 'sending' | 'sent' | 'delivered' | 'failed';
      readonly reason?: FailureReasonId | undefined;
      readonly code?: string | undefined;
    }
  | { readonly outcome: 'absent' }
  | { readonly outcome: 'undecidable'; readonly error: string };

/** What the engine tells a lookup about the send it asks for. */
export interface LookupOptions {
  /** When the message was dispatched (ms since epoch): its request cannot have left before. */
  readonly dispatchedAt: number;
  /**
   * The latest time its request can have started (ms since epoch): the engine never hands a claimed
   * message to the transport later than this (a worker that reaches the hand-over after its lease ran
   * out gives the message back to the queue unsent).
   */
  readonly startedBy: number;
  /** Aborted when the engine stops waiting for the answer (its 20-second lookup bound). */
  readonly signal?: AbortSignal | undefined;
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
  /**
   * Optional: asks the provider whether it has a message whose send had an unknown outcome. The engine
   * calls it when such a message (Sending, no provider id) reaches its sending timeout, with the same
   * payload as the send (re-rendered for the same attempt), outside any storage transaction. The worker
   * that made the send never asks while it is in flight (it fires no deadline until its round's sends
   * have returned); another process may, so the transport's own request timeout must end well within
   * the sending timeout.
   * Reporting `absent` makes the engine send the message again, so return it only with proof; when in
   * doubt, `undecidable`. Should not throw; if it throws anyway, or gives no answer within 20 s, the
   * engine treats it as `undecidable`. Without it, the message fails with `timed_out` at its sending
   * timeout, as it always did.
   */
  lookup?(message: OutgoingSms, options: LookupOptions): Promise<LookupResult>;
}

/** Sends email. Same contract as {@link SmsTransport}. */
export interface EmailTransport extends TransportBase {
  readonly channel: 'email';
  /** Hands one email to the provider and classifies the outcome; never throws. */
  send(message: OutgoingEmail, options?: SendOptions): Promise<SendResult>;
  /** Optional: same contract as {@link SmsTransport.lookup}. */
  lookup?(message: OutgoingEmail, options: LookupOptions): Promise<LookupResult>;
  /**
   * Optional: hands several emails to the provider at once, in as few requests as it can (e.g. one
   * SendGrid mail send with a personalization per message). When present, the engine calls it with
   * the messages of one dispatch round instead of calling `send` for each; `limits` still count
   * messages (recipients), not requests.
   * Resolves with one {@link SendResult} per message, in the order given, each classified as `send`
   * would classify it: a request the provider refused or did not answer gives each of its messages
   * that outcome (a timeout leaves each `unknown`, never resent). Messages of one request may share
   * a `providerMessageId`. Must not throw; if it throws anyway, or answers with another number of
   * results, the engine treats every message of the call as `unknown` (they may have been sent).
   */
  sendBatch?(messages: readonly OutgoingEmail[], options?: SendOptions): Promise<readonly SendResult[]>;
}

/** A transport of either channel. */
export type Transport = SmsTransport | EmailTransport;
