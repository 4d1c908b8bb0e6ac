/**
 * The SendGrid email transport: one v3 mail send per message over `fetch`, every outcome
 * classified for the engine (accepted, pre-send, rejected, unknown).
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
import { callProvider, clip, parseRetryAfter, tryParseJson } from '../../src/internal/http.js';
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
}

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

/**
 * Creates the SendGrid email transport. `send` posts one personalization per message to
 * `/v3/mail/send` (Bearer auth) with our message and campaign ids in `custom_args`, and never
 * throws: 2xx → accepted (`X-Message-Id`); 429 and 5xx → pre-send (`Retry-After` or
 * `X-RateLimit-Reset`); 401/403, and 404/405 (a wrong endpoint) → rejected, fatal (`sender_config`); 400 → rejected
 * (`invalid_address` when an error names the `to` field, else `failed_to_create`, SendGrid's text
 * kept); 413 → rejected `content_rejected`; refused connection or DNS failure → pre-send; timeout
 * or dropped connection → unknown (never resent).
 * @example
 * const email = sendgridTransport({
 *   apiKey: process.env.SENDGRID_API_KEY!,
 *   from: { email: 'news@school.example', name: 'School' },
 *   limits: { ratePerSecond: 100, concurrency: 16 },
 * });
 */
export function sendgridTransport(options: SendgridTransportOptions): EmailTransport {
  if (!options.apiKey) throw new OutreachError('CONFIGURATION_ERROR', 'sendgridTransport needs apiKey.');
  const endpoint = `${(options.baseUrl ?? 'https://api.sendgrid.com').replace(/\/+$/, '')}/v3/mail/send`;
  const authorization = `Bearer ${options.apiKey}`;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const now = () => (options.clock ? options.clock.now() : Date.now());

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
    const answer = await callProvider({
      fetch: fetchImpl,
      url: endpoint,
      init: {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(sendgridMailBody(message, from, options.sandboxMode)),
      },
      timeoutMs,
      signal: sendOptions.signal,
      provider: 'sendgrid',
    });
    if (answer.kind === 'failure') return { outcome: answer.outcome, error: answer.error };
    const { status, headers } = answer;
    if (status >= 200 && status < 300) {
      // The status line is the acceptance: the body of a 202 is empty, so a lost body changes nothing.
      return { outcome: 'accepted', providerMessageId: headers.get('x-message-id') || undefined };
    }
    const errors = errorsOf(tryParseJson(answer.text));
    const text =
      errors
        .map((e) => (typeof e.message === 'string' ? e.message : ''))
        .filter(Boolean)
        .join('; ') || `HTTP ${status}`;
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

  return { channel: 'email', name: 'sendgrid', limits: options.limits, send };
}
