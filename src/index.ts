/**
 * Message and campaign lifecycles, the engine, and the port types.
 * @module campaign-lifecycle
 */

export type {
  CsvImportOptions,
  CsvImportResult,
  CsvSource,
  ImportedContact,
  RejectedRow,
  RejectionCode,
} from './contacts/csv-import.js';
export { importContactsCsv, MAX_REPORTED_REJECTIONS } from './contacts/csv-import.js';
export type { EmailResult } from './contacts/email.js';
export { normalizeEmail } from './contacts/email.js';
export type { CountryCode, PhoneOptions, PhoneRejection, PhoneResult } from './contacts/phone.js';
export { normalizePhone } from './contacts/phone.js';
export type {
  Attachment,
  CampaignContent,
  EmailAddress,
  EmailContent,
  OutgoingEmail,
  OutgoingMessage,
  OutgoingSms,
  SmsContent,
} from './content.js';
export { AttachmentSchema, EmailAddressSchema, EmailContentSchema, SmsContentSchema } from './content.js';
export type { Duration } from './duration.js';
export { toMs } from './duration.js';
export type {
  AddContactsResult,
  CampaignStats,
  ContactInput,
  CreateCampaignInput,
  ImportContactsOptions,
  ImportContactsResult,
  Outreach,
  OutreachOptions,
  OutreachWorker,
  RetryResult,
  UpdateCampaignInput,
} from './engine/create-outreach.js';
export { createOutreach } from './engine/create-outreach.js';
export type {
  CampaignProgressEvent,
  CampaignStatusEvent,
  MessageStatusEvent,
  OutreachEvent,
  OutreachListener,
} from './engine/events.js';
export type { ContentRenderer, NormalizedAddress } from './engine/render-message.js';
export { defaultRenderer } from './engine/render-message.js';
export type { Campaign, CampaignAction, Message } from './engine/views.js';
export { availableActions } from './engine/views.js';
export type { OutreachErrorCode, OutreachErrorOptions } from './errors.js';
export { isOutreachError, OUTREACH_ERROR_CODES, OutreachError } from './errors.js';
export type { CampaignExportRow } from './export/campaigns-csv.js';
export { CAMPAIGN_CSV_COLUMNS, campaignsCsv } from './export/campaigns-csv.js';
export type { CsvCell, CsvExportOptions, RowSource } from './export/csv-stream.js';
export type { MessageExportRow, MessagesCsvOptions } from './export/messages-csv.js';
export { messagesCsv } from './export/messages-csv.js';
export { neutralizeCell } from './export/neutralize-cell.js';
export type { FailureReason, FailureReasonId } from './failure-reasons.js';
export { FAILURE_REASON_IDS, FAILURE_REASONS, failureReason, isFailureReasonId } from './failure-reasons.js';
export type { WebhookRejection } from './internal/http.js';
export type { Limits } from './limits.js';
export { LIMITS } from './limits.js';
export type { CampaignEvent } from './machines/campaign.js';
export {
  campaignCan,
  campaignMachine,
  deriveRunningStatus,
  holdsChannel,
  inFlightCount,
  initialCampaignState,
  pendingCount,
  transitionCampaign,
} from './machines/campaign.js';
export type { EmailMessageMachine } from './machines/email-message.js';
export { createEmailMessageMachine, emailMessageMachine } from './machines/email-message.js';
export type { MessageEvent, TimerEvent } from './machines/message-events.js';
export { MessageEventSchema, TimerEventSchema } from './machines/message-events.js';
export type { MessageMachineInput, MessageStateId } from './machines/message-machine-shared.js';
export { canRetry, MESSAGE_STATE_STATUS } from './machines/message-machine-shared.js';
export type { MessageCurrent, MessageStep, MessageStepper, MessageTimer } from './machines/message-step.js';
export { applyMessageEvent, createMessageStepper, statusOfMessageState } from './machines/message-step.js';
export type { SmsMessageMachine } from './machines/sms-message.js';
export { createSmsMessageMachine, smsMessageMachine } from './machines/sms-message.js';
export type { Policy, PolicyInput, StoredPolicy } from './policy.js';
export { DEFAULT_POLICY, policyFromStored, presendBackoffFor, resolvePolicy, storePolicy } from './policy.js';
export type { Clock, TimerHandle } from './ports/clock.js';
export { systemClock } from './ports/clock.js';
export type {
  CampaignFilter,
  CounterDelta,
  MessageFilter,
  Page,
  SeenKey,
  Storage,
  StorageInfo,
  StorageTransaction,
} from './ports/storage.js';
export type {
  EmailTransport,
  LookupOptions,
  LookupResult,
  SendOptions,
  SendResult,
  SmsTransport,
  Transport,
  TransportLimits,
} from './ports/transport.js';
export { providerEventProblem } from './provider-event-check.js';
export type { EventSink, IngestResult, ProviderEvent, StatusEvent, SuppressionEvent } from './provider-events.js';
export { ProviderEventSchema, StatusEventSchema, SuppressionEventSchema } from './provider-events.js';
export type {
  CampaignCounters,
  CampaignMachineContext,
  CampaignRecord,
  ContactRecord,
  DeadlineRecord,
  MessageContext,
  MessageLogEntry,
  MessageRecord,
  PersistedState,
  SuppressionRecord,
} from './records.js';
export type { CampaignStatus, Channel, DeliveryGroup, MessageCounts, MessageStatus } from './statuses.js';
export {
  CAMPAIGN_STATUS_LABELS,
  CAMPAIGN_STATUSES,
  CHANNELS,
  deliveryGroup,
  emptyCounts,
  isFinalMessageStatus,
  MESSAGE_STATUS_LABELS,
  MESSAGE_STATUSES,
  messageStatusesFor,
} from './statuses.js';
export type {
  CreateUnsubscribeTokenInput,
  RenderEmailOptions,
  RenderedEmail,
  RenderedSms,
  SmsEncodingInfo,
  TemplatePart,
  TemplateVariable,
  UnsubscribeTokenPayload,
  VerifyUnsubscribeTokenOptions,
} from './templates/index.js';
export {
  compileTemplate,
  createUnsubscribeToken,
  escapeHtml,
  fillTemplate,
  isGsm7,
  missingFieldsFor,
  parseTemplate,
  renderEmail,
  renderSms,
  smsSegments,
  templateVariables,
  UNSUBSCRIBE_VARIABLE,
  validateContent,
  verifyUnsubscribeToken,
} from './templates/index.js';
export type { UnsubscribeHandlerOptions } from './unsubscribe-handler.js';
export { unsubscribeHandler } from './unsubscribe-handler.js';
