/**
 * The web handler behind the email unsubscribe link: RFC 8058 one-click POSTs from mailbox
 * providers, and a confirmation page for people who open the link in a browser. It belongs to the
 * core beside the tokens it verifies: the engine signs the link into every email whatever the
 * transport, so the handler serves any email provider.
 */
import { isOutreachError, OutreachError } from './errors.js';
import { escapeHtml } from './internal/encoding.js';
import type { WebhookRejection } from './internal/http.js';
import {
  type RawRequest,
  type RawResponse,
  rawText,
  reportingRawRejections,
  webHandler,
} from './internal/raw-handler.js';
import type { Clock } from './ports/clock.js';
import type { EventSink, ProviderEvent } from './provider-events.js';
import { type UnsubscribeTokenPayload, verifyUnsubscribeToken } from './templates/unsubscribe-token.js';

/** Options of {@link unsubscribeHandler}. */
export interface UnsubscribeHandlerOptions {
  /** Where the opt-out goes: the engine (`createOutreach(...)`) or anything with `ingest`. */
  readonly outreach: EventSink;
  /** The secret the engine signs links with (`createOutreach({ unsubscribe: { secret } })`). */
  readonly secret: string | Uint8Array;
  /** Where "now" comes from for token expiry; pass the engine's clock. @defaultValue Date.now */
  readonly clock?: Pick<Clock, 'now'> | undefined;
  /** The title and heading of the page a GET shows. @defaultValue 'Unsubscribe' */
  readonly pageTitle?: string | undefined;
  /** The HTML page answered after an unsubscribe (trusted HTML, sent as is). A short English page by default. */
  readonly confirmationHtml?: string | undefined;
  /** Larger bodies are refused with 413 before parsing. @defaultValue 16384 (16 KiB) */
  readonly maxBodyBytes?: number | undefined;
  /** Told of every request answered 4xx and why (never the token). @defaultValue a `console.warn` line */
  readonly onReject?: ((rejection: WebhookRejection) => void) | undefined;
}

/** The one key/value pair RFC 8058 puts in the POST body. */
const ONE_CLICK_KEY = 'List-Unsubscribe';
const ONE_CLICK_VALUE = 'One-Click';

// The token is a credential in the URL: keep it out of caches and out of Referer headers.
const PRIVATE = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' };

function text(status: number, body: string, headers: Record<string, string> = {}): RawResponse {
  return rawText(status, body, { ...PRIVATE, ...headers });
}

function html(body: string): RawResponse {
  return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', ...PRIVATE }, body };
}

