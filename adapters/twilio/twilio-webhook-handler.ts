/**
 * One web handler for Twilio's status callbacks and inbound messages: bounded read, signature
 * check, parse, ingest.
 */
import type { EventSink, ProviderEvent } from 'campaign-lifecycle';
import { isOutreachError } from 'campaign-lifecycle';
import { readBodyWithLimit, reportingRejections, type WebhookRejection } from '../../src/internal/http.js';
import { isTwilioInbound, parseTwilioInbound, parseTwilioStatusCallback } from './twilio-callbacks.js';
import { createTwilioVerifier } from './twilio-signature.js';

/** Options of {@link twilioWebhookHandler}. */
export interface TwilioWebhookHandlerOptions {
  /** Where events go: the engine (`createOutreach(...)`) or anything with `ingest`. */
  readonly outreach: EventSink;
  /** The auth token that signs the requests. */
  readonly authToken: string;
  /**
   * The public base URL Twilio calls (scheme, host, port and an optional path prefix a proxy
   * strips), e.g. `https://hooks.example.com`. It replaces the scheme, host and port of
   * `request.url` for the signature check, since behind a proxy the request arrives under a
   * different address than the one Twilio signed.
   */
  readonly publicUrl?: string | undefined;
  /** The suppression scope of inbound STOP/START replies; the engine's default when absent. */
  readonly scope?: string | undefined;
  /** Larger bodies are refused with 413 before parsing. @defaultValue 65536 (64 KiB) */
  readonly maxBodyBytes?: number | undefined;
  /** Told of every request answered 4xx and why. @defaultValue a `console.warn` line */
  readonly onReject?: ((rejection: WebhookRejection) => void) | undefined;
}

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

function signedUrl(requestUrl: string, publicUrl: string | undefined): string {
  if (publicUrl === undefined) return requestUrl;
  const u = new URL(requestUrl);
  return publicUrl.replace(/\/+$/, '') + u.pathname + u.search;
}

function formFromJson(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * A `(Request) => Promise<Response>` handler for Twilio webhooks. Inbound messages (status
 * `received`, as Twilio posts them, or a `Body` / `OptOutType` without a status) become opt-out or
 * opt-in events; other bodies with `MessageStatus` / `SmsStatus` are status callbacks and become
 * status events. It answers 405 for a method other than POST, 413 for a body over `maxBodyBytes`
 * (before parsing), 401 with no state change for a missing or wrong `X-Twilio-Signature`, 400 for
 * a malformed body or field (a NUL in `MessageSid` or our message id: anything `ingest` refuses as
 * `VALIDATION_FAILED`), 500 only when `ingest` fails otherwise (Twilio then retries), and otherwise
 * 200: empty for a status callback, an empty TwiML `<Response/>` for an inbound message. Every 4xx
 * is reported to `onReject` with its reason.
 * @example
 * const handle = twilioWebhookHandler({ outreach, authToken: process.env.TWILIO_AUTH_TOKEN!, publicUrl: 'https://hooks.example.com' });
 * export default { fetch: handle }; // Bun, Deno, workers; or wrap it in your framework's route
 */
export function twilioWebhookHandler(options: TwilioWebhookHandlerOptions): (request: Request) => Promise<Response> {
  const verify = createTwilioVerifier(options.authToken);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const handle = async (request: Request): Promise<Response> => {
    if (request.method !== 'POST') {
      return new Response('Twilio webhooks are POST requests.', { status: 405, headers: { allow: 'POST' } });
    }
    const raw = await readBodyWithLimit(request, maxBodyBytes);
    if (raw === null) return text(413, `The body is over the ${maxBodyBytes}-byte limit.`);
    const signature = request.headers.get('x-twilio-signature');
    if (!signature) return text(401, 'Missing X-Twilio-Signature.');
    let url: string;
    try {
      url = signedUrl(request.url, options.publicUrl);
    } catch {
      return text(400, 'The request URL cannot be read.');
    }
    let body: string;
    try {
      body = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      return text(400, 'The body is not UTF-8.');
    }
    const isJson = (request.headers.get('content-type') ?? '').toLowerCase().includes('application/json');
    const form = isJson ? undefined : new URLSearchParams(body);
    const ok = await verify({ url, signature, ...(form ? { params: form } : { rawBody: raw }) });
    if (!ok) return text(401, 'The X-Twilio-Signature does not match this request.');
    let fields: URLSearchParams | Record<string, string> | undefined = form;
    if (isJson) {
      try {
        fields = formFromJson(JSON.parse(body));
      } catch {
        fields = undefined;
      }
      if (fields === undefined) return text(400, 'The JSON body is not an object.');
    }
    const get = (name: string) => (fields instanceof URLSearchParams ? fields.get(name) : fields?.[name]);
    let events: ProviderEvent[];
    let inbound = false;
    try {
      if (isTwilioInbound(fields!)) {
        // Inbound first: Twilio posts every inbound message with SmsStatus=received.
        inbound = true;
        const change = parseTwilioInbound(fields!, { scope: options.scope });
        events = change ? [change] : [];
      } else if (get('MessageStatus') || get('SmsStatus')) {
        events = [
          parseTwilioStatusCallback(fields!, {
            url,
            idempotencyToken: request.headers.get('i-twilio-idempotency-token'),
          }),
        ];
      } else {
        return text(400, 'Neither a status callback (MessageStatus) nor an inbound message (Body).');
      }
    } catch (error) {
      if (isOutreachError(error)) return text(400, error.message);
      throw error;
    }
    if (events.length > 0) {
      try {
        await options.outreach.ingest(events);
      } catch (error) {
        // A refused event is the request's fault: a retry would be refused the same way.
        if (isOutreachError(error) && error.code === 'VALIDATION_FAILED') return text(400, error.message);
        return text(500, 'The events could not be recorded; Twilio will retry.');
      }
    }
    return inbound
      ? new Response(EMPTY_TWIML, { status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' } })
      : new Response(null, { status: 200 });
  };
  return reportingRejections('twilio', handle, options.onReject);
}
