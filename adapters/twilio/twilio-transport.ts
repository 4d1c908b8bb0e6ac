/**
 * The Twilio SMS transport: one Messages API create per message over `fetch`, every outcome
 * classified for the engine (accepted, pre-send, rejected, unknown).
 */
import type {
  Clock,
  EventSink,
  LookupOptions,
  LookupResult,
  OutgoingSms,
  SendOptions,
  SendResult,
  SmsTransport,
  StatusEvent,
  TransportLimits,
} from 'campaign-lifecycle';
import { OutreachError } from 'campaign-lifecycle';
import { basicAuth, callProvider, clip, parseRetryAfter, tryParseJson } from '../../src/internal/http.js';
import {
  TWILIO_MESSAGE_ID_PARAM,
  TWILIO_STATUS_MAP,
  TWILIO_UNSUBSCRIBED_CODE,
  withTwilioOptOut,
} from './twilio-callbacks.js';
import { reasonForTwilioCode } from './twilio-error-codes.js';

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
  /** Where "now" comes from when a `Retry-After` is an HTTP date, and for lookups. @defaultValue Date.now */
  readonly clock?: Pick<Clock, 'now'> | undefined;
  /**
   * Whether the transport offers `lookup`: before a send of unknown outcome times out, the engine asks
   * Twilio's Messages list whether it has the message. Turn it off for credentials that may not list
   * messages (the message then fails with `timed_out`, as without a lookup). @defaultValue true
   */
  readonly lookup?: boolean | undefined;
};

