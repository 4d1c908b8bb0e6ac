/**
 * What an application needs: the engine `createOutreach` and its types, statuses and their labels,
 * failure reasons, `OutreachError`, the policy, the ports and `systemClock`, content schemas and
 * `availableActions`. The machines, templates and standalone CSV functions have their own entries
 * (`campaign-lifecycle/machines`, `/templates`, `/csv`); storage, clocks and transports are adapters.
 * @module campaign-lifecycle
 */

export type { CsvSource, ImportedContact, RejectedRow, RejectionCode } from './contacts/csv-import.js';
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
export { createOutreach } from './engine/create-outreach.js';
export type {
  CampaignProgressEvent,
  CampaignStatusEvent,
  MessageStatusEvent,
  OutreachEvent,
  OutreachListener,
} from './engine/events.js';
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
  SendInput,
  UpdateCampaignInput,
} from './engine/outreach.js';
export type { ContentRenderer, NormalizedAddress } from './engine/render-message.js';
export { defaultRenderer } from './engine/render-message.js';
export type { Campaign, CampaignAction, Message } from './engine/views.js';
export { availableActions } from './engine/views.js';
export type { OutreachErrorCode, OutreachErrorOptions } from './errors.js';
export { isOutreachError, OUTREACH_ERROR_CODES, OutreachError } from './errors.js';
export type { FailureReason, FailureReasonId } from './failure-reasons.js';
export { FAILURE_REASON_IDS, FAILURE_REASONS, failureReason, isFailureReasonId } from './failure-reasons.js';
export type { WebhookRejection } from './internal/http.js';
export type { Limits } from './limits.js';
export { LIMITS } from './limits.js';
export type { Policy, PolicyInput, StoredPolicy } from './policy.js';
export { DEFAULT_POLICY, resolvePolicy } from './policy.js';
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
  OptOutLogEntry,
  OptOutLogFilter,
  OptOutLogRecord,
  PersistedState,
  SuppressionRecord,
} from './records.js';
export type { IsoWeekday, SendingWindow } from './sending-window.js';
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
export type { UnsubscribeHandlerOptions } from './unsubscribe-handler.js';
export { unsubscribeHandler } from './unsubscribe-handler.js';
