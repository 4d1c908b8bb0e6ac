/**
 * Twilio status callbacks and inbound messages → normalised provider events.
 */
import type { StatusEvent, SuppressionEvent } from 'campaign-lifecycle';
import { OutreachError, providerEventProblem } from 'campaign-lifecycle';
import { clip } from '../../src/internal/http.js';
import { reasonForTwilioCode } from './twilio-error-codes.js';

/** A Twilio webhook form: the parsed body, or a plain record of its fields. */
export type TwilioForm = URLSearchParams | Readonly<Record<string, string>>;

/** The query parameter of the status callback URL that carries our message id. */
export const TWILIO_MESSAGE_ID_PARAM = 'messageId';

/**
 * Every Twilio `MessageStatus` and the normalised status it becomes. `read` counts as delivered;
 * `canceled` (a scheduled send canceled outside this library) as failed with reason `unknown`;
 * inbound-only and undocumented values (`receiving`, `received`, `partially_delivered`) as
 * `sending`, a progress report that never moves a message forward or back. A webhook whose status
 * is `received` is an inbound message, not a status callback: see {@link isTwilioInbound}.
 */
export const TWILIO_STATUS_MAP: Readonly<Record<string, StatusEvent['status']>> = {
  accepted: 'sending',
  scheduled: 'sending',
  queued: 'sending',
  sending: 'sending',
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'failed',
  failed: 'failed',
  canceled: 'failed',
  receiving: 'sending',
  received: 'sending',
  partially_delivered: 'sending',
};

