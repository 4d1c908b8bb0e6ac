/**
 * The Twilio SMS transport, status-callback and inbound-STOP parsing, signature verification and a web webhook handler.
 * @module campaign-lifecycle/twilio
 */

export type { WebhookRejection } from '../../src/internal/http.js';
export type { ParseTwilioInboundOptions, ParseTwilioStatusCallbackOptions, TwilioForm } from './twilio-callbacks.js';
export {
  isTwilioInbound,
  parseTwilioInbound,
  parseTwilioStatusCallback,
  TWILIO_HELP_KEYWORDS,
  TWILIO_MESSAGE_ID_PARAM,
  TWILIO_OPT_IN_KEYWORDS,
  TWILIO_OPT_OUT_KEYWORDS,
  TWILIO_STATUS_MAP,
} from './twilio-callbacks.js';
export type { TwilioErrorCode } from './twilio-error-codes.js';
export { reasonForTwilioCode, TWILIO_ERROR_CODES } from './twilio-error-codes.js';
export type { TwilioParams, VerifyTwilioSignatureInput } from './twilio-signature.js';
export {
  computeTwilioSignature,
  createTwilioVerifier,
  twilioBodySha256,
  verifyTwilioSignature,
} from './twilio-signature.js';
export type { TwilioCredentials, TwilioTransportOptions } from './twilio-transport.js';
export { twilioTransport } from './twilio-transport.js';
export type { TwilioWebhookHandlerOptions } from './twilio-webhook-handler.js';
export { twilioWebhookHandler } from './twilio-webhook-handler.js';
