/**
 * The SendGrid email transport, Event Webhook parsing, signed-webhook verification, a web webhook handler and
 * SendGrid's failure-reason mapping. (`unsubscribeHandler` serves any email provider: it is in the root entry.)
 * @module campaign-lifecycle/sendgrid
 */

export type { WebhookRejection } from '../../src/internal/http.js';
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
export type { SendgridFailureFacts } from './sendgrid-failure-reasons.js';
export { reasonForSendgridEvent, SENDGRID_DROP_REASONS } from './sendgrid-failure-reasons.js';
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
