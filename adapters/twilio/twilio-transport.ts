/**
 * The Twilio SMS transport: one Messages API create per message over `fetch`, every outcome
 * classified for the engine (accepted, pre-send, rejected, unknown).
 */
import type { Clock, OutgoingSms, SendOptions, SendResult, SmsTransport, TransportLimits } from 'campaign-lifecycle';
import { OutreachError, reasonForTwilioCode } from 'campaign-lifecycle';
import { basicAuth, callProvider, clip, parseRetryAfter, tryParseJson } from './provider-http.js';
import { TWILIO_MESSAGE_ID_PARAM } from './twilio-callbacks.js';

/** Account credentials: the auth token, or an API key (recommended for production). */
export type TwilioCredentials =
  | { readonly accountSid: string; readonly authToken: string }
  | { readonly accountSid: string; readonly apiKeySid: string; readonly apiKeySecret: string };

/** Options of {@link twilioTransport}. */
export type TwilioTransportOptions = TwilioCredentials & {
  /** Default sender (number, short code or alphanumeric id); a message's own `from` wins. */
  readonly from?: string | undefined;
  /** Send through a Messaging Service (sender pool, opt-out handling). */
  readonly messagingServiceSid?: string | undefined;
  /**
   * The public URL of your status-callback handler. Each message's id is appended as the
   * `messageId` query parameter, so every callback finds its message.
   */
  readonly statusCallbackUrl: string;
  /** @defaultValue 'https://api.twilio.com' */
  readonly baseUrl?: string | undefined;
  /** A `fetch` implementation. @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch | undefined;
  /** How long one create may take, answer body included, before its outcome is unknown. @defaultValue 15000 */
  readonly timeoutMs?: number | undefined;
  /** Rate and concurrency limits the engine's dispatcher honours (match your senders' throughput). */
  readonly limits?: TransportLimits | undefined;
  /** Where "now" comes from when a `Retry-After` is an HTTP date. @defaultValue Date.now */
  readonly clock?: Pick<Clock, 'now'> | undefined;
};

/**
 * Twilio error codes that refuse every message, not one: 20003 (authentication) and 21704 (the
 * Messaging Service contains no phone numbers, so no message of the campaign can be sent).
 */
const FATAL_CODES: ReadonlySet<number> = new Set([20003, 21704]);

function splitCallbackUrl(url: string): { before: string; separator: string; fragment: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new OutreachError('CONFIGURATION_ERROR', `statusCallbackUrl "${url}" is not an absolute URL.`, { cause });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new OutreachError('CONFIGURATION_ERROR', `statusCallbackUrl must be an http(s) URL, got "${url}".`);
  }
  if (parsed.searchParams.has(TWILIO_MESSAGE_ID_PARAM)) {
    throw new OutreachError(
      'CONFIGURATION_ERROR',
      `statusCallbackUrl already has a "${TWILIO_MESSAGE_ID_PARAM}" parameter; the transport adds it per message.`,
    );
  }
  // The fragment (Twilio's connection overrides, e.g. #rc=3) must stay after the query.
  const hash = url.indexOf('#');
  const before = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : url.slice(hash);
  const separator = before.includes('?') ? (before.endsWith('?') || before.endsWith('&') ? '' : '&') : '?';
  return { before, separator, fragment };
}

/**
 * Creates the Twilio SMS transport. `send` posts to `/2010-04-01/Accounts/{sid}/Messages.json`
 * (form-encoded, Basic auth) with `To`, `From` and/or `MessagingServiceSid`, `Body` and a
 * `StatusCallback` that carries our message id, and never throws: 201 → accepted (the `sid`);
 * 429 and 5xx → pre-send (with `Retry-After`); 401/403/404 or code 20003 or 21704 → rejected, fatal
 * (`sender_config`); another 4xx → rejected with the reason of its Twilio code (`failed_to_create`
 * when the code is unmapped or absent); refused connection or DNS failure → pre-send; timeout,
 * dropped connection, or a 2xx without a readable `sid` → unknown (never resent).
 * @example
 * const sms = twilioTransport({
 *   accountSid: process.env.TWILIO_ACCOUNT_SID!,
 *   authToken: process.env.TWILIO_AUTH_TOKEN!,
 *   messagingServiceSid: 'MG…',
 *   statusCallbackUrl: 'https://example.com/webhooks/twilio',
 *   limits: { ratePerSecond: 10, concurrency: 8 },
 * });
 */
