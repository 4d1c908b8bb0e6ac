/**
 * The SendGrid email transport: v3 mail send over `fetch`, one message per request (`send`) or the
 * messages of a dispatch round that share content in one request (`sendBatch`, a personalization
 * each), every outcome classified for the engine (accepted, pre-send, rejected, unknown).
 */
import type {
  Clock,
  EmailAddress,
  EmailTransport,
  OutgoingEmail,
  SendOptions,
  SendResult,
  TransportLimits,
} from 'campaign-lifecycle';
import { OutreachError } from 'campaign-lifecycle';
import { escapeHtml } from '../../src/internal/encoding.js';
import { type CallAnswer, callProvider, clip, parseRetryAfter, tryParseJson } from '../../src/internal/http.js';
import { SENDGRID_CAMPAIGN_ID_ARG, SENDGRID_MESSAGE_ID_ARG } from './sendgrid-events.js';

/** Options of {@link sendgridTransport}. */
export interface SendgridTransportOptions {
  /** An API key with Mail Send permission. */
  readonly apiKey: string;
  /** Default sender (a verified Sender Identity); a message's own `from` wins. */
  readonly from?: EmailAddress | undefined;
  /** @defaultValue 'https://api.sendgrid.com' (EU subusers: 'https://api.eu.sendgrid.com') */
  readonly baseUrl?: string | undefined;
  /** A `fetch` implementation. @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch | undefined;
  /** How long one send may take before its outcome is unknown. @defaultValue 15000 */
  readonly timeoutMs?: number | undefined;
  /** Rate and concurrency limits the engine's dispatcher honours. */
  readonly limits?: TransportLimits | undefined;
  /** Validate without sending (`mail_settings.sandbox_mode`): SendGrid answers 200 and emits no events. */
  readonly sandboxMode?: boolean | undefined;
  /** Where "now" comes from for `Retry-After` dates and `X-RateLimit-Reset`. @defaultValue Date.now */
  readonly clock?: Pick<Clock, 'now'> | undefined;
  /**
   * Most messages one `sendBatch` request carries, one personalization each (SendGrid takes up to
   * 1,000). `1` turns batching off: the transport then has no `sendBatch`. @defaultValue 1000
   */
  readonly maxBatchSize?: number | undefined;
}

/** The most personalizations one v3 mail send takes (`personalizations.maxItems` in SendGrid's OpenAPI). */
export const SENDGRID_MAX_PERSONALIZATIONS = 1000;

/**
 * Substitution tags that stand for each message's own unsubscribe link in a batched request (raw in
 * the subject and text, HTML-escaped in the HTML part); each personalization's `substitutions` carry
 * its link. A message whose content already holds such a tag is sent alone.
 */
const UNSUBSCRIBE_TAG = '%campaign_lifecycle_unsubscribe_url%';
const UNSUBSCRIBE_TAG_HTML = '%campaign_lifecycle_unsubscribe_url_html%';
const TAG_PREFIX = '%campaign_lifecycle_unsubscribe_url';
/** Most requests one `sendBatch` call has in flight (the engine's default concurrency). */
const REQUESTS_IN_FLIGHT = 16;

interface SendgridError {
  message?: unknown;
  field?: unknown;
}

function address(a: EmailAddress): { email: string; name?: string } {
  return a.name ? { email: a.email, name: a.name } : { email: a.email };
}

/** The v3 mail send body for one message (exported for tests and for callers who batch themselves). */
export function sendgridMailBody(
  message: OutgoingEmail,
  from: EmailAddress,
  sandboxMode = false,
): Record<string, unknown> {
  const content: { type: string; value: string }[] = [];
  if (message.text !== undefined && message.text !== '') content.push({ type: 'text/plain', value: message.text });
  content.push({ type: 'text/html', value: message.html });
  const body: Record<string, unknown> = {
    personalizations: [
      {
        to: [{ email: message.to }],
        custom_args: { [SENDGRID_MESSAGE_ID_ARG]: message.messageId, [SENDGRID_CAMPAIGN_ID_ARG]: message.campaignId },
      },
    ],
    from: address(from),
    subject: message.subject,
    content,
  };
  if (message.replyTo) body.reply_to = address(message.replyTo);
  if (message.attachments && message.attachments.length > 0) {
    body.attachments = message.attachments.map((a) => ({
      content: a.content,
      filename: a.filename,
      ...(a.type ? { type: a.type } : {}),
      ...(a.disposition ? { disposition: a.disposition } : {}),
      ...(a.contentId ? { content_id: a.contentId } : {}),
    }));
  }
  if (Object.keys(message.headers).length > 0) body.headers = { ...message.headers };
  if (sandboxMode) body.mail_settings = { sandbox_mode: { enable: true } };
  return body;
}

