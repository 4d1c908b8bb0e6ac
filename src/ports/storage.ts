/**
 * The storage port. Shaped for SQL: every engine step runs inside `transaction`, reads the rows it
 * will change with a lock (`claim…`, `lock…`), and writes messages, counters, log entries and
 * deadlines together, so a crash never leaves a transition half applied.
 */
import type {
  CampaignCounters,
  CampaignRecord,
  ContactRecord,
  DeadlineRecord,
  MessageLogEntry,
  MessageRecord,
  OptOutLogEntry,
  OptOutLogFilter,
  OptOutLogRecord,
  SuppressionRecord,
} from '../records.js';
import type { CampaignStatus, Channel, MessageCounts, MessageStatus } from '../statuses.js';

/** What a storage adapter declares about itself (capabilities are data, never discovered by trying). */
export interface StorageInfo {
  /** Adapter name, e.g. `memory`, `postgres`. */
  readonly name: string;
  /** Whether several processes can share it (the concurrency rule then holds across them). */
  readonly shared: boolean;
}

/** A page request: rows ordered by id, strictly after `after`. */
export interface Page {
  readonly after?: string | undefined;
  readonly limit: number;
}

/** Filter for {@link StorageTransaction.listCampaigns}. */
export interface CampaignFilter extends Partial<Page> {
  readonly scope?: string | undefined;
  readonly channel?: Channel | undefined;
  readonly statuses?: readonly CampaignStatus[] | undefined;
}

/** Filter for {@link StorageTransaction.listMessages}. */
export interface MessageFilter extends Page {
  readonly statuses?: readonly MessageStatus[] | undefined;
}

/** A provider-event key and the campaign it concerns (`null`: none, e.g. an inbound STOP). */
export interface SeenKey {
  readonly key: string;
  readonly campaignId: string | null;
}

/** Counter changes for one campaign: per status, and engagement. */
export interface CounterDelta {
  readonly campaignId: string;
  readonly counts?: Partial<MessageCounts> | undefined;
  readonly opens?: number | undefined;
  readonly clicks?: number | undefined;
  /** Messages read (a WhatsApp or RCS `read` receipt), each message counted once. */
  readonly reads?: number | undefined;
  /** Spam complaints to add (the spam-complaint brake reads them). */
  readonly spamReports?: number | undefined;
}

/**
 * The storage port. Every method of {@link StorageTransaction} is only valid inside `transaction`.
 * @example
 * const storage = memoryStorage();
 * const outreach = createOutreach({ storage, clock: systemClock, transports: { sms } });
 */
export interface Storage {
  readonly info: StorageInfo;
  /**
   * Runs `fn` atomically: all its writes are kept, or none (if it throws, the error is rethrown
   * after rollback). Transactions are isolated from each other as if run one at a time for the rows
   * they lock. An adapter may re-run `fn` after a serialization conflict, so `fn` must have no side
   * effects other than its calls on `tx`.
   */
  transaction<T>(fn: (tx: StorageTransaction) => Promise<T>): Promise<T>;
  /** Releases connections or timers the adapter owns (never a pool it was given). */
  close?(): Promise<void>;
}

/** The operations available inside a transaction. */
export interface StorageTransaction {
  // ── campaigns ────────────────────────────────────────────────────────────
  /** Inserts a campaign; throws `OutreachError('CONFLICT')` if the id exists. */
  insertCampaign(campaign: CampaignRecord): Promise<void>;
  /** The campaign, or `undefined`. With `forUpdate`, locks it until the transaction ends. */
  getCampaign(id: string, options?: { forUpdate?: boolean }): Promise<CampaignRecord | undefined>;
  /** Replaces a campaign (same id). */
  updateCampaign(campaign: CampaignRecord): Promise<void>;
  /** Deletes a campaign with its contacts, messages, log entries, deadlines, counters and seen event keys. */
  deleteCampaign(id: string): Promise<void>;
  /** Campaigns matching the filter, ordered by id. */
  listCampaigns(filter?: CampaignFilter): Promise<CampaignRecord[]>;

  // ── counters ─────────────────────────────────────────────────────────────
  /** Adds deltas to campaign counters (created at zero on first use). O(1) per campaign. */
  addCounters(deltas: readonly CounterDelta[]): Promise<void>;
  /** The counters of a campaign (all zero if none). Must not depend on the number of messages. */
  getCounters(campaignId: string): Promise<CampaignCounters>;

  // ── the one-running-campaign rule ────────────────────────────────────────
  /**
   * Claims the channel of a scope for a campaign. Returns the id of the campaign that holds it after
   * the call: `campaignId` when claimed (or already held by it), another id when busy. Must hold
   * across processes for a shared storage.
   */
  claimChannel(scope: string, channel: Channel, campaignId: string): Promise<string>;
  /** Releases the channel if `campaignId` holds it; otherwise does nothing. */
  releaseChannel(scope: string, channel: Channel, campaignId: string): Promise<void>;
  /** Which campaign holds the channel of a scope, if any. */
  channelHolder(scope: string, channel: Channel): Promise<string | undefined>;