export function twilioTransport(options: TwilioTransportOptions): SmsTransport {
  if (!options.accountSid) throw new OutreachError('CONFIGURATION_ERROR', 'twilioTransport needs accountSid.');
  if (!('authToken' in options ? options.authToken : options.apiKeySid && options.apiKeySecret)) {
    throw new OutreachError('CONFIGURATION_ERROR', 'twilioTransport needs authToken, or apiKeySid and apiKeySecret.');
  }
  // With an API key, the key sid and secret authenticate; the account sid stays in the path.
  const authorization =
    'authToken' in options
      ? basicAuth(options.accountSid, options.authToken)
      : basicAuth(options.apiKeySid, options.apiKeySecret);
  const callback = splitCallbackUrl(options.statusCallbackUrl);
  const baseUrl = (options.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '');
  const endpoint = `${baseUrl}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const now = () => (options.clock ? options.clock.now() : Date.now());

  async function send(message: OutgoingSms, sendOptions: SendOptions = {}): Promise<SendResult> {
    const from = message.from ?? options.from;
    if (from === undefined && options.messagingServiceSid === undefined) {
      return {
        outcome: 'rejected',
        reason: 'sender_config',
        fatal: true,
        error: 'twilio: no sender: set `from` or `messagingServiceSid` on the transport, or a sender on the campaign.',
      };
    }
    const form = new URLSearchParams();
    form.set('To', message.to);
    if (from !== undefined) form.set('From', from);
    if (options.messagingServiceSid !== undefined) form.set('MessagingServiceSid', options.messagingServiceSid);
    form.set('Body', message.body);
    form.set(
      'StatusCallback',
      `${callback.before}${callback.separator}${TWILIO_MESSAGE_ID_PARAM}=${encodeURIComponent(message.messageId)}${callback.fragment}`,
    );
    const answer = await callProvider({
      fetch: fetchImpl,
      url: endpoint,
      init: {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
      },
      timeoutMs,
      signal: sendOptions.signal,
      provider: 'twilio',
    });
    if (answer.kind === 'failure') return { outcome: answer.outcome, error: answer.error };
    const { status } = answer;
    const body = tryParseJson(answer.text) as { sid?: unknown; code?: unknown; message?: unknown } | undefined;
    if (status >= 200 && status < 300) {
      if (body !== undefined && typeof body === 'object' && body !== null && typeof body.sid === 'string' && body.sid) {
        return { outcome: 'accepted', providerMessageId: body.sid };
      }
      const why = answer.text === undefined ? `the answer body was lost (${answer.bodyError})` : 'no readable sid';
      return { outcome: 'unknown', error: `twilio: HTTP ${status} but ${why}; the message may have been created.` };
    }
    if (status === 429 || status >= 500) {
      return {
        outcome: 'presend',
        error: `twilio: HTTP ${status}${status === 429 ? ' too many requests' : ' server error'}, not accepted`,
        retryAfterMs: parseRetryAfter(answer.headers.get('retry-after'), now()),
      };
    }
    const obj = typeof body === 'object' && body !== null ? body : {};
    const rawCode = typeof obj.code === 'number' || typeof obj.code === 'string' ? String(obj.code) : undefined;
    const text = typeof obj.message === 'string' ? clip(obj.message, 500) : `HTTP ${status}`;
    const codeNote = rawCode === undefined ? '' : `, code ${rawCode}`;
    if (status === 401 || status === 403 || status === 404 || FATAL_CODES.has(Number(rawCode))) {
      const check =
        rawCode === '21704' ? 'Add a sender to the Messaging Service.' : 'Check accountSid and credentials.';
      return {
        outcome: 'rejected',
        reason: 'sender_config',
        code: rawCode,
        fatal: true,
        error: `twilio: the account refused the request (HTTP ${status}${codeNote}): ${text}. ${check}`,
      };
    }
    const mapped = rawCode === undefined ? 'unknown' : reasonForTwilioCode(rawCode);
    return {
      outcome: 'rejected',
      reason: mapped === 'unknown' ? 'failed_to_create' : mapped,
      code: rawCode,
      error: `twilio: refused the message (HTTP ${status}${codeNote}): ${text}`,
    };
  }

  return { channel: 'sms', name: 'twilio', limits: options.limits, send };
}