function errorsOf(body: unknown): SendgridError[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.filter((e): e is SendgridError => typeof e === 'object' && e !== null) : [];
}

function errorText(errors: readonly SendgridError[], status: number): string {
  return (
    errors
      .map((e) => (typeof e.message === 'string' ? e.message : ''))
      .filter(Boolean)
      .join('; ') || `HTTP ${status}`
  );
}

/** The personalization an error's `field` names (`personalizations.3.to.0.email` → 3), if any. */
function personalizationOf(error: SendgridError): number | undefined {
  const m = typeof error.field === 'string' ? /^personalizations\.(\d+)(?:\.|$)/.exec(error.field) : null;
  return m ? Number(m[1]) : undefined;
}

/** One message as a batch sees it: the content it shares with others, and what is its own. */
interface BatchItem {
  readonly index: number;
  readonly message: OutgoingEmail;
  readonly personalization: Record<string, unknown>;
}

/**
 * Splits a message into the content it may share with others (its key) and its own personalization
 * (recipient, custom args, headers, its unsubscribe link as substitutions); `null` when it must go alone.
 */
function batchForm(
  message: OutgoingEmail,
  from: EmailAddress,
  sandboxMode: boolean,
): { key: string; shared: OutgoingEmail; personalization: Record<string, unknown> } | null {
  let { subject, html, text } = message;
  if ([subject, html, text ?? ''].some((part) => part.includes(TAG_PREFIX))) return null;
  const substitutions: Record<string, string> = {};
  const url = message.unsubscribeUrl;
  if (url) {
    const escaped = escapeHtml(url);
    const swap = (part: string, find: string, tag: string) => {
      if (!part.includes(find)) return part;
      substitutions[tag] = tag === UNSUBSCRIBE_TAG_HTML ? escaped : url;
      return part.split(find).join(tag);
    };
    if (escaped !== url) html = swap(html, escaped, UNSUBSCRIBE_TAG_HTML);
    html = swap(html, url, UNSUBSCRIBE_TAG);
    subject = swap(subject, url, UNSUBSCRIBE_TAG);
    if (text !== undefined) text = swap(text, url, UNSUBSCRIBE_TAG);
  }
  const shared: OutgoingEmail = { ...message, subject, html, text, headers: {} };
  const personalization: Record<string, unknown> = {
    to: [{ email: message.to }],
    custom_args: { [SENDGRID_MESSAGE_ID_ARG]: message.messageId, [SENDGRID_CAMPAIGN_ID_ARG]: message.campaignId },
  };
  if (Object.keys(message.headers).length > 0) personalization.headers = { ...message.headers };
  if (Object.keys(substitutions).length > 0) personalization.substitutions = substitutions;
  const key = JSON.stringify([
    from,
    message.replyTo ?? null,
    subject,
    html,
    text ?? null,
    message.attachments ?? null,
    sandboxMode,
  ]);
  return { key, shared, personalization };
}

/**
 * Creates the SendGrid email transport. `send` posts one personalization per message to
 * `/v3/mail/send` (Bearer auth) with our message and campaign ids in `custom_args`, and never
 * throws: 2xx → accepted (`X-Message-Id`); 429 and 5xx → pre-send (`Retry-After` or
 * `X-RateLimit-Reset`); 401/403, and 404/405 (a wrong endpoint) → rejected, fatal (`sender_config`); 400 → rejected
 * (`invalid_address` when an error names the `to` field, else `failed_to_create`, SendGrid's text
 * kept); 413 → rejected `content_rejected`; refused connection or DNS failure → pre-send; timeout
 * or dropped connection → unknown (never resent).
 *
 * `sendBatch` (unless `maxBatchSize` is 1) groups the messages it is given by shared content (sender,
 * reply-to, subject, HTML, text, attachments, once each message's unsubscribe link is set aside) and
 * sends each group in requests of up to `maxBatchSize` personalizations: each carries the recipient,
 * `custom_args` naming its message, its own headers (`List-Unsubscribe`), and its unsubscribe link as
 * `substitutions`, so every recipient gets exactly what `send` would have sent. A request's answer is
 * every message's: accepted (sharing the request's `X-Message-Id`), pre-send, refused, or unknown on a
 * timeout (never resent). A 400 naming personalizations refuses those messages and sends the rest
 * again once without them; a 413 splits the request in two. Messages with personal fields in their
 * content differ, so they go one per request, as with `send`, at most 16 requests in flight per call.
 * `limits` count messages (recipients), batched or not: raise `concurrency` (e.g. to 1,000) for the
 * engine to hand a whole batch to one call.
 * @example
 * const email = sendgridTransport({
 *   apiKey: process.env.SENDGRID_API_KEY!,
 *   from: { email: 'news@school.example', name: 'School' },
 *   // Counts emails (recipients), batched or not; the engine hands a batch up to `concurrency` messages.
 *   limits: { ratePerSecond: 1000, concurrency: 1000 },
 * });
 */
