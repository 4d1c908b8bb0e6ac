/**
 * One web handler for Twilio's status callbacks and inbound messages: bounded read, signature
 * check, parse, ingest.
 */
import type { EventSink, ProviderEvent } from 'campaign-lifecycle';
import { isOutreachError, OutreachError } from 'campaign-lifecycle';
import { escapeHtml } from '../../src/internal/encoding.js';
import type { WebhookRejection } from '../../src/internal/http.js';
import {
  type RawRequest,
  type RawResponse,
  reportingRawRejections,
  rawText as text,
  webHandler,
} from '../../src/internal/raw-handler.js';
import {
  isTwilioInbound,
  parseTwilioInbound,
  parseTwilioStatusCallback,
  twilioHelpRequest,
  withTwilioOptOut,
} from './twilio-callbacks.js';
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
  /**
   * The answer to a HELP or INFO reply (CTIA: who is sending, how to get help, how to opt out): a
   * string is the text of one `<Message>` Twilio sends back (XML-escaped here); `{ twiml }` is a whole
   * TwiML document answered as is. A HELP reply never changes suppression. When Twilio's Advanced
   * Opt-Out already answered (it posts `OptOutType=HELP`), the handler answers an empty `<Response/>`
   * so the sender does not get two help texts. Without it, HELP gets an empty `<Response/>` (Twilio's
   * own keyword handling may answer it). @defaultValue undefined
   * @example
   * helpReply: 'Springfield Schools alerts. Help: 555-0100 or office@school.example. Msg&data rates may apply. Reply STOP to opt out.'
   */
  readonly helpReply?: string | { readonly twiml: string } | undefined;
}

/** One decoder for every request (it keeps no state between whole-buffer calls). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
/** Twilio's most characters in one message body. */
const MAX_BODY = 1600;

/** The TwiML a HELP reply gets, checked at startup. */
function helpTwiml(help: TwilioWebhookHandlerOptions['helpReply']): string | undefined {
  if (help === undefined) return undefined;
  if (typeof help === 'string') {
    if (help.trim() === '' || help.length > MAX_BODY) {
      throw new OutreachError(
        'CONFIGURATION_ERROR',
        `twilioWebhookHandler helpReply must be a message of 1 to ${MAX_BODY} characters (who you are, how to get help, "Reply STOP to opt out"), got ${help.length}.`,
      );
    }
    // escapeHtml's five entities (&amp; &lt; &gt; &quot; &#39;) are XML's too.
    return `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${escapeHtml(help)}</Message></Response>`;
  }
  const twiml = typeof help === 'object' && help !== null ? help.twiml : undefined;
  if (typeof twiml !== 'string' || !/^\s*(?:<\?xml[^>]*\?>\s*)?<Response[\s/>]/.test(twiml)) {
    throw new OutreachError(
      'CONFIGURATION_ERROR',
      'twilioWebhookHandler helpReply.twiml must be a TwiML document: <Response>…</Response>, optionally after an <?xml …?> declaration.',
    );
  }
  return twiml;
}

function twimlResponse(twiml: string): RawResponse {
  return { status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: twiml };
}

const EMPTY_OK: RawResponse = { status: 200, headers: {}, body: null };

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
 * status events (a failure with 21610, "attempt to send to unsubscribed recipient", also puts the
 * number on the suppression list of the message's scope). It answers 405 for a method other than POST, 413 for a body over `maxBodyBytes`
 * (before parsing), 401 with no state change for a missing or wrong `X-Twilio-Signature`, 400 for
 * a malformed body or field (a NUL in `MessageSid` or our message id: anything `ingest` refuses as
 * `VALIDATION_FAILED`), 500 only when `ingest` fails otherwise (Twilio then retries), and otherwise
 * 200: empty for a status callback, TwiML for an inbound message (`helpReply` for HELP/INFO, else an
 * empty `<Response/>`). Every 4xx is reported to `onReject` with its reason.
 * @throws OutreachError `CONFIGURATION_ERROR` when `helpReply` is empty, longer than 1,600 characters,
 * or a `twiml` that is not a `<Response>` document.
 * @example
 * const handle = twilioWebhookHandler({ outreach, authToken: process.env.TWILIO_AUTH_TOKEN!, publicUrl: 'https://hooks.example.com' });
 * export default { fetch: handle }; // Bun, Deno, workers; or wrap it in your framework's route
 */
export function twilioWebhookHandler(options: TwilioWebhookHandlerOptions): (request: Request) => Promise<Response> {
  const verify = createTwilioVerifier(options.authToken);
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const help = helpTwiml(options.helpReply);
  const handle = async (request: RawRequest): Promise<RawResponse> => {
    if (request.method !== 'POST') return text(405, 'Twilio webhooks are POST requests.', { allow: 'POST' });
    const raw = await request.body(maxBodyBytes);
    if (raw === null) return text(413, `The body is over the ${maxBodyBytes}-byte limit.`);
    const signature = request.header('x-twilio-signature');
    if (!signature) return text(401, 'Missing X-Twilio-Signature.');
    let url: string;
    try {
      url = signedUrl(request.url, options.publicUrl);
    } catch {
      return text(400, 'The request URL cannot be read.');
    }
    let body: string;
    try {
      body = UTF8.decode(raw);
    } catch {
      return text(400, 'The body is not UTF-8.');
    }
    const isJson = (request.header('content-type') ?? '').toLowerCase().includes('application/json');
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
    let answer = EMPTY_TWIML;
    try {
      if (isTwilioInbound(fields!)) {
        // Inbound first: Twilio posts every inbound message with SmsStatus=received.
        inbound = true;
        const change = parseTwilioInbound(fields!, { scope: options.scope });
        events = change ? [change] : [];
        // HELP/INFO: answered, never a suppression change (parseTwilioInbound gives null for it).
        if (help !== undefined && change === null && twilioHelpRequest(fields!) === 'keyword') answer = help;
      } else if (get('MessageStatus') || get('SmsStatus')) {
        // A failure with 21610 (the recipient opted out at Twilio) also suppresses the number.
        events = withTwilioOptOut(
          parseTwilioStatusCallback(fields!, {
            url,
            idempotencyToken: request.header('i-twilio-idempotency-token'),
          }),
        );
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
    return inbound ? twimlResponse(answer) : EMPTY_OK;
  };
  return webHandler(reportingRawRejections('twilio', handle, options.onReject));
}
