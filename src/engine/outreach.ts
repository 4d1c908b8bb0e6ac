/**
 * The engine's public types: its options, the inputs and results of its commands, and the `Outreach`
 * interface itself. Types only, so that every part of the engine may name them without importing
 * the entry (`create-outreach.ts`), which wires the parts together.
 */
import type { CsvSource, importContactsCsv } from '../contacts/csv-import.js';
import type { CountryCode } from '../contacts/phone.js';
import type { CampaignContent, OutgoingEmail, OutgoingSms } from '../content.js';
import type { Duration } from '../duration.js';
import type { LIMITS } from '../limits.js';
import type { Policy, PolicyInput } from '../policy.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { EmailTransport, SmsTransport } from '../ports/transport.js';
import type { IngestResult, ProviderEvent } from '../provider-events.js';
import type { ContactRecord, MessageRecord, OptOutLogRecord } from '../records.js';
import type { SendingWindow } from '../sending-window.js';
import type { CampaignStatus, Channel, MessageCounts, MessageStatus } from '../statuses.js';
import type { OutreachListener } from './events.js';
import type { ContentRenderer } from './render-message.js';
import type { Campaign, Message } from './views.js';

/** Options of `createOutreach`. */
export interface OutreachOptions {
  /** Where campaigns, messages and deadlines live (`memoryStorage()`, `postgresStorage(...)`). */
  storage: Storage;
  /** Where time comes from. @defaultValue systemClock */
  clock?: Clock;
  /** One transport per channel you send on. */
  transports: { sms?: SmsTransport; email?: EmailTransport };
  /** Timeouts, retries, windows; seed values by default. */
  policy?: PolicyInput;
  /** The scope of campaigns created without one. @defaultValue 'default' */
  defaultScope?: string;
  /** Email unsubscribe links: signed tokens under this base URL. Without it, no link is added. */
  unsubscribe?: { baseUrl: string; secret: string };
  /** Messages per storage transaction in bulk work. @defaultValue 500 */
  batchSize?: number;
  /** Errors the worker met and could not throw to anyone (a failing transport, a listener that threw). */
  onError?: (error: unknown) => void;
  /** Replaces the template renderer (for tests or custom template languages). */
  renderer?: ContentRenderer;
  /**
   * Country of phone numbers written without a country code (ISO 3166 alpha-2), for `addContacts`,
   * imports and opt-outs. Without it, numbers must be written in international form (`+1…`).
   */
  defaultCountry?: CountryCode | undefined;
  /** Countries you may send SMS to; other numbers are refused as "unsupported country code". */
  allowedCountries?: readonly CountryCode[] | undefined;
  /**
   * How often an idle worker looks for work that other processes created (queued messages, deadlines).
   * `false` never polls: the worker then wakes only for its own commands, ingests and deadlines.
   * @defaultValue '1s' when the storage is shared (`storage.info.shared`), otherwise false
   */
  pollInterval?: Duration | false | undefined;
  /**
   * How long messages this worker claimed stay reserved for it before it hands them to the transport
   * (a lease). If the process dies or stops in between, they go back to Queued when the lease expires
   * and another worker sends them. Longer than any pause between a claim and its hand-over.
   * @defaultValue '30s'
   */
  claimLease?: Duration | undefined;
}

/** A new campaign. */
export interface CreateCampaignInput {
  name: string;
  channel: Channel;
  scope?: string | undefined;
  description?: string | undefined;
  content?: CampaignContent | undefined;
  metadata?: Record<string, string> | undefined;
  /** Quiet hours: when its messages may be sent, in each recipient's local time. Any time when absent. */
  sendingWindow?: SendingWindow | null | undefined;
  /** After this time nothing more is sent: messages not handed over by then end Cancelled (`deadline_passed`). */
  deadline?: Date | number | null | undefined;
}