export function sendgridTransport(options: SendgridTransportOptions): EmailTransport {
  if (!options.apiKey) throw new OutreachError('CONFIGURATION_ERROR', 'sendgridTransport needs apiKey.');
  const endpoint = `${(options.baseUrl ?? 'https://api.sendgrid.com').replace(/\/+$/, '')}/v3/mail/send`;
  const authorization = `Bearer ${options.apiKey}`;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const now = () => (options.clock ? options.clock.now() : Date.now());
  const maxBatchSize = options.maxBatchSize ?? SENDGRID_MAX_PERSONALIZATIONS;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > SENDGRID_MAX_PERSONALIZATIONS) {
    throw new OutreachError(
      'CONFIGURATION_ERROR',
      `sendgridTransport maxBatchSize must be a whole number from 1 to ${SENDGRID_MAX_PERSONALIZATIONS} (SendGrid's personalizations per request), got ${String(options.maxBatchSize)}.`,
    );
  }

  const post = (body: Record<string, unknown>, signal: AbortSignal | undefined) =>
    callProvider({
      fetch: fetchImpl,
      url: endpoint,
      init: {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
      },
      timeoutMs,
      signal,
      provider: 'sendgrid',
    });

  async function send(message: OutgoingEmail, sendOptions: SendOptions = {}): Promise<SendResult> {
    const from = message.from ?? options.from;
    if (from === undefined) {
      return {
        outcome: 'rejected',
        reason: 'sender_config',
        fatal: true,
        error: 'sendgrid: no sender: set `from` on the transport or sender settings on the campaign.',
      };
    }
    const answer = await post(sendgridMailBody(message, from, options.sandboxMode), sendOptions.signal);
    if (answer.kind === 'failure') return { outcome: answer.outcome, error: answer.error };
    const { status, headers } = answer;
    if (status >= 200 && status < 300) {
      // The status line is the acceptance: the body of a 202 is empty, so a lost body changes nothing.
      return { outcome: 'accepted', providerMessageId: headers.get('x-message-id') || undefined };
    }
    const errors = errorsOf(tryParseJson(answer.text));
    const account = refusedForAll(answer, errors);
    if (account) return account;
    const text = errorText(errors, status);
    const aboutRecipient = errors.some(
      (e) => typeof e.field === 'string' && /^personalizations\.\d+\.to\b/.test(e.field),
    );
    return {
      outcome: 'rejected',
      reason: status === 413 ? 'content_rejected' : aboutRecipient ? 'invalid_address' : 'failed_to_create',
      code: String(status),
      error: `sendgrid: refused the message (HTTP ${status}): ${clip(text, 500)}`,
    };
  }

  /** The answers that say the same of every message whatever it holds: pre-send (429, 5xx) and account refusals. */
  function refusedForAll(answer: CallAnswer, errors: readonly SendgridError[]): SendResult | undefined {
    const { status, headers } = answer;
    const text = errorText(errors, status);
    if (status === 429 || status >= 500) {
      let retryAfterMs = parseRetryAfter(headers.get('retry-after'), now());
      const reset = headers.get('x-ratelimit-reset');
      if (retryAfterMs === undefined && reset !== null && /^\d+$/.test(reset.trim())) {
        retryAfterMs = Math.max(0, Number(reset) * 1000 - now());
      }
      return { outcome: 'presend', error: `sendgrid: HTTP ${status}, not accepted: ${clip(text, 300)}`, retryAfterMs };
    }
    if (status === 401 || status === 403) {
      return {
        outcome: 'rejected',
        reason: 'sender_config',
        code: String(status),
        fatal: true,
        error: `sendgrid: the account refused the request (HTTP ${status}): ${clip(text, 300)}. Check the API key's Mail Send permission and the sender identity.`,
      };
    }
    if (status === 404 || status === 405) {
      // The endpoint itself is wrong (baseUrl, a proxy): every message would get the same answer.
      return {
        outcome: 'rejected',
        reason: 'sender_config',
        code: String(status),
        fatal: true,
        error: `sendgrid: ${endpoint} answered HTTP ${status}: ${clip(text, 300)}. Check baseUrl: mail is sent with POST /v3/mail/send.`,
      };
    }
    return undefined;
  }

  /**
   * One request for messages that share content (a personalization each), its answer mapped to every
   * message. A 400 refuses the whole request, so nothing was sent: the messages its errors name are
   * refused, and the others are sent again once without them (then `presend`, retried by the engine).
   * A 413 splits the request in two.
   */
  async function sendShared(
    shared: OutgoingEmail,
    from: EmailAddress,
    items: readonly BatchItem[],
    signal: AbortSignal | undefined,
    resends: number,
  ): Promise<SendResult[]> {
    const body = sendgridMailBody(shared, from, options.sandboxMode);
    body.personalizations = items.map((item) => item.personalization);
    const answer = await post(body, signal);
    const all = (result: SendResult) => items.map(() => result);
    if (answer.kind === 'failure') return all({ outcome: answer.outcome, error: answer.error });
    const { status, headers } = answer;
    if (status >= 200 && status < 300) {
      return all({ outcome: 'accepted', providerMessageId: headers.get('x-message-id') || undefined });
    }
    const errors = errorsOf(tryParseJson(answer.text));
    const account = refusedForAll(answer, errors);
    if (account) return all(account);
    if (status === 413 && items.length > 1) {
      const half = Math.ceil(items.length / 2);
      const [a, b] = await Promise.all([
        sendShared(shared, from, items.slice(0, half), signal, resends),
        sendShared(shared, from, items.slice(half), signal, resends),
      ]);
      return [...a, ...b];
    }
    const named = new Map<number, SendgridError[]>();
    for (const e of errors) {
      const at = personalizationOf(e);
      if (at !== undefined && at < items.length) named.set(at, [...(named.get(at) ?? []), e]);
    }
    if (status !== 400 || named.size === 0 || errors.some((e) => personalizationOf(e) === undefined)) {
      // About the shared content (or an answer we cannot attribute): the same for every message.
      return all({
        outcome: 'rejected',
        reason: status === 413 ? 'content_rejected' : 'failed_to_create',
        code: String(status),
        error: `sendgrid: refused the message (HTTP ${status}): ${clip(errorText(errors, status), 500)}`,
      });
    }
    const results: SendResult[] = new Array(items.length);
    const rest: number[] = [];
    items.forEach((_, i) => {
      const own = named.get(i);
      if (!own) {
        rest.push(i);
        return;
      }
      const aboutRecipient = own.some((e) => /^personalizations\.\d+\.to\b/.test(String(e.field)));
      results[i] = {
        outcome: 'rejected',
        reason: aboutRecipient ? 'invalid_address' : 'failed_to_create',
        code: String(status),
        error: `sendgrid: refused the message (HTTP ${status}): ${clip(errorText(own, status), 500)}`,
      };
    });
    if (rest.length > 0) {
      const again =
        resends > 0
          ? await sendShared(
              shared,
              from,
              rest.map((i) => items[i] as BatchItem),
              signal,
              resends - 1,
            )
          : rest.map(
              (): SendResult => ({
                outcome: 'presend',
                error: `sendgrid: HTTP ${status}, not accepted: the request also held messages SendGrid refused`,
              }),
            );
      rest.forEach((i, k) => {
        results[i] = again[k] as SendResult;
      });
    }
    return results;
  }

  async function sendBatch(
    messages: readonly OutgoingEmail[],
    sendOptions: SendOptions = {},
  ): Promise<readonly SendResult[]> {
    const results: SendResult[] = new Array(messages.length);
    const groups = new Map<string, { shared: OutgoingEmail; from: EmailAddress; items: BatchItem[] }>();
    // One request each: started at most REQUESTS_IN_FLIGHT at a time, so a round of personalised
    // emails (nothing shared) does not open a connection per message.
    const requests: (() => Promise<void>)[] = [];
    const alone = (index: number, message: OutgoingEmail) =>
      requests.push(async () => {
        results[index] = await send(message, sendOptions);
      });
    messages.forEach((message, index) => {
      const from = message.from ?? options.from;
      const form = from === undefined ? null : batchForm(message, from, options.sandboxMode === true);
      if (from === undefined || form === null) {
        alone(index, message);
        return;
      }
      let group = groups.get(form.key);
      if (!group) {
        group = { shared: form.shared, from, items: [] };
        groups.set(form.key, group);
      }
      group.items.push({ index, message, personalization: form.personalization });
    });
    for (const { shared, from, items } of groups.values()) {
      for (let at = 0; at < items.length; at += maxBatchSize) {
        const chunk = items.slice(at, at + maxBatchSize);
        const first = chunk[0] as BatchItem;
        if (chunk.length === 1) alone(first.index, first.message);
        else
          requests.push(async () => {
            const answers = await sendShared(shared, from, chunk, sendOptions.signal, 1);
            answers.forEach((r, k) => {
              results[(chunk[k] as BatchItem).index] = r;
            });
          });
      }
    }
    let next = 0;
    const lane = async () => {
      while (next < requests.length) await (requests[next++] as () => Promise<void>)();
    };
    await Promise.all(Array.from({ length: Math.min(REQUESTS_IN_FLIGHT, requests.length) }, lane));
    return results;
  }

  return {
    channel: 'email',
    name: 'sendgrid',
    limits: options.limits,
    send,
    ...(maxBatchSize > 1 ? { sendBatch } : {}),
  };
}
