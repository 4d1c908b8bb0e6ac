/**
 * SendGrid Event Webhook batches → normalised status events.
 */
import type { StatusEvent, SuppressionEvent } from 'campaign-lifecycle';
import { OutreachError, providerEventProblem } from 'campaign-lifecycle';
import { clip } from '../../src/internal/http.js';
import { reasonForSendgridEvent } from './sendgrid-failure-reasons.js';

/** The custom arg that carries our message id (the transport sets it; SendGrid merges it into each event). */
export const SENDGRID_MESSAGE_ID_ARG = 'message_id';
/** The custom arg that carries our campaign id. */
export const SENDGRID_CAMPAIGN_ID_ARG = 'campaign_id';

/**
 * Every SendGrid event type this library maps, and the normalised status it becomes. `bounce` and
 * `dropped` carry a reason (from `type`, `bounce_classification` or the drop reason).
 */
export const SENDGRID_EVENT_MAP: Readonly<Record<string, StatusEvent['status']>> = {
  processed: 'sending',
  delivered: 'delivered',
  deferred: 'deferred',
  bounce: 'failed',
  blocked: 'failed',
  expired: 'failed',
  dropped: 'failed',
  unsubscribe: 'opted_out',
  group_unsubscribe: 'opted_out',
  spamreport: 'opted_out',
  open: 'engagement',
  click: 'engagement',
};

/**
 * Event types that change a suppression list rather than a message: `group_resubscribe` (the
 * recipient joined an unsubscribe group again) lifts the suppression a `group_unsubscribe` added.
 */
export const SENDGRID_SUPPRESSION_EVENT_MAP: Readonly<Record<string, SuppressionEvent['action']>> = {
  group_resubscribe: 'opt_in',
};

/**
 * SendGrid timestamps are Unix seconds, but some products (the Single Sends sample event has
 * `1591726752372`) send milliseconds. A value of 10^11 or more is read as milliseconds: as seconds
 * it would be after the year 5000.
 */
export const SENDGRID_MILLISECOND_TIMESTAMP_FROM = 1e11;

/** An event of the batch that was not turned into a status event, and why. */
export interface RejectedSendgridEvent {
  /** Its position in the batch. */
  readonly index: number;
  readonly reason: string;
}

/** What {@link parseSendgridEvents} returns. */
export interface ParsedSendgridEvents {
  readonly events: StatusEvent[];
  /** Suppression changes (`group_resubscribe` → opt-in of its `email`); ingest them with `events`. */
  readonly suppressions: SuppressionEvent[];
  /** Events that are not objects, name no message (or no address), or have a type this library does not map. */
  readonly rejected: RejectedSendgridEvent[];
}

/** Options of {@link parseSendgridEvents}. */
export interface ParseSendgridEventsOptions {
  /** The suppression scope a `group_resubscribe` lifts; the engine's default when absent. */
  readonly scope?: string | undefined;
}