  // ── contacts ─────────────────────────────────────────────────────────────
  /** Inserts contacts; throws `OutreachError('CONFLICT')` on a duplicate id. */
  insertContacts(contacts: readonly ContactRecord[]): Promise<void>;
  /** A contact by id, or `undefined`. */
  getContact(id: string): Promise<ContactRecord | undefined>;
  /** Contacts by id (missing ids are left out), keyed by id. */
  getContacts(ids: readonly string[]): Promise<Map<string, ContactRecord>>;
  /** Contacts of a campaign, ordered by id. */
  listContacts(campaignId: string, page: Page): Promise<ContactRecord[]>;
  /** How many contacts a campaign has. */
  countContacts(campaignId: string): Promise<number>;
  /** Which of these normalised addresses the campaign already has. */
  existingAddresses(campaignId: string, addresses: readonly string[]): Promise<Set<string>>;
  /** Deletes contacts of a campaign (all when `ids` is absent); returns how many. */
  deleteContacts(campaignId: string, ids?: readonly string[]): Promise<number>;

  // ── messages ─────────────────────────────────────────────────────────────
  /** Inserts messages; throws `OutreachError('CONFLICT')` on a duplicate id. */
  insertMessages(messages: readonly MessageRecord[]): Promise<void>;
  /** A message by id (no lock), or `undefined`. */
  getMessage(id: string): Promise<MessageRecord | undefined>;
  /** Reads and locks messages by id (missing ids are left out). */
  lockMessages(ids: readonly string[]): Promise<MessageRecord[]>;
  /** Reads and locks messages by provider message id; the map is keyed by provider id. */
  lockMessagesByProviderId(channel: Channel, providerIds: readonly string[]): Promise<Map<string, MessageRecord>>;
  /**
   * Claims up to `limit` messages of a campaign in machine state `state` (e.g. `queued`), oldest first,
   * and locks them; rows locked by another transaction are skipped (`FOR UPDATE SKIP LOCKED`).
   *
   * `after` (a message id, optional) asks for only messages whose id sorts after it: the engine passes
   * the last id of its previous claim, so that a claim starts where the last one ended instead of
   * stepping over every message already claimed (a keyset claim: at a million messages an index scan
   * from the start of the campaign visits every claimed message's entry). Honouring it is what keeps a
   * claim's cost flat; ignoring it is correct, only slower: the engine starts again from the beginning
   * (without `after`) whenever a claim returns fewer than `limit` messages, so a message that comes
   * back to a state with a lower id (a released claim, a retry) is still claimed.
   */
  claimMessages(campaignId: string, state: string, limit: number, after?: string): Promise<MessageRecord[]>;
  /** Replaces messages (same ids), keeping any provider-id index in step. */
  updateMessages(messages: readonly MessageRecord[]): Promise<void>;
  /** Messages of a campaign, ordered by id, optionally only some statuses. */
  listMessages(campaignId: string, filter: MessageFilter): Promise<MessageRecord[]>;
  /** Appends to the message event log. */
  appendLog(entries: readonly MessageLogEntry[]): Promise<void>;
  /** The event log of a message, oldest first. */
  listLog(messageId: string): Promise<MessageLogEntry[]>;

  // ── deadlines ────────────────────────────────────────────────────────────
  /** Inserts or replaces deadlines by id. */
  upsertDeadlines(deadlines: readonly DeadlineRecord[]): Promise<void>;
  /** Deletes deadlines by id; unknown ids are ignored. */
  deleteDeadlines(ids: readonly string[]): Promise<void>;
  /**
   * Takes up to `limit` deadlines due at `now` or earlier, earliest first, and deletes them as part of
   * this transaction; rows locked by another transaction are skipped.
   */
  takeDueDeadlines(now: number, limit: number): Promise<DeadlineRecord[]>;
  /**
   * Deletes these deadlines and returns the ids of those that existed (in any order). A deadline that
   * another transaction is taking or deleting is waited for, so that exactly one transaction gets each:
   * the worker takes a claim's lease this way before it hands the claimed messages to a transport.
   */
  takeDeadlines(ids: readonly string[]): Promise<string[]>;
  /** The earliest `fireAt` of any deadline, or `undefined`. */
  nextDeadlineAt(): Promise<number | undefined>;

  // ── suppression lists ────────────────────────────────────────────────────
  /** Adds addresses to suppression lists (idempotent). */
  addSuppressions(rows: readonly SuppressionRecord[]): Promise<void>;
  /** Removes an address from a list; returns whether it was there. */
  removeSuppression(scope: string, channel: Channel, address: string): Promise<boolean>;
  /** Which of these addresses are suppressed for the channel in the scope. */
  suppressedAmong(scope: string, channel: Channel, addresses: readonly string[]): Promise<Set<string>>;
  /**
   * Appends entries to the opt-out record, in order, each with a new id greater than every earlier one.
   * The record is never changed or deleted (not by `deleteCampaign` either); a rolled-back transaction
   * leaves no entry.
   */
  appendOptOutLog(rows: readonly OptOutLogEntry[]): Promise<void>;
  /** Opt-out record entries matching the filter, by id ascending. */
  listOptOutLog(filter: OptOutLogFilter): Promise<OptOutLogRecord[]>;

  // ── provider-event deduplication ─────────────────────────────────────────
  /**
   * Records provider-event keys; returns, for each key in order, whether it was new (first seen now).
   * A key given with a campaign id belongs to that campaign and is deleted with it, so the keys of a
   * campaign live exactly as long as its messages; a plain string (or `campaignId: null`) is kept.
   */
  markSeen(keys: readonly (string | SeenKey)[]): Promise<boolean[]>;
}
