/**
 * What queries return: a campaign with its counters and the actions its status allows.
 */
import { type CampaignEvent, campaignCan, inFlightCount } from '../machines/campaign.js';
import type { CampaignRecord, MessageLogEntry, MessageRecord } from '../records.js';
import { isFinalMessageStatus, MESSAGE_STATUSES, type MessageCounts } from '../statuses.js';

/** A command on a campaign, as `availableActions` names it. */
export type CampaignAction =
  | 'edit'
  | 'addContacts'
  | 'save'
  | 'schedule'
  | 'unschedule'
  | 'run'
  | 'pause'
  | 'resume'
  | 'stop'
  | 'close'
  | 'retryFailed'
  | 'retryCampaign'
  | 'archive'
  | 'delete'
  | 'export';

const ACTION_EVENTS: [CampaignAction, (counts: MessageCounts) => CampaignEvent | null][] = [
  ['edit', () => ({ type: 'EDIT' })],
  ['addContacts', () => ({ type: 'EDIT_CONTACTS' })],
  ['save', () => ({ type: 'SAVE' })],
  ['schedule', () => ({ type: 'SCHEDULE', at: 0 })],
  ['unschedule', () => ({ type: 'UNSCHEDULE' })],
  ['run', () => ({ type: 'RUN' })],
  ['pause', () => ({ type: 'PAUSE' })],
  ['resume', () => ({ type: 'RESUME' })],
  ['stop', () => ({ type: 'STOP' })],
  ['close', () => ({ type: 'CLOSE' })],
  ['retryFailed', () => ({ type: 'RETRY_FAILED' })],
  ['retryCampaign', () => ({ type: 'RETRY_CAMPAIGN' })],
  ['archive', () => ({ type: 'ARCHIVE' })],
  ['delete', (counts) => ({ type: 'DELETE', inFlight: inFlightCount(counts) })],
  ['export', () => null],
];

/** A campaign as queries return it. */
export interface Campaign extends CampaignRecord {
  /** Messages per status (kept as counters, never recounted). */
  readonly counts: MessageCounts;
  /** Messages in a final status. */
  readonly done: number;
  readonly opens: number;
  readonly clicks: number;
  /** Messages read (WhatsApp or RCS `read` receipts), each message once. */
  readonly reads: number;
  /** Spam complaints reported for its messages (email; the spam-complaint brake reads them). */
  readonly spamReports: number;
  /**
   * Why the engine paused it, while paused by the engine: `failure_rate` (policy `autoPause`) or
   * `spam_complaints` (policy `spamComplaintBrake`); null otherwise.
   */
  readonly pauseCause: string | null;
  /** When the campaign is due to start, while scheduled. */
  readonly scheduledAt: number | null;
  /** What went wrong, when the campaign failed. */
  readonly failureCause: string | null;
  /** The commands the current status allows, read from the campaign machine. */
  readonly availableActions: readonly CampaignAction[];
}

/** A message with its event log, as `getMessage` returns it. */
export interface Message extends MessageRecord {
  readonly log: readonly MessageLogEntry[];
}

/** Messages of a campaign in a final status. */
export function doneCount(counts: MessageCounts): number {
  let n = 0;
  for (const s of MESSAGE_STATUSES) if (isFinalMessageStatus(s)) n += counts[s];
  return n;
}

/**
 * The commands a campaign's status allows, read from the campaign machine itself
 * (`export` is always allowed).
 * @example availableActions(await outreach.getCampaign(id)) // ['pause', 'stop', 'close', 'archive', 'export']
 */
export function availableActions(
  campaign: Pick<CampaignRecord, 'state'> & { counts: MessageCounts },
): CampaignAction[] {
  const out: CampaignAction[] = [];
  for (const [action, event] of ACTION_EVENTS) {
    const e = event(campaign.counts);
    if (e === null || campaignCan(campaign.state, e)) out.push(action);
  }
  return out;
}

/** Builds the query view of a campaign from its record and counters. */
export function campaignView(
  record: CampaignRecord,
  counters: {
    counts: MessageCounts;
    opens: number;
    clicks: number;
    reads?: number | undefined;
    spamReports?: number | undefined;
  },
): Campaign {
  return {
    ...record,
    counts: counters.counts,
    done: doneCount(counters.counts),
    opens: counters.opens,
    clicks: counters.clicks,
    reads: counters.reads ?? 0,
    spamReports: counters.spamReports ?? 0,
    pauseCause: record.status === 'paused' ? (record.state.context.pauseCause ?? null) : null,
    scheduledAt: record.state.context.scheduledAt,
    failureCause: record.state.context.failureCause,
    availableActions: availableActions({ state: record.state, counts: counters.counts }),
  };
}
