/**
 * What `outreach.subscribe` listeners receive: status changes and progress, after each commit.
 */
import type { FailureReasonId } from '../failure-reasons.js';
import type { CampaignStatus, MessageCounts, MessageStatus } from '../statuses.js';

/** A campaign changed status. */
export interface CampaignStatusEvent {
  readonly type: 'campaign.status';
  readonly campaignId: string;
  readonly from: CampaignStatus;
  readonly to: CampaignStatus;
  readonly at: number;
  /** Why, when the engine did it on its own (e.g. `failure_rate`, `transport_refused_credentials`). */
  readonly cause?: string | undefined;
}

/** The counters of a running campaign moved (at most once per engine batch). */
export interface CampaignProgressEvent {
  readonly type: 'campaign.progress';
  readonly campaignId: string;
  readonly counts: MessageCounts;
  /** Messages of the campaign. */
  readonly total: number;
  /** Messages in a final status. */
  readonly done: number;
  readonly at: number;
}

/** A message changed status. */
export interface MessageStatusEvent {
  readonly type: 'message.status';
  readonly campaignId: string;
  readonly messageId: string;
  readonly from: MessageStatus;
  readonly to: MessageStatus;
  readonly reason: FailureReasonId | null;
  readonly at: number;
}

/** Anything a subscriber receives. */
export type OutreachEvent = CampaignStatusEvent | CampaignProgressEvent | MessageStatusEvent;

/** A subscriber. Exceptions it throws are caught and reported to `onError`, never to the engine. */
export type OutreachListener = (event: OutreachEvent) => void;
