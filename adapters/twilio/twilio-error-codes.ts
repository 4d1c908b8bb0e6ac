/**
 * Twilio's error codes as this library reads them: the catalogue title, the failure reason each
 * becomes, and whether a manual retry may help. Provider knowledge, so it lives in the Twilio
 * adapter; the core only knows the failure reasons.
 */
import type { FailureReasonId } from 'campaign-lifecycle';
import { FAILURE_REASONS } from 'campaign-lifecycle';

/** One Twilio error code: its catalogue title, the failure reason it becomes, and whether a manual retry may help. */
export interface TwilioErrorCode {
  /** The title of the code in Twilio's error catalogue (`twilio-error-codes.json`, field `message`). */
  readonly title: string;
  readonly reason: FailureReasonId;
  /** Whether a manual retry may succeed; always the reason's own `retryable`. */
  readonly retryable: boolean;
}

const code = (title: string, reason: FailureReasonId): TwilioErrorCode =>
  Object.freeze({ title, reason, retryable: FAILURE_REASONS[reason].retryable });

/**
 * Every Twilio error code this library maps, built from Twilio's error catalogue
 * (https://www.twilio.com/docs/api/errors, `twilio-error-codes.json`). Each entry quotes the
 * catalogue's description; `tests/fixtures/providers/twilio-error-catalogue.json` keeps the
 * excerpt and a test checks every title against it. Retry is decided per code by the reason it
 * maps to: temporary conditions (limits, congestion, Twilio-side failures, a temporary block,
 * sender configuration once fixed) may be retried; the number, the recipient's choice or the
 * content never change on a retry. Unknown codes map to `unknown` and keep their raw code.
 */