function field(form: TwilioForm, name: string): string | undefined {
  const value = form instanceof URLSearchParams ? form.get(name) : form[name];
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function messageIdFromUrl(url: string | URL | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    // An empty value names nothing: fall back to the body's MessageSid rather than ingest an empty id.
    return (typeof url === 'string' ? new URL(url) : url).searchParams.get(TWILIO_MESSAGE_ID_PARAM) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a Twilio webhook body is an inbound message rather than a status callback. Twilio posts
 * every inbound message with `SmsStatus=received` (and `SmsSid`, `SmsMessageSid`, `NumMedia`,
 * `NumSegments`…), so a status of `received` means inbound; a body without any status is inbound
 * when it has `Body` or `OptOutType`.
 * @example
 * isTwilioInbound(new URLSearchParams('SmsStatus=received&From=%2B14155550100&Body=STOP')); // true
 */
export function isTwilioInbound(form: TwilioForm): boolean {
  const status = field(form, 'MessageStatus') ?? field(form, 'SmsStatus');
  if (status !== undefined) return status.toLowerCase() === 'received';
  return (
    field(form, 'OptOutType') !== undefined ||
    (form instanceof URLSearchParams ? form.has('Body') : Object.hasOwn(form, 'Body'))
  );
}

/** Options of {@link parseTwilioStatusCallback}. */
export interface ParseTwilioStatusCallbackOptions {
  /** The URL the callback was posted to: our message id is its `messageId` query parameter. */
  readonly url?: string | URL | undefined;
  /** The `I-Twilio-Idempotency-Token` header, when present: a redelivery carries the same token. */
  readonly idempotencyToken?: string | null | undefined;
}

/**
 * Normalises a Twilio status callback. Never throws on an unknown status or error code: an
 * unknown status is kept raw as a `sending` progress report that changes nothing, and an
 * unmapped error code maps to reason `unknown` with the raw code kept.
 * @throws OutreachError `VALIDATION_FAILED` when `MessageStatus` is missing, or when neither
 * our message id nor `MessageSid` names the message.
 * @example
 * const event = parseTwilioStatusCallback(new URLSearchParams(body), { url: request.url });
 */
export function parseTwilioStatusCallback(
  form: TwilioForm,
  options: ParseTwilioStatusCallbackOptions = {},
): StatusEvent {
  const providerStatus = field(form, 'MessageStatus') ?? field(form, 'SmsStatus');
  if (providerStatus === undefined) {
    throw new OutreachError(
      'VALIDATION_FAILED',
      'This Twilio callback has no MessageStatus: it is not a status callback. Point only the StatusCallback URL here.',
    );
  }
  const messageId = messageIdFromUrl(options.url) ?? (field(form, TWILIO_MESSAGE_ID_PARAM) || undefined);
  const providerMessageId = field(form, 'MessageSid') || field(form, 'SmsSid') || undefined;
  if ((messageId === undefined || messageId.length > 200) && providerMessageId === undefined) {
    throw new OutreachError(
      'VALIDATION_FAILED',
      `This Twilio status callback names no message: the URL has no "${TWILIO_MESSAGE_ID_PARAM}" parameter and the body no MessageSid.`,
    );
  }
  const statusKey = providerStatus.toLowerCase();
  // Own keys only: a status such as `constructor` must not find Object.prototype's.
  const status = Object.hasOwn(TWILIO_STATUS_MAP, statusKey)
    ? (TWILIO_STATUS_MAP[statusKey] as StatusEvent['status'])
    : 'sending';
  const errorCode = field(form, 'ErrorCode');
  const code = errorCode !== undefined && errorCode !== '0' ? clip(errorCode, 100) : undefined;
  const errorMessage = field(form, 'ErrorMessage') ?? field(form, 'ChannelStatusMessage');
  const token = options.idempotencyToken?.trim();
  const dedupeKey = clip(
    `twilio:${providerMessageId ?? messageId}:${statusKey}:${errorCode ?? ''}:${field(form, 'RawDlrDoneDate') ?? ''}`,
    500,
  );
  const event: StatusEvent = {
    type: 'status',
    channel: 'sms',
    status,
    providerStatus: clip(providerStatus, 100),
    dedupeKey,
  };
  if (messageId !== undefined && messageId.length <= 200) event.messageId = messageId;
  if (providerMessageId !== undefined) event.providerMessageId = clip(providerMessageId, 300);
  if (status === 'failed') event.reason = statusKey === 'canceled' ? 'unknown' : reasonForTwilioCode(code);
  if (code !== undefined) event.code = code;
  // WhatsApp and RCS report a message read; it is delivered, and the campaign counts it as read.
  if (statusKey === 'read') event.read = true;
  if (errorMessage !== undefined) event.detail = clip(errorMessage, 2000);
  if (token) event.eventId = clip(token, 300);
  return checked(event, 'status callback');
}

/** Twilio's error code "Attempt to send to unsubscribed recipient": the number opted out of this sender at Twilio. */
export const TWILIO_UNSUBSCRIBED_CODE = '21610';

/**
 * The events that record a failure with 21610: the failure itself, then an `opted_out` status event
 * for the same message (source `twilio_21610`), which makes the engine put the recipient's number on
 * the suppression list of the message's own scope. The failure comes first, so the message keeps its
 * code; the opt-out then changes nothing more on it. Any other event comes back alone. Internal to the
 * adapter (the webhook handler and the transport use it).
 */
export function withTwilioOptOut(event: StatusEvent): StatusEvent[] {
  if (event.status !== 'failed' || event.code !== TWILIO_UNSUBSCRIBED_CODE) return [event];
  const optOut: StatusEvent = { type: 'status', channel: 'sms', status: 'opted_out', providerStatus: 'twilio_21610' };
  if (event.messageId !== undefined) optOut.messageId = event.messageId;
  if (event.providerMessageId !== undefined) optOut.providerMessageId = event.providerMessageId;
  // Keys of its own: the same key as the failure would make ingest drop it as a repeat.
  if (event.eventId !== undefined) optOut.eventId = clip(`${event.eventId}:opt-out`, 300);
  if (event.dedupeKey !== undefined) optOut.dedupeKey = clip(`${event.dedupeKey}:opt-out`, 500);
  return [event, optOut];
}

/** The event as ingest will accept it, or `VALIDATION_FAILED` naming the malformed field (e.g. a NUL in MessageSid). */
function checked<T extends StatusEvent | SuppressionEvent>(event: T, what: string): T {
  const problem = providerEventProblem(event);
  if (problem === null) return event;
  throw new OutreachError(
    'VALIDATION_FAILED',
    `This Twilio ${what} has a malformed field: ${problem.path} ${problem.message}.`,
    { details: { issues: [problem] } },
  );
}

/**
 * Replies that opt a recipient out: Twilio's default keywords (newest list) and the FCC's list
 * (`OPT OUT` as two words, any spacing between them).
 */
export const TWILIO_OPT_OUT_KEYWORDS: readonly string[] = [
  'STOP',
  'STOPALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'REVOKE',
  'OPTOUT',
  'OPT OUT',
];
/** Single-word replies that opt a recipient back in. */
export const TWILIO_OPT_IN_KEYWORDS: readonly string[] = ['START', 'YES', 'UNSTOP'];
/** Single-word replies that ask for help: Twilio answers them, and they change no suppression. */
export const TWILIO_HELP_KEYWORDS: readonly string[] = ['HELP', 'INFO'];

const OPT_OUT = new Set(TWILIO_OPT_OUT_KEYWORDS);
const OPT_IN = new Set(TWILIO_OPT_IN_KEYWORDS);
const HELP = new Set(TWILIO_HELP_KEYWORDS);

/**
 * Whether an inbound message asks for help: a body that is a single word from
 * {@link TWILIO_HELP_KEYWORDS} (case-insensitive, surrounding whitespace ignored), or `OptOutType=HELP`.
 * Internal to the adapter: the webhook handler answers it with `helpReply`.
 */
export function twilioHelpRequest(form: TwilioForm): 'keyword' | 'twilio_handled' | null {
  const optOutType = field(form, 'OptOutType')?.toUpperCase();
  if (optOutType !== undefined) return optOutType === 'HELP' ? 'twilio_handled' : null;
  const word = field(form, 'Body')?.toUpperCase();
  return word !== undefined && HELP.has(word) ? 'keyword' : null;
}

/** Options of {@link parseTwilioInbound}. */
export interface ParseTwilioInboundOptions {
  /** The suppression scope the opt-out applies to; the engine's default when absent. */
  readonly scope?: string | undefined;
}

/**
 * Turns an inbound message into a suppression change: `OptOutType` STOP → opt-out and START →
 * opt-in (Twilio sets it under Advanced Opt-Out when its opt-out handling fired, custom keywords
 * included; `HELP` changes nothing). Without `OptOutType`, a body that is one keyword from
 * Twilio's lists (or `OPT OUT`) decides, case-insensitively, surrounding whitespace ignored and inner
 * whitespace read as one space.
 * Any other message (HELP, INFO, "STOP PLEASE", a reply) gives `null`.
 * @throws OutreachError `VALIDATION_FAILED` when an opt-out or opt-in has no `From`.
 * @example
 * const change = parseTwilioInbound(new URLSearchParams('From=%2B14155550100&Body=STOP'));
 */
export function parseTwilioInbound(form: TwilioForm, options: ParseTwilioInboundOptions = {}): SuppressionEvent | null {
  const optOutType = field(form, 'OptOutType')?.toUpperCase();
  let action: SuppressionEvent['action'] | undefined;
  if (optOutType !== undefined) {
    if (optOutType === 'STOP') action = 'opt_out';
    else if (optOutType === 'START') action = 'opt_in';
  } else {
    const word = field(form, 'Body')?.toUpperCase().replace(/\s+/g, ' ');
    if (word !== undefined && OPT_OUT.has(word)) action = 'opt_out';
    else if (word !== undefined && OPT_IN.has(word)) action = 'opt_in';
  }
  if (action === undefined) return null;
  const address = field(form, 'From');
  if (address === undefined || address.length > 320) {
    throw new OutreachError(
      'VALIDATION_FAILED',
      'This Twilio inbound message has no usable From number, so no opt-out can be recorded.',
    );
  }
  const event: SuppressionEvent = { type: 'suppression', action, channel: 'sms', address, source: 'twilio_inbound' };
  if (options.scope !== undefined) event.scope = options.scope;
  const sid = field(form, 'MessageSid') ?? field(form, 'SmsSid');
  if (sid !== undefined) event.eventId = clip(`twilio-inbound:${sid}`, 300);
  // The text received goes to the opt-out record; text that would not pass the checks is left out, never the opt-out.
  const body = field(form, 'Body');
  if (body !== undefined && providerEventProblem({ ...event, text: clip(body, 1600) }) === null)
    event.text = clip(body, 1600);
  return checked(event, 'inbound message');
}
