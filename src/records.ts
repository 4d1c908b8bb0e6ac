/**
 * The records the engine keeps in storage. Storage adapters persist them as they are; the engine
 * treats every record it reads as immutable and writes new objects.
 */

import type { CampaignContent } from './content.js';
import type { FailureReasonId } from './failure-reasons.js';
import type { StoredPolicy } from './policy.js';
import type { SendingWindow } from './sending-window.js';
import type { CampaignStatus, Channel, MessageCounts, MessageStatus } from './statuses.js';

/** A persisted machine state: the state node id and its context. */
export interface PersistedState<C> {
  readonly value: string;
  readonly context: C;
}

/** The campaign machine's context. */
export interface CampaignMachineContext {
  readonly channel: Channel;
  /** When the campaign is due to start, while scheduled. */
  readonly scheduledAt: number | null;
  /** What went wrong, while failed. */
  readonly failureCause: string | null;
  /** Whether the campaign ever ran (archive and some deletes depend on it). */
  readonly hasRun: boolean;
  /** Whether the engine paused it once for its failure rate (it never does twice). */
  readonly autoPaused: boolean;
  /**
   * Why the engine paused it, while paused by the engine (`failure_rate`, `spam_complaints`); null or
   * absent after a pause by command or a resume.
   */
  readonly pauseCause?: string | null | undefined;
  /** Whether the spam-complaint brake paused it once (it never does twice: a resume is the sender's call). */
  readonly spamBraked?: boolean | undefined;
}

/** One campaign. */
export interface CampaignRecord {
  readonly id: string;
  /** Tenant, school or account: one running campaign per channel per scope. */
  readonly scope: string;
  readonly channel: Channel;
  readonly name: string;
  readonly description: string;
  readonly status: CampaignStatus;
  readonly state: PersistedState<CampaignMachineContext>;
  readonly content: CampaignContent | null;
  /** Free-form application data. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Number of messages (one per contact) created when the campaign was saved. */
  readonly messageCount: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /**
   * The policy fixed when the campaign ran (absent before, and on campaigns stored by older versions):
   * every process applies it to the campaign's messages, whatever its own `policy` option says.
   */
  readonly policy?: StoredPolicy | undefined;
  /**
   * A one-off message's own campaign (`outreach.send`): it holds that one message, is hidden from
   * campaign lists and exports, and holds no channel claim.
   */
  readonly oneOff?: boolean | undefined;
  /** When its messages may be sent, in each recipient's local time (absent or null: any time). */
  readonly sendingWindow?: SendingWindow | null | undefined;
  /** After this time (ms since epoch) nothing more is sent: messages not handed over yet are cancelled. */
  readonly deadline?: number | null | undefined;
}

/** One recipient of one campaign. */
export interface ContactRecord {
  readonly id: string;
  readonly campaignId: string;
  /** Normalised address: E.164 for SMS, lower-cased email for email. */
  readonly address: string;
  /** Columns of the import, by header name (template variables). */
  readonly fields: Readonly<Record<string, string>>;
  readonly createdAt: number;
}

/** The message machine's context. */
export interface MessageContext {
  readonly channel: Channel;
  /** Send attempts since creation or the last manual retry. */
  readonly attempts: number;
  readonly reason: FailureReasonId | null;
  /** The provider's raw code for the last failure, kept beside the mapped reason. */
  readonly code: string | null;
  readonly providerMessageId: string | null;
  /** When the email was first deferred: the deferral window runs from here. */
  readonly firstDeferredAt: number | null;
  readonly deferrals: number;
  /**
   * While the message waits outside its recipient's sending window (state `outside_window`, status
   * Queued): when the window opens and it is due again. Null otherwise (absent on older records).
   */
  readonly dueAt?: number | null;
  /** Time of the last change. */
  readonly updatedAt: number;
}

/** One message: one contact of one campaign. */
export interface MessageRecord {
  readonly id: string;
  readonly campaignId: string;
  readonly contactId: string;
  readonly scope: string;
  readonly channel: Channel;
  /** Normalised address. */
  readonly to: string;
  readonly status: MessageStatus;
  /** The machine's state node (`backoff` shows as status `queued`). */
  readonly state: string;
  readonly context: MessageContext;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One entry of a message's append-only event log. */
export interface MessageLogEntry {
  readonly messageId: string;
  readonly campaignId: string;
  readonly at: number;
  /** The machine event type (e.g. `PROVIDER_DELIVERED`, `xstate.after…` as `TIMEOUT`). */
  readonly event: string;
  readonly from: MessageStatus;
  readonly to: MessageStatus;
  /** Whether the event changed the message. Ignored events (duplicates, backward moves) are logged too. */
  readonly changed: boolean;
  readonly detail?: Readonly<Record<string, unknown>> | undefined;
}

/** A durable timer: fires `event` on the entity at `fireAt`. */
export interface DeadlineRecord {
  /** `<entityId>|<timer id>`: upserted by id, so a re-armed timer replaces the old one. */
  readonly id: string;
  readonly kind: 'message' | 'campaign';
  readonly entityId: string;
  readonly campaignId: string;
  readonly fireAt: number;
  readonly event: Readonly<{ type: string }>;
}

/** One address on a suppression list (opted out of a channel in a scope). */
export interface SuppressionRecord {
  readonly scope: string;
  readonly channel: Channel;
  readonly address: string;
  readonly source: string;
  readonly at: number;
}

/** One change to a suppression list, as written to the opt-out record (append-only, kept when campaigns are deleted). */
export interface OptOutLogEntry {
  readonly at: number;
  readonly scope: string;
  readonly channel: Channel;
  readonly address: string;
  readonly change: 'opt_out' | 'opt_in';
  /** How it came: the suppression's source (`manual`, `inbound`, `spamreport`, `unsubscribe`, `21610:unsubscribed`, …). */
  readonly source: string;
  /** The inbound text that asked for it (a STOP keyword reply), when known. */
  readonly text?: string | undefined;
  /** The campaign of the message that prompted it, when known. */
  readonly campaignId?: string | undefined;
  /** The message that prompted it, when known. */
  readonly messageId?: string | undefined;
}

/** An opt-out record entry with its position: ids grow in the order entries were appended. */
export interface OptOutLogRecord extends OptOutLogEntry {
  readonly id: number;
}

/** Which opt-out record entries to list: those matching every given field, ids above `after`, at most `limit`. */
export interface OptOutLogFilter {
  readonly channel?: Channel | undefined;
  readonly address?: string | undefined;
  readonly scope?: string | undefined;
  readonly after?: number | undefined;
  readonly limit: number;
}

/** Counters of one campaign (per message status) plus engagement counts. */
export interface CampaignCounters {
  readonly counts: MessageCounts;
  readonly opens: number;
  readonly clicks: number;
  /**
   * Messages read (WhatsApp or RCS `read` receipts), each message once. Every adapter of this package
   * fills it; absent (a storage written before it existed), it counts as 0.
   */
  readonly reads?: number | undefined;
  /**
   * Spam complaints reported by the provider for the campaign's messages (SendGrid `spamreport`);
   * absent is 0 (a storage adapter that does not count them turns the spam-complaint brake off).
   */
  readonly spamReports?: number | undefined;
}