/** Milliseconds since the epoch of a SendGrid `timestamp` (seconds, or milliseconds when large). */
export function sendgridTimestampMs(timestamp: number): number | undefined {
  if (!Number.isFinite(timestamp)) return undefined;
  const ms = timestamp >= SENDGRID_MILLISECOND_TIMESTAMP_FROM ? timestamp : timestamp * 1000;
  // A timestamp that overflows a date is dropped rather than refusing the whole batch.
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const t = value.trim();
    return t === '' ? undefined : t;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A short, stable, synchronous hash (cyrb53) so that long texts fit in a dedupe key. */
function hash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * Normalises one Event Webhook POST body (a JSON array). Each event names its message by our id
 * (the `message_id` custom arg, merged into the event by SendGrid) and by the provider id (the
 * part of `sg_message_id` before the first `.`, which equals the send's `X-Message-Id`). It keeps
 * `sg_event_id` as the event id and adds a content key (message, event, timestamp, type, reason,
 * attempt, url), because a retried batch can carry the same event under a new `sg_event_id`.
 * `group_resubscribe` becomes an opt-in of its `email` (in `suppressions`), lifting the suppression
 * a `group_unsubscribe` added. Timestamps are seconds, or milliseconds from 10^11 on.
 * Unknown event types never throw: they are listed in `rejected` with their index.
 * @throws OutreachError `VALIDATION_FAILED` when the body is not an array.
 * @example
 * const { events, rejected } = parseSendgridEvents(JSON.parse(rawBody));
 * await outreach.ingest(events);
 */
export function parseSendgridEvents(body: unknown, options: ParseSendgridEventsOptions = {}): ParsedSendgridEvents {
  if (!Array.isArray(body)) {
    throw new OutreachError(
      'VALIDATION_FAILED',
      'A SendGrid Event Webhook body must be a JSON array of events; point only the Event Webhook here.',
    );
  }
  const events: StatusEvent[] = [];
  const suppressions: SuppressionEvent[] = [];
  const rejected: RejectedSendgridEvent[] = [];
  body.forEach((item: unknown, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      rejected.push({ index, reason: 'not an object' });
      return;
    }
    const e = item as Record<string, unknown>;
    const kind = str(e.event)?.toLowerCase();
    if (kind === undefined) {
      rejected.push({ index, reason: 'no event type' });
      return;
    }
    if (Object.hasOwn(SENDGRID_SUPPRESSION_EVENT_MAP, kind)) {
      const address = str(e.email);
      if (address === undefined || address.length > 320) {
        rejected.push({ index, reason: `${clip(kind, 50)} without an email address` });
        return;
      }
      const change: SuppressionEvent = {
        type: 'suppression',
        action: SENDGRID_SUPPRESSION_EVENT_MAP[kind] as SuppressionEvent['action'],
        channel: 'email',
        address,
        source: `sendgrid_${kind}`,
      };
      if (options.scope !== undefined) change.scope = options.scope;
      const at = typeof e.timestamp === 'number' ? sendgridTimestampMs(e.timestamp) : undefined;
      if (at !== undefined) change.occurredAt = at;
      const eventId = str(e.sg_event_id);
      if (eventId !== undefined && eventId.length <= 300) change.eventId = eventId;
      // A malformed field refuses this event only, as for status events below.
      const problem = providerEventProblem(change);
      if (problem) {
        rejected.push({ index, reason: `malformed ${problem.path}: ${problem.message}` });
        return;
      }
      suppressions.push(change);
      return;
    }
    const status = Object.hasOwn(SENDGRID_EVENT_MAP, kind) ? SENDGRID_EVENT_MAP[kind] : undefined;
    if (status === undefined) {
      rejected.push({ index, reason: `event type "${clip(kind, 50)}" is not mapped` });
      return;
    }
    const messageId = str(e[SENDGRID_MESSAGE_ID_ARG]);
    const sgMessageId = str(e.sg_message_id);
    const providerMessageId = sgMessageId?.split('.')[0] || undefined;
    const usableMessageId = messageId !== undefined && messageId.length <= 200 ? messageId : undefined;
    const usableProviderId =
      providerMessageId !== undefined && providerMessageId.length <= 300 ? providerMessageId : undefined;
    if (usableMessageId === undefined && usableProviderId === undefined) {
      rejected.push({ index, reason: `no ${SENDGRID_MESSAGE_ID_ARG} custom arg and no sg_message_id` });
      return;
    }
    const type = str(e.type);
    const reasonText = str(e.reason);
    const smtpStatus = str(e.status);
    const classification = str(e.bounce_classification);
    const response = str(e.response);
    const attemptText = str(e.attempt);
    const url = str(e.url);
    const timestamp = typeof e.timestamp === 'number' && Number.isFinite(e.timestamp) ? e.timestamp : undefined;

    const event: StatusEvent = {
      type: 'status',
      channel: 'email',
      status,
      providerStatus: clip(type !== undefined && kind === 'bounce' ? `${kind}:${type}` : kind, 100),
    };
    if (usableMessageId !== undefined) event.messageId = usableMessageId;
    if (usableProviderId !== undefined) event.providerMessageId = usableProviderId;
    if (status === 'failed') {
      event.reason = reasonForSendgridEvent({
        event: kind,
        type,
        reason: reasonText,
        bounceClassification: classification,
      });
      const code = classification ?? smtpStatus;
      if (code !== undefined) event.code = clip(code, 100);
    }
    if (
      status === 'deferred' &&
      attemptText !== undefined &&
      /^\d+$/.test(attemptText) &&
      Number.isSafeInteger(Number(attemptText))
    ) {
      event.attempt = Number(attemptText);
    }
    if (status === 'engagement') event.engagement = kind === 'click' ? 'click' : 'open';
    const detail = reasonText ?? response;
    if (detail !== undefined) event.detail = clip(detail, 2000);
    const occurredAt = timestamp === undefined ? undefined : sendgridTimestampMs(timestamp);
    if (occurredAt !== undefined) event.occurredAt = occurredAt;
    const eventId = str(e.sg_event_id);
    if (eventId !== undefined && eventId.length <= 300) event.eventId = eventId;
    event.dedupeKey = clip(
      [
        'sendgrid',
        usableMessageId ?? usableProviderId,
        kind,
        timestamp ?? '',
        type ?? '',
        detail === undefined ? '' : hash(detail),
        attemptText ?? '',
        url === undefined ? '' : hash(url),
      ].join(':'),
      500,
    );
    // A malformed field (a NUL, half a surrogate pair) refuses this event only, not the batch.
    const problem = providerEventProblem(event);
    if (problem) {
      rejected.push({ index, reason: `malformed ${problem.path}: ${problem.message}` });
      return;
    }
    events.push(event);
  });
  return { events, suppressions, rejected };
}
