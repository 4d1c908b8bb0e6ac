/** @module campaign-lifecycle — message and campaign lifecycles, the engine, and the port types. */
export type { Channel, MessageStatus, CampaignStatus, DeliveryGroup, MessageCounts } from './statuses.js';
export {
  CHANNELS,
  MESSAGE_STATUSES,
  MESSAGE_STATUS_LABELS,
  CAMPAIGN_STATUSES,
  CAMPAIGN_STATUS_LABELS,
  isFinalMessageStatus,
  messageStatusesFor,
  deliveryGroup,
  emptyCounts,
} from './statuses.js';
export type { FailureReasonId, FailureReason, SendgridFailureFacts } from './failure-reasons.js';
export {
  FAILURE_REASONS,
  FAILURE_REASON_IDS,
  TWILIO_ERROR_REASONS,
  failureReason,
  isFailureReasonId,
  reasonForTwilioCode,
  reasonForSendgridEvent,
} from './failure-reasons.js';
export type { OutreachErrorCode, OutreachErrorOptions } from './errors.js';
export { OutreachError, isOutreachError, OUTREACH_ERROR_CODES } from './errors.js';
export type { Duration } from './duration.js';
export { toMs } from './duration.js';
export type { Policy, PolicyInput } from './policy.js';
export { DEFAULT_POLICY, resolvePolicy, presendBackoffFor } from './policy.js';
export type {
  EmailAddress,
  Attachment,
  SmsContent,
  EmailContent,
  CampaignContent,
  OutgoingSms,
  OutgoingEmail,
  OutgoingMessage,
} from './content.js';
export { EmailAddressSchema, AttachmentSchema, SmsContentSchema, EmailContentSchema } from './content.js';
export type {
  PersistedState,
  CampaignMachineContext,
  CampaignRecord,
  ContactRecord,
  MessageContext,
  MessageRecord,
  MessageLogEntry,
  DeadlineRecord,
  SuppressionRecord,
  CampaignCounters,
} from './records.js';
export type { StatusEvent, SuppressionEvent, ProviderEvent, IngestResult, EventSink } from './provider-events.js';
export { StatusEventSchema, SuppressionEventSchema, ProviderEventSchema } from './provider-events.js';
export type { Clock, TimerHandle } from './ports/clock.js';
export { systemClock } from './ports/clock.js';
export type {
  SendResult,
  TransportLimits,
  SendOptions,
  SmsTransport,
  EmailTransport,
  Transport,
} from './ports/transport.js';
export type {
  Storage,
  StorageInfo,
  StorageTransaction,
  Page,
  CampaignFilter,
  MessageFilter,
  CounterDelta,
} from './ports/storage.js';
export type { CampaignEvent } from './machines/campaign.js';
export {
  campaignMachine,
  deriveRunningStatus,
  pendingCount,
  inFlightCount,
  holdsChannel,
  initialCampaignState,
  transitionCampaign,
  campaignCan,
} from './machines/campaign.js';
export type { MessageEvent, TimerEvent } from './machines/message-events.js';
export { MessageEventSchema, TimerEventSchema } from './machines/message-events.js';
export type { MessageStateId, MessageMachineInput } from './machines/message-machine-shared.js';
export { MESSAGE_STATE_STATUS, canRetry } from './machines/message-machine-shared.js';
export type { SmsMessageMachine } from './machines/sms-message.js';
export { createSmsMessageMachine, smsMessageMachine } from './machines/sms-message.js';
export type { EmailMessageMachine } from './machines/email-message.js';
export { createEmailMessageMachine, emailMessageMachine } from './machines/email-message.js';
export type { MessageStep, MessageStepper, MessageTimer, MessageCurrent } from './machines/message-step.js';
export { createMessageStepper, applyMessageEvent, statusOfMessageState } from './machines/message-step.js';
export type {
  Outreach,
  OutreachOptions,
  OutreachWorker,
  CreateCampaignInput,
  UpdateCampaignInput,
  ContactInput,
  AddContactsResult,
  ImportContactsOptions,
  ImportContactsResult,
  RetryResult,
  CampaignStats,
} from './engine/create-outreach.js';
export { createOutreach } from './engine/create-outreach.js';
export type { Campaign, CampaignAction, Message } from './engine/views.js';
export { availableActions } from './engine/views.js';
export type {
  OutreachEvent,
  OutreachListener,
  CampaignStatusEvent,
  CampaignProgressEvent,
  MessageStatusEvent,
} from './engine/events.js';
export type { ContentRenderer, NormalizedAddress } from './engine/render-message.js';
export { defaultRenderer } from './engine/render-message.js';
export type { CsvSource, CsvImportOptions, CsvImportResult, ImportedContact, RejectedRow, RejectionCode } from './contacts/csv-import.js';
export { importContactsCsv, MAX_REPORTED_REJECTIONS } from './contacts/csv-import.js';
export type { EmailResult } from './contacts/email.js';
export { normalizeEmail } from './contacts/email.js';
export type { CountryCode, PhoneOptions, PhoneRejection, PhoneResult } from './contacts/phone.js';
export { normalizePhone } from './contacts/phone.js';
export type {
  TemplateVariable,
  TemplatePart,
  SmsEncodingInfo,
  RenderedSms,
  RenderedEmail,
  RenderEmailOptions,
  UnsubscribeTokenPayload,
  CreateUnsubscribeTokenInput,
  VerifyUnsubscribeTokenOptions,
} from './templates/index.js';
export {
  parseTemplate,
  compileTemplate,
  fillTemplate,
  smsSegments,
  isGsm7,
  renderSms,
  renderEmail,
  escapeHtml,
  UNSUBSCRIBE_VARIABLE,
  templateVariables,
  validateContent,
  missingFieldsFor,
  createUnsubscribeToken,
  verifyUnsubscribeToken,
} from './templates/index.js';
export type { CsvExportOptions } from './export/csv-stream.js';
export type { CampaignExportRow } from './export/campaigns-csv.js';
export { campaignsCsv, CAMPAIGN_CSV_COLUMNS } from './export/campaigns-csv.js';
export type { MessageExportRow, MessagesCsvOptions } from './export/messages-csv.js';
export { messagesCsv } from './export/messages-csv.js';
export { neutralizeCell } from './export/neutralize-cell.js';
