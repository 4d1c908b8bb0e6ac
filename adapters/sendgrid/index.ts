/**
 * The SendGrid email transport, Event Webhook parsing, signed-webhook verification and a web webhook handler.
 * @module campaign-lifecycle/sendgrid
 */

export type { WebhookRejection } from '../twilio/provider-http.js';
export type { ParsedSendgridEvents, ParseSendgridEventsOptions, RejectedSendgridEvent } from './sendgrid-events.js';
export {
  parseSendgridEvents,
  SENDGRID_CAMPAIGN_ID_ARG,
  SENDGRID_EVENT_MAP,
  SENDGRID_MESSAGE_ID_ARG,
  SENDGRID_MILLISECOND_TIMESTAMP_FROM,
  SENDGRID_SUPPRESSION_EVENT_MAP,
  sendgridTimestampMs,
} from './sendgrid-events.js';
export type { VerifySendgridSignatureInput } from './sendgrid-signature.js';
export {
  derSignatureToRaw,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  verifySendgridSignature,
} from './sendgrid-signature.js';
export type { SendgridTransportOptions } from './sendgrid-transport.js';
export { sendgridMailBody, sendgridTransport } from './sendgrid-transport.js';
export type { SendgridWebhookHandlerOptions } from './sendgrid-webhook-handler.js';
export { sendgridWebhookHandler } from './sendgrid-webhook-handler.js';
export type { UnsubscribeHandlerOptions } from './unsubscribe-handler.js';
export { unsubscribeHandler } from './unsubscribe-handler.js';
