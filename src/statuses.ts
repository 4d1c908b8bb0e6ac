/**
 * Message and campaign statuses: the ids, their labels, which are final, and the simple
 * Delivered / Pending / Failed grouping of seed 001.
 */

// Each list is written once, `as const`; its type is derived from it. The exported lists are typed as
// plain readonly arrays of that type, so callers may pass them where an array of ids is expected.

const CHANNEL_IDS = ['sms', 'email'] as const;

/** A delivery channel. Fixed for ever when a campaign is created. */
export type Channel = (typeof CHANNEL_IDS)[number];

/** Every channel, in a stable order. */
export const CHANNELS: readonly Channel[] = CHANNEL_IDS;

const MESSAGE_STATUS_IDS = [
  'waiting',
  'queued',
  'sending',
  'sent',
  'delivered',
  'assumed_delivered',
  'retrying',
  'failed',
  'opted_out',
  'cancelled',
] as const;

/** The status of one message (one recipient of one campaign). */
export type MessageStatus = (typeof MESSAGE_STATUS_IDS)[number];

/** Every message status, in lifecycle order. */
export const MESSAGE_STATUSES: readonly MessageStatus[] = MESSAGE_STATUS_IDS;

/** The message statuses that are final: no send is left to make (a late provider report may still correct them). */
export const FINAL_MESSAGE_STATUSES = [
  'delivered',
  'assumed_delivered',
  'failed',
  'opted_out',
  'cancelled',
] as const satisfies readonly MessageStatus[];

/** A final message status. */
export type FinalMessageStatus = (typeof FINAL_MESSAGE_STATUSES)[number];

/** Human labels for message statuses, as the seed documents write them. */
export const MESSAGE_STATUS_LABELS: Readonly<Record<MessageStatus, string>> = {
  waiting: 'Waiting',
  queued: 'Queued',
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  assumed_delivered: 'Assumed Delivered',
  retrying: 'Retrying',
  failed: 'Failed',
  opted_out: 'Opted Out',
  cancelled: 'Cancelled',
};

const FINAL_MESSAGE_SET: ReadonlySet<string> = new Set(FINAL_MESSAGE_STATUSES);

/** Whether a message status is final (delivered, assumed delivered, failed, opted out, cancelled). */
export function isFinalMessageStatus(status: MessageStatus): status is FinalMessageStatus {
  return FINAL_MESSAGE_SET.has(status);
}

/** The statuses a message of this channel can take (`sent` and `assumed_delivered` are SMS only, `retrying` email only). */
export function messageStatusesFor(channel: Channel): readonly MessageStatus[] {
  return MESSAGE_STATUSES.filter((s) =>
    channel === 'sms' ? s !== 'retrying' : s !== 'sent' && s !== 'assumed_delivered',
  );
}

/** The three-way grouping used by simple views (seed 001): Delivered, Pending or Failed. */
export type DeliveryGroup = 'delivered' | 'pending' | 'failed';

/**
 * Groups a message status for a simple Delivered / Pending / Failed view (seed 001).
 * Opted-out and cancelled messages count as failed deliveries; everything not final is pending.
 * @example deliveryGroup('assumed_delivered') // 'delivered'
 */
export function deliveryGroup(status: MessageStatus): DeliveryGroup {
  switch (status) {
    case 'delivered':
    case 'assumed_delivered':
      return 'delivered';
    case 'failed':
    case 'opted_out':
    case 'cancelled':
      return 'failed';
    default:
      return 'pending';
  }
}

const CAMPAIGN_STATUS_IDS = [
  'draft',
  'ready',
  'scheduled',
  'in_progress',
  'paused',
  'stopped',
  'active_retries',
  'complete',
  'complete_with_errors',
  'failed',
  'archived',
] as const;

/** The status of a campaign. */
export type CampaignStatus = (typeof CAMPAIGN_STATUS_IDS)[number];

/** Every campaign status, in lifecycle order. */
export const CAMPAIGN_STATUSES: readonly CampaignStatus[] = CAMPAIGN_STATUS_IDS;

/** Human labels for campaign statuses. */
export const CAMPAIGN_STATUS_LABELS: Readonly<Record<CampaignStatus, string>> = {
  draft: 'Draft',
  ready: 'Ready',
  scheduled: 'Scheduled',
  in_progress: 'In Progress',
  paused: 'Paused',
  stopped: 'Stopped',
  active_retries: 'Active Retries',
  complete: 'Complete',
  complete_with_errors: 'Complete (with errors)',
  failed: 'Failed',
  archived: 'Archived',
};

/** Per-status message counters of one campaign. */
export type MessageCounts = Record<MessageStatus, number>;

/** A fresh set of counters, all zero. */
export function emptyCounts(): MessageCounts {
  return {
    waiting: 0,
    queued: 0,
    sending: 0,
    sent: 0,
    delivered: 0,
    assumed_delivered: 0,
    retrying: 0,
    failed: 0,
    opted_out: 0,
    cancelled: 0,
  };
}

/** The statuses in which a campaign has finished its run (it gets a `finishedAt`); archiving keeps it. */
export const FINISHED_CAMPAIGN_STATUSES = [
  'complete',
  'complete_with_errors',
  'stopped',
  'failed',
] as const satisfies readonly CampaignStatus[];

/** Whether a campaign status ends a run (complete, complete with errors, stopped, failed). */
export function isFinishedCampaignStatus(
  status: CampaignStatus,
): status is (typeof FINISHED_CAMPAIGN_STATUSES)[number] {
  return (FINISHED_CAMPAIGN_STATUSES as readonly CampaignStatus[]).includes(status);
}