function page(title: string, inner: string): string {
  const t = escapeHtml(title);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${t}</title></head><body><main><h1>${t}</h1>${inner}</main></body></html>`;
}

/** Reads the form fields of a POST body, form-urlencoded or multipart; `null` when unreadable. */
async function formFields(raw: Uint8Array, contentType: string): Promise<URLSearchParams | FormData | null> {
  if (contentType.toLowerCase().startsWith('multipart/form-data')) {
    try {
      return await new Response(raw as BufferSource, { headers: { 'content-type': contentType } }).formData();
    } catch {
      return null;
    }
  }
  try {
    return new URLSearchParams(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    return null;
  }
}

/**
 * A `(Request) => Promise<Response>` handler for the unsubscribe link the engine puts in every
 * email (`createOutreach({ unsubscribe: { baseUrl, secret } })`): mount it at `baseUrl`.
 * - `POST` with the body `List-Unsubscribe=One-Click` (form-urlencoded or multipart, RFC 8058)
 *   verifies the `token` query parameter and ingests an `opted_out` status event for the message
 *   (the engine marks it Opted Out and suppresses the address), plus a suppression of the address
 *   so that the opt-out holds even when the campaign was archived or deleted. It answers 200 with a
 *   confirmation page, never a redirect (RFC 8058 forbids one). A repeated POST changes nothing.
 * - `GET` (and `HEAD`) shows a page with a button that makes that POST: a GET never unsubscribes,
 *   since mail scanners prefetch links.
 * - A missing, tampered or expired token gives 400 with a plain message and ingests nothing; a POST
 *   without the one-click pair gives 400, and so does a token whose fields `ingest` refuses as
 *   `VALIDATION_FAILED`; another method 405; a body over `maxBodyBytes` 413; a failing `ingest`
 *   otherwise 500 (the mailbox provider or the person may try again). Every 4xx is reported to
 *   `onReject` with its reason.
 * @throws OutreachError `CONFIGURATION_ERROR` when `secret` is shorter than 16 bytes.
 * @example
 * const outreach = createOutreach({ storage, transports, unsubscribe: { baseUrl: 'https://example.org/unsubscribe', secret } });
 * const handle = unsubscribeHandler({ outreach, secret, clock: outreach.clock });
 * // route GET and POST https://example.org/unsubscribe to handle
 */
export function unsubscribeHandler(options: UnsubscribeHandlerOptions): (request: Request) => Promise<Response> {
  const secretBytes =
    typeof options.secret === 'string' ? new TextEncoder().encode(options.secret).length : options.secret.length;
  if (secretBytes < 16) {
    // Fail at startup, not on the first click: every link would be refused.
    throw new OutreachError(
      'CONFIGURATION_ERROR',
      'unsubscribeHandler needs the secret the engine signs links with (at least 16 bytes): pass the same value as createOutreach({ unsubscribe: { secret } }).',
    );
  }
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024;
  const title = options.pageTitle ?? 'Unsubscribe';
  const confirmation =
    options.confirmationHtml ?? page('You are unsubscribed', '<p>You will not receive these emails any more.</p>');
  const now = () => (options.clock ? options.clock.now() : Date.now());

  const handle = async (request: RawRequest): Promise<RawResponse> => {
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      return text(405, 'Open the unsubscribe link in a browser, or POST List-Unsubscribe=One-Click to it.', {
        allow: 'GET, HEAD, POST',
      });
    }
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return text(400, 'The unsubscribe link cannot be read.');
    }
    const token = url.searchParams.get('token');
    if (!token) return text(400, 'This unsubscribe link has no token. Use the link from the latest email.');
    let payload: UnsubscribeTokenPayload;
    try {
      payload = await verifyUnsubscribeToken(token, { secret: options.secret, now: now() });
    } catch (error) {
      if (isOutreachError(error) && error.code === 'SIGNATURE_INVALID') return text(400, error.message);
      throw error; // a configuration error (short secret) is the operator's to see, not the visitor's
    }

    if (method !== 'POST') {
      // A relative action keeps the path and the token whatever proxy or mount point served the page.
      const action = `?${new URLSearchParams({ token }).toString()}`;
      return html(
        page(
          title,
          `<p>Unsubscribe ${escapeHtml(payload.address)} from these emails?</p><form method="post" action="${escapeHtml(action)}"><input type="hidden" name="${ONE_CLICK_KEY}" value="${ONE_CLICK_VALUE}"><button type="submit">Unsubscribe</button></form>`,
        ),
      );
    }

    const raw = await request.body(maxBodyBytes);
    if (raw === null) return text(413, `The body is over the ${maxBodyBytes}-byte limit.`);
    const form = await formFields(raw, request.header('content-type') ?? '');
    if (form?.get(ONE_CLICK_KEY) !== ONE_CLICK_VALUE) {
      return text(400, `A one-click unsubscribe POST carries the body ${ONE_CLICK_KEY}=${ONE_CLICK_VALUE}.`);
    }
    const events: ProviderEvent[] = [
      // The address itself too: the engine skips status events of archived or deleted campaigns, and an
      // unsubscribe must hold all the same. Adding a suppression twice is a no-op, so no event id.
      {
        type: 'suppression',
        action: 'opt_out',
        channel: payload.channel,
        address: payload.address,
        scope: payload.scope,
        source: 'unsubscribe_link',
      },
      {
        type: 'status',
        channel: payload.channel,
        messageId: payload.messageId,
        status: 'opted_out',
        providerStatus: 'unsubscribe_link',
        eventId: `unsub:${payload.messageId}`,
      },
    ];
    try {
      await options.outreach.ingest(events);
    } catch (error) {
      if (isOutreachError(error) && error.code === 'VALIDATION_FAILED') {
        return text(400, 'This unsubscribe link holds a malformed address or id; reply to the email to unsubscribe.');
      }
      return text(500, 'The unsubscribe could not be recorded. Please try again in a moment.');
    }
    return html(confirmation);
  };
  return webHandler(reportingRawRejections('unsubscribe', handle, options.onReject));
}