export const TWILIO_ERROR_CODES: Readonly<Record<string, TwilioErrorCode>> = Object.freeze({
  // "Too many messages have been sent between two numbers within a short time period, possibly indicating a runaway job or infinite loop."
  '14107': code('SMS send rate limit exceeded', 'throttled'),
  // "All requests to sensitive areas of the Twilio API must use HTTP Basic Authentication." (a refused create is fatal)
  '20003': code('Permission Denied', 'sender_config'),
  // "Your account is sending too many concurrent Rest API requests to Twilio servers."
  '20429': code('Too Many Requests', 'throttled'),
  // "…the `Called` phone number you supplied was not a valid phone number or was incorrectly formatted."
  '21211': code("Invalid 'To' Phone Number", 'invalid_number'),
  // "You have attempted to send an SMS to a region that has not been enabled in your account's Messaging Geo-Permissions settings."
  '21408': code(
    "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    'unsupported_country',
  ),
  // "You can only send SMS messages from a phone number or short code provided by or ported to Twilio, and that phone number must be SMS-capable."
  '21606': code(
    "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination.",
    'sender_config',
  ),
  // "While your account is in Trial Mode, you may only send SMS messages to verified numbers."
  '21608': code("The 'to' phone number provided is not yet verified for this account.", 'sender_config'),
  // "The person you are trying to message has opted out of receiving messages from your Twilio phone number, Channels sender, or Messaging Service."
  '21610': code('Attempt to send to unsubscribed recipient', 'opted_out'),
  // "When a queue for a particular 'From' number exceeds 4 hours, this error will be thrown when attempting to create additional messages on the same number."
  '21611': code("This 'From' number has exceeded the maximum number of queued messages", 'throttled'),
  // "You have attempted to send to a number that is not currently reachable via Twilio SMS."
  '21612': code("The 'To' phone number is not currently reachable via SMS", 'unsupported_country'),
  // "…a 'To' number that is not a valid mobile number. It is likely that the number that you have specified is a landline number or is an invalid number."
  '21614': code("'To' number is not a valid mobile number", 'invalid_number'),
  // "The maximum allowable body text length is generally 1600 characters, but some glyphs such as Emoji… will be counted as multiple characters."
  '21617': code('The concatenated message body exceeds the 1600 character limit', 'content_rejected'),
  // "You have attempted to send an SMS with a `To` number that is a landline."
  '21635': code("'To' number cannot be a landline", 'landline_or_unreachable_carrier'),
  // "None of the senders or numbers in your Messaging Service are capable of sending the requested message to this recipient."
  '21703': code('The Messaging Service does not have a phone number available to send a message', 'sender_config'),
  // "A Messaging Service requires at least one phone number, Alphanumeric Sender ID or short code to send messages." (a refused create is fatal)
  '21704': code('The Messaging Service contains no phone numbers', 'sender_config'),
  // "Twilio queues messages based on the sending rate of a sender or an account."
  '30001': code('Queue overflow', 'throttled'),
  // "This message failed because your account was suspended after this message was queued but before it was sent by Twilio."
  '30002': code('Account suspended', 'sender_config'),
  // "The destination handset you are trying to reach is switched off or otherwise unavailable."
  '30003': code('Unreachable destination handset', 'unreachable'),
  // "The destination number you are trying to reach is blocked from receiving this message."
  '30004': code('Message blocked', 'blocked_number'),
  // "The destination number you are trying to reach is unknown and may no longer exist."
  '30005': code('Unknown destination handset', 'unknown_number'),
  // "The destination number is unable to receive this message… trying to reach a landline or… an unreachable carrier."
  '30006': code('Landline or unreachable carrier', 'landline_or_unreachable_carrier'),
  // "Your message was filtered (blocked) by Twilio or by the carrier."
  '30007': code('Message filtered', 'carrier_blocked'),
  // "…this means that delivery of your message failed for unknown reasons."
  '30008': code('Unknown error', 'unknown'),
  // "One or more segments associated with your multi-part inbound message was not received."
  '30009': code('Missing inbound segment', 'partial_failure'),
  // "MaxPrice will prevent a message from sending if it exceeds the price you specified."
  '30010': code('Message price exceeds max price', 'sender_config'),
  // "…the downstream carrier is experiencing performance issues due to high traffic."
  '30017': code('Carrier network congestion', 'provider_error'),
  // "Message failed because the size of the content associated with the message exceeded carrier limit"
  '30019': code('Content size exceeds carrier limit', 'content_rejected'),
  // "An internal error has occurred with Message Scheduling that prevented Twilio from processing your request."
  '30020': code('Internal Failure with Message Scheduling', 'provider_error'),
  // "An internal error has occurred with the messaging service orchestrator that prevented Twilio from processing your response."
  '30021': code('Internal Failure with messaging service orchestrator', 'provider_error'),
  // "Your message was rejected by the downstream carriers for exceeding the rate limits allowed by your campaign."
  '30022': code('US A2P 10DLC - Rate Limits Exceeded', 'throttled'),
  // "You have sent the maximum allowable daily messages for your Brand to the carrier."
  '30023': code('US A2P 10DLC - Daily Message Cap Reached', 'throttled'),
  // "…a country that requires Numeric Sender ID pre-registration and provisioning."
  '30024': code('Numeric Sender ID Not Provisioned on Carrier', 'sender_config'),
  // "…this daily limit is based on the sum of SMS segments and MMS messages you send to T-Mobile subscribers on a 24-hour basis…"
  '30027': code('US A2P 10DLC - T-Mobile Daily Message Limit Reached', 'throttled'),
  // "Twilio requires all Toll-Free numbers to go through a verification process…"
  '30032': code('Toll-Free Number Has Not Been Verified', 'sender_config'),
  // "Your message could not be sent because you are sending this message from a suspended US A2P 10DLC Campaign."
  '30033': code('US A2P 10DLC - Campaign Suspended', 'sender_config'),
  // "…being sent from a number that must be registered to an approved 10DLC Campaign."
  '30034': code('US A2P 10DLC - Message from an Unregistered Number', 'sender_config'),
  // "Message may not be delivered because the number is not available to be registered to a 10DLC Campaign."
  '30035': code('US A2P 10DLC - Message from a number still being configured', 'sender_config'),
  // "The provider used may be experiencing disruptions resulting in errors or request timeouts."
  '30410': code('Provider Timeout Error', 'provider_error'),
  // "The destination number you are trying to reach is temporarily blocked from receiving this message."
  '30450': code('Message delivery blocked', 'temporarily_blocked'),
  // "Twilio's platform encountered an internal error while processing this message."
  '30500': code('Twilio Internal Error', 'provider_error'),
});

/**
 * Maps a Twilio error code (number or string) to a failure reason, read from {@link TWILIO_ERROR_CODES}
 * (see the README's provider table); `unknown` when unmapped or missing (the message keeps its raw code).
 */
export function reasonForTwilioCode(code: string | number | null | undefined): FailureReasonId {
  if (code === null || code === undefined) return 'unknown';
  const key = String(code).trim();
  // Own keys only: a code such as `constructor` must not find Object.prototype's.
  return Object.hasOwn(TWILIO_ERROR_CODES, key) ? (TWILIO_ERROR_CODES[key] as TwilioErrorCode).reason : 'unknown';
}