/** Most pages of 1,000 messages a lookup reads; a longer history between sender and recipient is undecidable. */
const LOOKUP_MAX_PAGES = 5;
/** Clock difference tolerated between this host and Twilio when matching `date_created`. */
const LOOKUP_CLOCK_SKEW_MS = 120_000;

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
 * dropped connection, or a 2xx without a readable `sid` → unknown (never resent blindly).
 *
 * `lookup` (unless `lookup: false`) reads `GET …/Messages.json?To=…&From=…&PageSize=1000` (To alone
 * with a Messaging Service, matched on `messaging_service_sid`), every page up to 5, and keeps the
 * messages whose `date_created` falls in the window the request could have left in (2 minutes of
 * clock difference allowed): one with the same body → found, with its `sid` and status (mapped like a
 * status callback); none at all, the listing complete and the window closed → absent; anything else
 * (a failed call, several matches, a message in the window with another body) → undecidable.
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
  let sink: EventSink | undefined;

  /**
   * A create refused with 21610: the recipient opted out at Twilio. Through the engine's sink, the
   * failure and an opt-out for the message, so that the number joins the suppression list of the
   * message's scope (the result alone records the failure, not the suppression). Either order with the
   * engine's own recording of the result ends the same: Opted Out, code 21610. A failing sink loses
   * only the suppression, never the result.
   */
  async function reportOptOut(message: OutgoingSms, error: string): Promise<void> {
    if (!sink) return;
    const failure: StatusEvent = {
      type: 'status',
      channel: 'sms',
      messageId: message.messageId,
      status: 'failed',
      reason: 'opted_out',
      code: TWILIO_UNSUBSCRIBED_CODE,
      providerStatus: 'rejected',
      detail: clip(error, 2000),
      dedupeKey: clip(`twilio-create:${message.messageId}:${message.attempt}:${TWILIO_UNSUBSCRIBED_CODE}`, 500),
    };
    try {
      await sink.ingest(withTwilioOptOut(failure));
    } catch {
      // The send result still records the refusal; the number is suppressed at Twilio regardless.
    }
  }

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
    const error = `twilio: refused the message (HTTP ${status}${codeNote}): ${text}`;
    if (rawCode === TWILIO_UNSUBSCRIBED_CODE) await reportOptOut(message, error);
    return { outcome: 'rejected', reason: mapped === 'unknown' ? 'failed_to_create' : mapped, code: rawCode, error };
  }

  /**
   * Lists the messages between the sender and the recipient (To and From, or To alone with a Messaging
   * Service) and matches body and `date_created` against the window the request could have left in.
   * `DateSent` is not used as a filter: a message Twilio still holds (queued, accepted, scheduled) has
   * no sent date, and leaving it out would turn "queued at Twilio" into "absent" and send it twice.
   */
  async function lookup(message: OutgoingSms, lookupOptions: LookupOptions): Promise<LookupResult> {
    const sender = message.from ?? options.from;
    const undecidable = (why: string): LookupResult => ({ outcome: 'undecidable', error: `twilio lookup: ${why}` });
    // A Messaging Service sid given as the sender: Twilio records the number it chose, so list by To alone.
    const service =
      sender === undefined || sender.startsWith('MG') ? (sender ?? options.messagingServiceSid) : undefined;
    const from = service === undefined ? sender : undefined;
    if (from === undefined && service === undefined) return undecidable('no sender');
    const earliest = lookupOptions.dispatchedAt - LOOKUP_CLOCK_SKEW_MS;
    // The request left by `startedBy` and was abandoned `timeoutMs` later at the latest.
    const latest = lookupOptions.startedBy + timeoutMs + LOOKUP_CLOCK_SKEW_MS;
    const query = new URLSearchParams({ To: message.to });
    if (from !== undefined) query.set('From', from);
    query.set('PageSize', '1000');
    let url = `${endpoint}?${query.toString()}`;
    const inWindow: { sid: string; body: unknown; status: string; errorCode: unknown }[] = [];
    let later = 0;
    for (let page = 0; ; page++) {
      if (page === LOOKUP_MAX_PAGES) return undecidable(`more than ${LOOKUP_MAX_PAGES} pages of messages`);
      const answer = await callProvider({
        fetch: fetchImpl,
        url,
        init: { method: 'GET', headers: { authorization, accept: 'application/json' } },
        timeoutMs,
        signal: lookupOptions.signal,
        provider: 'twilio',
      });
      if (answer.kind === 'failure') return undecidable(answer.error);
      if (answer.status !== 200) return undecidable(`HTTP ${answer.status}`);
      const body = tryParseJson(answer.text) as { messages?: unknown; next_page_uri?: unknown } | undefined;
      if (typeof body !== 'object' || body === null || !Array.isArray(body.messages))
        return undecidable('no readable messages list');
      for (const raw of body.messages as unknown[]) {
        const m = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
        if (service !== undefined && m.messaging_service_sid !== service) continue;
        const created = typeof m.date_created === 'string' ? Date.parse(m.date_created) : Number.NaN;
        if (!Number.isFinite(created)) return undecidable('a message without a readable date_created');
        if (created < earliest) continue;
        if (created > latest) {
          later++;
          continue;
        }
        if (typeof m.sid !== 'string' || !m.sid) return undecidable('a message without a sid');
        inWindow.push({ sid: m.sid, body: m.body, status: String(m.status ?? ''), errorCode: m.error_code });
      }
      const next = body.next_page_uri;
      if (next === null || next === undefined || next === '') break;
      if (typeof next !== 'string' || !next.startsWith('/')) return undecidable('an unreadable next_page_uri');
      url = `${baseUrl}${next}`;
    }
    const same = inWindow.filter((m) => m.body === message.body);
    if (same.length === 1) {
      const [m] = same as [(typeof inWindow)[number]];
      const key = m.status.toLowerCase();
      const status = Object.hasOwn(TWILIO_STATUS_MAP, key) ? TWILIO_STATUS_MAP[key] : 'sending';
      const code =
        typeof m.errorCode === 'number' || (typeof m.errorCode === 'string' && m.errorCode !== '')
          ? String(m.errorCode)
          : undefined;
      if (status === 'failed')
        return {
          outcome: 'found',
          providerMessageId: m.sid,
          status: 'failed',
          reason: key === 'canceled' ? 'unknown' : reasonForTwilioCode(code),
          ...(code !== undefined ? { code: clip(code, 100) } : {}),
        };
      return {
        outcome: 'found',
        providerMessageId: m.sid,
        status: status === 'sent' || status === 'delivered' ? status : 'sending',
      };
    }
    if (same.length > 1) return undecidable(`${same.length} messages match`);
    // Absent only when nothing at all went from this sender to this recipient in the window (a body
    // Twilio rewrote, smart encoding say, must not pass for absence), and the window has closed.
    if (inWindow.length > 0) return undecidable(`${inWindow.length} message(s) in the window, none with this body`);
    if (now() <= latest) return undecidable('the request window has not closed yet');
    // A message created after the window may be this one, handed over late by a stalled worker: absence
    // is proven only when nothing at all went from this sender to this recipient since the dispatch.
    if (later > 0) return undecidable(`${later} message(s) after the window; a late hand-over cannot be ruled out`);
    return { outcome: 'absent' };
  }

  return {
    channel: 'sms',
    name: 'twilio',
    limits: options.limits,
    send,
    ...(options.lookup === false ? {} : { lookup }),
    connect(engineSink) {
      sink = engineSink;
    },
  };
}
