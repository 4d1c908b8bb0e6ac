/**
 * Normalised provider events: what webhook parsers and simulated carriers hand to `outreach.ingest`.
 */
import * as z from 'zod';
import { FAILURE_REASON_IDS, type FailureReasonId } from './failure-reasons.js';
import { LIMITS } from './limits.js';
import { safeText } from './validation.js';

const reasonSchema = z.enum(FAILURE_REASON_IDS as [FailureReasonId, ...FailureReasonId[]]);

/**
 * A status report about one message from its provider. It must name the message by our id
 * (`messageId`, carried in the callback URL or custom args) or by the provider's id.
 */
export const StatusEventSchema = z
  .strictObject({
    type: z.literal('status'),
    channel: z.enum(['sms', 'email']),
    /** Our message id. */
    messageId: safeText(200).min(1).optional(),
    /** The provider's message id (Twilio `MessageSid`, SendGrid `sg_message_id` prefix). */
    providerMessageId: safeText(300).min(1).optional(),
    /**
     * What happened: `sending` (accepted/queued at the provider), `sent` (SMS handed to the carrier),
     * `delivered`, `failed` (with a reason), `deferred` (email, retrying), `opted_out` (unsubscribe,
     * spam report, STOP), `engagement` (open/click: counted, no status change).
     */
    status: z.enum(['sending', 'sent', 'delivered', 'failed', 'deferred', 'opted_out', 'engagement']),
    reason: reasonSchema.optional(),
    /** The provider's raw error code or bounce classification. */
    code: safeText(100).optional(),
    /** The provider's raw status word (e.g. `undelivered`, `bounce`). */
    providerStatus: safeText(100).optional(),
    /** For engagement events. */
    engagement: z.enum(['open', 'click']).optional(),
    /**
     * The recipient read the message (a WhatsApp or RCS `read` receipt, status `delivered`): besides
     * the status, the campaign's read count goes up, once per message however often it is reported.
     */
    read: z.boolean().optional(),
    /** SendGrid's deferral attempt number. */
    attempt: z.number().int().nonnegative().optional(),
    /** When the provider says it happened (ms since epoch); the engine's clock stamps the transition. */
    occurredAt: z.number().finite().optional(),
    /** Provider's unique event id (`sg_event_id`, `I-Twilio-Idempotency-Token`): a repeat is ignored. */
    eventId: safeText(300).min(1).optional(),
    /** A content key for the same event delivered again under a new id; a repeat is ignored. */
    dedupeKey: safeText(500).min(1).optional(),
    /** Free text from the provider (e.g. an SMTP response). */
    detail: safeText(2000).optional(),
  })
  .refine((e) => e.messageId !== undefined || e.providerMessageId !== undefined, {
    message: 'A status event needs messageId or providerMessageId',
    path: ['messageId'],
  });
/** A status report about one message. */
export type StatusEvent = z.infer<typeof StatusEventSchema>;

/** An opt-out or opt-in that names an address, not a message (e.g. an inbound STOP or START reply). */
export const SuppressionEventSchema = z.strictObject({
  type: z.literal('suppression'),
  action: z.enum(['opt_out', 'opt_in']),
  channel: z.enum(['sms', 'email']),
  address: safeText(LIMITS.addressLength).min(1),
  /** The scope whose list changes; the engine's default scope when absent. */
  scope: safeText(200).min(1).optional(),
  source: safeText(100).optional(),
  /** The inbound text that asked for the change (e.g. the STOP reply), kept in the opt-out record. */
  text: safeText(1600).optional(),
  occurredAt: z.number().finite().optional(),
  eventId: safeText(300).min(1).optional(),
});
/** An opt-out or opt-in that names an address. */
export type SuppressionEvent = z.infer<typeof SuppressionEventSchema>;

/** Anything `outreach.ingest` accepts. */
export const ProviderEventSchema = z.union([StatusEventSchema, SuppressionEventSchema]);
/** Anything `outreach.ingest` accepts. */
export type ProviderEvent = StatusEvent | SuppressionEvent;

/** What `ingest` did with a batch. */
export interface IngestResult {
  /** Events that changed a message or a suppression list. */
  readonly applied: number;
  /** Events already seen (same event id or dedupe key). */
  readonly duplicates: number;
  /** Events recorded in the log but changing nothing (backward moves, events after a final state). */
  readonly ignored: number;
  /** Events whose message is not known here. */
  readonly unmatched: number;
}

/** Something that takes normalised provider events: the engine, as webhook handlers and carriers see it. */
export interface EventSink {
  /** Applies normalised provider events; see `Outreach.ingest`. */
  ingest(events: readonly ProviderEvent[]): Promise<IngestResult>;
}
