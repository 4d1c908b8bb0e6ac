/**
 * A web handler for SendGrid's Event Webhook: bounded read, signature check, parse, ingest.
 */
import type { Clock, EventSink } from 'campaign-lifecycle';
import { isOutreachError } from 'campaign-lifecycle';
import type { WebhookRejection } from '../../src/internal/http.js';
import {
  type RawRequest,
  type RawResponse,
  reportingRawRejections,
  rawText as text,
  webHandler,
} from '../../src/internal/raw-handler.js';
import { parseSendgridEvents } from './sendgrid-events.js';
import {
  importSendgridPublicKey,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  verifyWithSendgridKey,
} from './sendgrid-signature.js';

/** Options of {@link sendgridWebhookHandler}. */
export interface SendgridWebhookHandlerOptions {
  /** Where events go: the engine (`createOutreach(...)`) or anything with `ingest`. */
  readonly outreach: EventSink;
  /** The Signed Event Webhook verification key (base64 DER SPKI, P-256). */
  readonly publicKey: string;
  /** Larger bodies are refused with 413 before parsing. @defaultValue 1048576 (1 MiB; SendGrid batches stay under 768 KB) */
  readonly maxBodyBytes?: number | undefined;
  /** Refuse requests whose signed timestamp is further than this from now (replays). Off when absent. */
  readonly maxAgeSeconds?: number | undefined;
  /** Where "now" comes from for `maxAgeSeconds`. @defaultValue Date.now */
  readonly clock?: Pick<Clock, 'now'> | undefined;
  /** The suppression scope a `group_resubscribe` lifts; the engine's default when absent. */
  readonly scope?: string | undefined;
  /** Told of every request answered 4xx and why. @defaultValue a `console.warn` line */
  readonly onReject?: ((rejection: WebhookRejection) => void) | undefined;
}

/**
 * A `(Request) => Promise<Response>` handler for SendGrid's Signed Event Webhook. It answers 405
 * for a method other than POST, 413 for a body over `maxBodyBytes` (before parsing), 401 with no
 * state change for a missing or wrong signature (or a stale timestamp), 400 for a body that is
 * not a JSON array or that `ingest` refuses as `VALIDATION_FAILED`, 500 only when `ingest` fails
 * otherwise (SendGrid then retries for up to 24 h), and 200 otherwise. Events of unmapped types
 * and events with a malformed field (a NUL in `sg_message_id`) are skipped, not refused, so that
 * SendGrid does not retry the whole batch for ever; the response body says how many were skipped.
 * Every 4xx is reported to `onReject` with its reason.
 * @example
 * const handle = sendgridWebhookHandler({ outreach, publicKey: process.env.SENDGRID_WEBHOOK_KEY!, maxAgeSeconds: 600 });
 */
export function sendgridWebhookHandler(
  options: SendgridWebhookHandlerOptions,
): (request: Request) => Promise<Response> {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  let key: Promise<CryptoKey | null> | undefined;
  const handle = async (request: RawRequest): Promise<RawResponse> => {
    if (request.method !== 'POST') return text(405, 'SendGrid webhooks are POST requests.', { allow: 'POST' });
    const raw = await request.body(maxBodyBytes);
    if (raw === null) return text(413, `The body is over the ${maxBodyBytes}-byte limit.`);
    const signature = request.header(SENDGRID_SIGNATURE_HEADER);
    const timestamp = request.header(SENDGRID_TIMESTAMP_HEADER);
    if (!signature || !timestamp)
      return text(401, `Missing ${SENDGRID_SIGNATURE_HEADER} or ${SENDGRID_TIMESTAMP_HEADER}.`);
    key ??= importSendgridPublicKey(options.publicKey);
    const cryptoKey = await key;
    if (cryptoKey === null) return text(500, 'The configured SendGrid public key is not a base64 P-256 SPKI key.');
    const ok = await verifyWithSendgridKey(cryptoKey, {
      rawBody: raw,
      signature,
      timestamp,
      maxAgeSeconds: options.maxAgeSeconds,
      now: options.clock ? options.clock.now() : Date.now(),
    });
    if (!ok) return text(401, 'The signature does not match this body and timestamp.');
    let parsed: ReturnType<typeof parseSendgridEvents>;
    try {
      parsed = parseSendgridEvents(JSON.parse(new TextDecoder().decode(raw)), { scope: options.scope });
    } catch (error) {
      if (error instanceof SyntaxError) return text(400, 'The body is not JSON.');
      if (isOutreachError(error)) return text(400, error.message);
      throw error;
    }
    const events = [...parsed.events, ...parsed.suppressions];
    if (events.length > 0) {
      try {
        await options.outreach.ingest(events);
      } catch (error) {
        if (isOutreachError(error) && error.code === 'VALIDATION_FAILED') return text(400, error.message);
        return text(500, 'The events could not be recorded; SendGrid will retry.');
      }
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ received: events.length, skipped: parsed.rejected.length }),
    };
  };
  return webHandler(reportingRawRejections('sendgrid', handle, options.onReject));
}