/** What may change while a campaign is a draft (and, but for contacts, while it is ready). `null` clears the window or the deadline. */
export interface UpdateCampaignInput {
  name?: string | undefined;
  description?: string | undefined;
  content?: CampaignContent | undefined;
  metadata?: Record<string, string> | undefined;
  sendingWindow?: SendingWindow | null | undefined;
  deadline?: Date | number | null | undefined;
}

/** A contact to add: its address (phone or email) and its template fields. */
export interface ContactInput {
  address: string;
  fields?: Record<string, string> | undefined;
}

/** What `addContacts` did. */
export interface AddContactsResult {
  readonly added: number;
  readonly duplicates: number;
  readonly rejected: readonly { index: number; address: string; reason: string }[];
}

/** Options of `importContacts`. */
export interface ImportContactsOptions {
  /** Country of numbers written without a country code (ISO 3166 alpha-2, e.g. `US`); the engine's by default. */
  defaultCountry?: CountryCode | undefined;
  /** Countries you may send to; numbers elsewhere are rejected as "unsupported country code". The engine's by default. */
  allowedCountries?: readonly CountryCode[] | undefined;
  /** The column holding the phone number or email (default: `phone` / `email` and common aliases). */
  addressColumn?: string | undefined;
  /** Rows per transaction. @defaultValue 1000 */
  batchSize?: number | undefined;
}

/** What `importContacts` did. */
export type ImportContactsResult = Awaited<ReturnType<typeof importContactsCsv>>;

/** What `retryFailed` did. */
export interface RetryResult {
  readonly retried: number;
  /** Failed messages left alone because their reason is not retryable. */
  readonly skipped: number;
}

/** The engine's worker: dispatch and deadlines. */
export interface OutreachWorker {
  /** Starts dispatching and firing deadlines on the clock. Idempotent. */
  start(): void;
  /**
   * Stops the worker: messages it claimed but has not handed to a transport go back to Queued, sends in
   * flight finish and are recorded. Resolves when the worker is idle, or after `timeoutMs` (default 30 s)
   * if a send or the storage hangs; what is left then is settled by other workers (leases, timeouts).
   */
  stop(options?: { timeoutMs?: number | undefined }): Promise<void>;
  /** Does all the work due now (fires due deadlines, dispatches what the limits allow), once. */
  runOnce(): Promise<void>;
  readonly running: boolean;
}

/**
 * The engine: campaign commands, provider-event ingestion, queries, subscriptions and the worker.
 * Every method checks its arguments first (strict objects, well-formed text, the bounds of
 * {@link LIMITS}): a caller mistake rejects with `VALIDATION_FAILED` naming the field, the same on
 * every storage, and changes nothing. The two exports throw it synchronously, before the stream exists.
 */
export interface Outreach {
  /** The resolved policy (durations in ms). */
  readonly policy: Policy;
  /** The clock the engine stamps every transition with. */
  readonly clock: Clock;
  /** The storage the engine runs over. */
  readonly storage: Storage;
  /** Creates a draft campaign; its channel is fixed for ever. Throws `VALIDATION_FAILED` on bad input. */
  createCampaign(input: CreateCampaignInput): Promise<Campaign>;
  /** Edits name, description, content or metadata (draft, ready, scheduled). In ready the content is re-validated against the contacts. */
  updateCampaign(id: string, patch: UpdateCampaignInput): Promise<Campaign>;
  /** Adds contacts to a draft; bad addresses are reported by index, duplicates dropped and counted. */
  addContacts(id: string, contacts: readonly ContactInput[]): Promise<AddContactsResult>;
  /** Streams a CSV into a draft: every rejected row is reported with its line, column and reason; the good rows import. */
  importContacts(id: string, source: CsvSource, options?: ImportContactsOptions): Promise<ImportContactsResult>;
  /** Removes contacts from a draft (all of them without `contactIds`); returns how many. */
  removeContacts(id: string, contactIds?: readonly string[]): Promise<number>;
  /** Draft → ready: needs valid content that every contact can fill, and at least one contact. Creates one Waiting message per contact. */
  save(id: string): Promise<Campaign>;
  /** Ready or scheduled → scheduled at `at`; it starts then, or as soon as its channel is free. */
  schedule(id: string, at: Date | number): Promise<Campaign>;
  /** Scheduled → ready. */
  unschedule(id: string): Promise<Campaign>;
  /** Ready or scheduled → in progress; throws `CHANNEL_BUSY` when another campaign of the channel runs in the scope. */
  run(id: string): Promise<Campaign>;
  /** In progress → paused: nothing more is dispatched; in-flight messages finish; the channel stays held. */
  pause(id: string): Promise<Campaign>;
  /** Paused → in progress: dispatch continues from where it left off. */
  resume(id: string): Promise<Campaign>;
  /** Scheduled, in progress or paused → stopped: Waiting and Queued messages are cancelled; handed-over ones finish. */
  stop(id: string): Promise<Campaign>;
  /** In progress, active retries or paused: every non-final message → Cancelled (`closed_by_user`); the campaign completes. */
  close(id: string): Promise<Campaign>;
  /** Complete with errors → in progress for the failed messages with a retryable reason (all, or `messageIds`); throws `NOT_RETRYABLE` otherwise. */
  retryFailed(id: string, options?: { messageIds?: readonly string[] }): Promise<RetryResult>;
  /** Failed → ready, once the cause (`failureCause`) is fixed. */
  retryCampaign(id: string): Promise<Campaign>;
  /** Any status after a run → archived: statuses freeze as they are. */
  archive(id: string): Promise<Campaign>;
  /** Deletes a draft, ready, complete, failed, or stopped-with-nothing-in-flight campaign with its contacts and messages. */
  delete(id: string): Promise<void>;
  /** Adds an address to the channel's suppression list; with `messageId`, that message also becomes Opted Out. */
  optOut(input: {
    channel: Channel;
    address: string;
    scope?: string;
    messageId?: string;
    source?: string;
  }): Promise<void>;
  /** Removes an address from the suppression list; returns whether it was there. */
  optIn(input: { channel: Channel; address: string; scope?: string }): Promise<boolean>;
  /** Whether an address is on the channel's suppression list in the scope. */
  isSuppressed(input: { channel: Channel; address: string; scope?: string }): Promise<boolean>;
  /**
   * The opt-out record: every opt-out and opt-in, oldest first (ordered by `id`; pass the last `id` seen
   * as `after` for the next page), with its source, the inbound text when there was one, and the campaign
   * and message that prompted it when known. Written in the same transaction as the suppression list
   * change and kept when campaigns are deleted. `limit` defaults to 1000.
   * @throws OutreachError `VALIDATION_FAILED` for an unknown field or a bad value.
   * @example const page = await outreach.listOptOutRecords({ channel: 'sms', address: '+14155550100' });
   */
  listOptOutRecords(query?: {
    channel?: Channel;
    address?: string;
    scope?: string;
    after?: number;
    limit?: number;
  }): Promise<OptOutLogRecord[]>;
  /**
   * The opt-out record as CSV (entry id, time, scope, channel, address, change, source, text, campaign
   * and message), oldest first, formula-like cells neutralised.
   * @throws OutreachError `VALIDATION_FAILED` for an unknown field or a bad value.
   * @example for await (const chunk of outreach.exportOptOutRecords({ channel: 'email' })) res.write(chunk);
   */
  exportOptOutRecords(query?: { channel?: Channel; scope?: string }): AsyncIterable<string>;
  /**
   * Applies normalised provider events (what webhook handlers and carriers produce). The whole batch is
   * validated first: a bad event throws `VALIDATION_FAILED` and nothing changes. Duplicates, backward
   * moves and unknown messages are counted, never thrown.
   */
  ingest(events: readonly ProviderEvent[]): Promise<IngestResult>;
  /**
   * Sends one message outside any campaign (seed 004): suppression checked, the channel's rate limit
   * shared with campaigns, retries, timeouts, webhooks, late corrections and opt-out as for any
   * message. It is not bound by the one-running-campaign-per-channel rule. Returns the message (Queued).
   * @throws OutreachError `VALIDATION_FAILED` (bad content or address), `TEMPLATE_INVALID` (fields missing).
   * @example await outreach.send({ channel: 'sms', to: '+14155550100', content: { body: 'Hi {{name}}' }, fields: { name: 'Ada' } });
   */
  send(input: SendInput): Promise<MessageRecord>;
  /** The one-off messages sent to an address in a scope (oldest first), with their statuses. */
  listMessagesTo(input: { channel: Channel; address: string; scope?: string }): Promise<MessageRecord[]>;
  /** The one-off messages sent to an address, as CSV (the columns of `exportMessages`; `fields` as given to `send`). */
  exportMessagesTo(
    input: { channel: Channel; address: string; scope?: string },
    options?: { fields?: readonly string[] },
  ): AsyncIterable<string>;
  /** A campaign with its counters and available actions; `NOT_FOUND` when unknown. */
  getCampaign(id: string): Promise<Campaign>;
  /** Campaigns, optionally by scope, channel and status. */
  listCampaigns(filter?: { scope?: string; channel?: Channel; statuses?: CampaignStatus[] }): Promise<Campaign[]>;
  /** A message with its append-only event log; `NOT_FOUND` when unknown. */
  getMessage(id: string): Promise<Message>;
  /** Messages of a campaign ordered by id (page with `after`), optionally by status. */
  listMessages(
    campaignId: string,
    filter?: { statuses?: MessageStatus[]; after?: string; limit?: number },
  ): Promise<MessageRecord[]>;
  /** Contacts of a campaign ordered by id (page with `after`). */
  listContacts(campaignId: string, page?: { after?: string; limit?: number }): Promise<ContactRecord[]>;
  /** Counters of a campaign, grouped Delivered / Pending / Failed; constant time whatever the size. */
  getStats(campaignId: string): Promise<CampaignStats>;
  /** Renders one message as this contact would receive it (for a preview pane); sends nothing. */
  preview(campaignId: string, contactId: string): Promise<OutgoingSms | OutgoingEmail>;
  /** Streams CSV of the campaigns matching the filter (one row each, with a count per status). */
  exportCampaigns(filter?: { scope?: string; channel?: Channel; statuses?: CampaignStatus[] }): AsyncIterable<string>;
  /** Streams CSV of one campaign's messages, with the contact `fields` named as extra columns. */
  exportMessages(campaignId: string, options?: { fields?: readonly string[] }): AsyncIterable<string>;
  /** Calls `listener` with status and progress events after each commit; returns the unsubscribe function. */
  subscribe(listener: OutreachListener): () => void;
  /** Dispatch and deadlines. */
  readonly worker: OutreachWorker;
}

/** What `outreach.send` takes: one message outside any campaign. */
export interface SendInput {
  readonly channel: Channel;
  /** The recipient: a phone number (SMS) or an email address. */
  readonly to: string;
  /** The content, as a campaign's (`{ body }` for SMS; `{ subject, html, … }` for email). */
  readonly content: unknown;
  /** Values of the content's `{{variables}}`. */
  readonly fields?: Readonly<Record<string, string>> | undefined;
  /** The scope whose suppression list applies (the engine's default scope when absent). */
  readonly scope?: string | undefined;
}

/** Counters of one campaign, constant-time to read. */
export interface CampaignStats {
  readonly campaignId: string;
  readonly status: CampaignStatus;
  readonly total: number;
  readonly counts: MessageCounts;
  readonly done: number;
  readonly delivered: number;
  readonly pending: number;
  readonly failed: number;
  readonly opens: number;
  readonly clicks: number;
  /** Messages read (WhatsApp or RCS `read` receipts from Twilio), each message counted once. */
  readonly reads: number;
}
