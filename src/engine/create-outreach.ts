/**
 * `createOutreach`: the engine. It runs the campaign and message machines over a storage port,
 * dispatches queued messages to transports within their limits, fires durable deadlines from the
 * clock, ingests provider events, and tells subscribers what changed.
 */
import * as z from 'zod';
import { type CsvSource, importContactsCsv } from '../contacts/csv-import.js';
import type { CountryCode } from '../contacts/phone.js';
import type { CampaignContent, EmailContent, OutgoingEmail, OutgoingSms, SmsContent } from '../content.js';
import { EmailContentSchema, SmsContentSchema } from '../content.js';
import { type Duration, toMs } from '../duration.js';
import { OutreachError } from '../errors.js';
import { campaignsCsv } from '../export/campaigns-csv.js';
import { messagesCsv } from '../export/messages-csv.js';
import { FAILURE_REASONS } from '../failure-reasons.js';
import {
  type CampaignEvent,
  campaignCan,
  holdsChannel,
  inFlightCount,
  initialCampaignState,
  transitionCampaign,
} from '../machines/campaign.js';
import type { MessageEvent } from '../machines/message-events.js';
import { createMessageStepper, type MessageStepper } from '../machines/message-step.js';
import { type Policy, type PolicyInput, resolvePolicy } from '../policy.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import { systemClock } from '../ports/clock.js';
import type { Storage, StorageTransaction } from '../ports/storage.js';
import type { EmailTransport, SendResult, SmsTransport, Transport } from '../ports/transport.js';
import {
  type IngestResult,
  type ProviderEvent,
  ProviderEventSchema,
  type StatusEvent,
  type SuppressionEvent,
} from '../provider-events.js';
import type { CampaignRecord, ContactRecord, MessageRecord } from '../records.js';
import {
  type CampaignStatus,
  type Channel,
  isFinalMessageStatus,
  type MessageCounts,
  type MessageStatus,
} from '../statuses.js';
import type { OutreachEvent, OutreachListener } from './events.js';
import { createId } from './ids.js';
import { applyMessageChanges, type MessageChange } from './message-batch.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { type ContentRenderer, defaultRenderer } from './render-message.js';
import { type Campaign, type CampaignAction, campaignView, type Message } from './views.js';

/** Options of {@link createOutreach}. */
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
}

/** A new campaign. */
export interface CreateCampaignInput {
  name: string;
  channel: Channel;
  scope?: string | undefined;
  description?: string | undefined;
  content?: CampaignContent | undefined;
  metadata?: Record<string, string> | undefined;
}

/** What may change while a campaign is a draft (and, but for contacts, while it is ready). */
export interface UpdateCampaignInput {
  name?: string | undefined;
  description?: string | undefined;
  content?: CampaignContent | undefined;
  metadata?: Record<string, string> | undefined;
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
  /** Stops the worker; sends in flight finish. Resolves when the worker is idle. */
  stop(): Promise<void>;
  /** Does all the work due now (fires due deadlines, dispatches what the limits allow), once. */
  runOnce(): Promise<void>;
  readonly running: boolean;
}

/** The engine: campaign commands, provider-event ingestion, queries, subscriptions and the worker. */
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
   * Applies normalised provider events (what webhook handlers and carriers produce). The whole batch is
   * validated first: a bad event throws `VALIDATION_FAILED` and nothing changes. Duplicates, backward
   * moves and unknown messages are counted, never thrown.
   */
  ingest(events: readonly ProviderEvent[]): Promise<IngestResult>;
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
}

const NameSchema = z.string().trim().min(1, 'a campaign needs a name').max(200);
const CreateSchema = z.object({
  name: NameSchema,
  channel: z.enum(['sms', 'email']),
  scope: z.string().trim().min(1).max(200).optional(),
  description: z.string().max(2000).optional(),
  content: z.unknown().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
const ContactsSchema = z
  .array(
    z.object({
      address: z.string().max(320),
      fields: z.record(z.string().max(200), z.string().max(10_000)).optional(),
    }),
  )
  .max(100_000, 'add at most 100,000 contacts per call; import a CSV for more');
const ScheduleAtSchema = z.union([z.date(), z.number().finite()]);
const UpdateSchema = z.object({
  name: NameSchema.optional(),
  description: z.string().max(2000).optional(),
  content: z.unknown().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

function invalid(what: string, error: z.ZodError): OutreachError {
  return new OutreachError('VALIDATION_FAILED', `${what} is not valid:\n${z.prettifyError(error)}`, {
    details: { issues: error.issues },
  });
}

function parseContent(channel: Channel, content: unknown): CampaignContent {
  const schema = channel === 'sms' ? SmsContentSchema : EmailContentSchema;
  const r = schema.safeParse(content);
  if (!r.success) throw invalid(`The ${channel} content`, r.error);
  return r.data;
}

const ACTION_HINT: Partial<Record<CampaignAction, string>> = {
  save: 'Only a draft can be saved.',
  run: 'A campaign runs from ready or scheduled; save a draft first.',
  edit: 'Only draft, ready or scheduled campaigns can be edited.',
  addContacts: 'Contacts can only change while the campaign is a draft.',
  delete:
    'A campaign can be deleted when draft, ready, complete, complete with errors, failed, or stopped with nothing in flight.',
  retryFailed: 'Failed messages can be retried once the campaign is complete with errors.',
};

/** How long the worker waits before trying again after a failed round (a storage error, say). */
const WORKER_RETRY_MS = 1000;

/** Where deadlines of campaigns (scheduled starts) are kept. */
const startKey = (campaignId: string) => `${campaignId}|start`;

/**
 * Creates the engine.
 * @example
 * const clock = createFakeClock();
 * const outreach = createOutreach({ storage: memoryStorage(), clock, transports: { sms: simulatedSmsCarrier({ clock }) } });
 * const c = await outreach.createCampaign({ name: 'Snow day', channel: 'sms', content: { body: 'Hi {{first_name}}, school is closed.' } });
 * await outreach.addContacts(c.id, [{ address: '+14155550100', fields: { first_name: 'Ada' } }]);
 * await outreach.save(c.id);
 * await outreach.run(c.id);
 * outreach.worker.start();
 * await clock.advance('15m');
 */
export function createOutreach(options: OutreachOptions): Outreach {
  const storage = options.storage;
  const clock = options.clock ?? systemClock;
  const policy = resolvePolicy(options.policy);
  const defaultScope = options.defaultScope ?? 'default';
  const batchSize = options.batchSize ?? 500;
  const pollMs =
    options.pollInterval === false
      ? undefined
      : options.pollInterval !== undefined
        ? toMs(options.pollInterval)
        : storage.info.shared
          ? 1000
          : undefined;
  const renderer = options.renderer ?? defaultRenderer;
  const onError = options.onError ?? ((e: unknown) => console.error('[campaign-lifecycle]', e));
  const steppers: Record<Channel, MessageStepper> = {
    sms: createMessageStepper('sms', policy),
    email: createMessageStepper('email', policy),
  };
  const transports: Partial<Record<Channel, Transport>> = {};
  if (options.transports.sms) transports.sms = options.transports.sms;
  if (options.transports.email) transports.email = options.transports.email;
  const limiters: Record<Channel, RateLimiter> = {
    sms: createRateLimiter(options.transports.sms?.limits?.ratePerSecond),
    email: createRateLimiter(options.transports.email?.limits?.ratePerSecond),
  };
  const listeners = new Set<OutreachListener>();
  const phoneOptions = { defaultCountry: options.defaultCountry, allowedCountries: options.allowedCountries };
  const normalize = (channel: Channel, raw: string) => renderer.normalizeAddress(channel, raw, phoneOptions);

  const emit = (events: readonly OutreachEvent[]) => {
    if (listeners.size === 0) return;
    for (const e of events) {
      for (const l of listeners) {
        try {
          l(e);
        } catch (error) {
          onError(error);
        }
      }
    }
  };

  /** Runs a transaction and emits its events after the commit. */
  const tx = async <T>(fn: (t: StorageTransaction, out: OutreachEvent[]) => Promise<T>): Promise<T> => {
    const out: OutreachEvent[] = [];
    const result = await storage.transaction((t) => {
      out.length = 0; // the adapter may re-run fn after a conflict
      return fn(t, out);
    });
    emit(out);
    return result;
  };

  const mustGetCampaign = async (t: StorageTransaction, id: string): Promise<CampaignRecord> => {
    const c = await t.getCampaign(id, { forUpdate: true });
    if (!c) throw new OutreachError('NOT_FOUND', `Campaign ${id} does not exist.`, { details: { campaignId: id } });
    return c;
  };

  const refuse = (c: CampaignRecord, action: CampaignAction): never => {
    throw new OutreachError(
      'INVALID_STATE',
      `Cannot ${action} campaign "${c.name}" (${c.id}): it is ${c.status}. ${ACTION_HINT[action] ?? ''}`.trim(),
      { details: { campaignId: c.id, status: c.status, action } },
    );
  };

  /** Moves a campaign through its machine, keeps the channel claim in step, and records the change. */
  const moveCampaign = async (
    t: StorageTransaction,
    out: OutreachEvent[],
    c: CampaignRecord,
    event: CampaignEvent,
    action: CampaignAction | null,
    cause?: string,
  ): Promise<CampaignRecord> => {
    const next = transitionCampaign(c.state, event);
    if (!next) {
      if (action) refuse(c, action);
      return c;
    }
    const status = next.value as CampaignStatus;
    const now = clock.now();
    // Commands claim the channel; a derived move (a late receipt reopening a finished campaign) never
    // does, since it sends nothing new and must not fail for a channel another campaign now holds.
    if (event.type !== 'PROGRESS' && !holdsChannel(c.status) && holdsChannel(status)) {
      const holder = await t.claimChannel(c.scope, c.channel, c.id);
      if (holder !== c.id) {
        throw new OutreachError(
          'CHANNEL_BUSY',
          `Cannot run campaign "${c.name}": ${c.channel} campaign ${holder} is already running in scope "${c.scope}". Only one ${c.channel} campaign runs at a time per scope; wait for it to complete, or schedule this one.`,
          { details: { campaignId: c.id, runningCampaignId: holder, scope: c.scope, channel: c.channel } },
        );
      }
    }
    if (holdsChannel(c.status) && !holdsChannel(status)) await t.releaseChannel(c.scope, c.channel, c.id);
    const final =
      status === 'complete' || status === 'complete_with_errors' || status === 'stopped' || status === 'failed';
    const updated: CampaignRecord = {
      ...c,
      status,
      state: next,
      updatedAt: now,
      startedAt: c.startedAt ?? (status === 'in_progress' ? now : null),
      finishedAt: final ? (c.finishedAt ?? now) : status === 'in_progress' ? null : c.finishedAt,
    };
    await t.updateCampaign(updated);
    if (c.status !== status) {
      out.push({
        type: 'campaign.status',
        campaignId: c.id,
        from: c.status,
        to: status,
        at: now,
        ...(cause ? { cause } : {}),
      });
      if (holdsChannel(c.status) && !holdsChannel(status)) channelFreed.push([c.scope, c.channel]);
    }
    return updated;
  };

  /** Channels released by the last transactions: a due scheduled campaign may start there. */
  const channelFreed: [string, Channel][] = [];

  /** Feeds counters to the campaigns whose messages moved, so their derived status follows. */
  const progressCampaigns = async (t: StorageTransaction, out: OutreachEvent[], ids: Iterable<string>) => {
    const now = clock.now();
    for (const id of ids) {
      const c = await t.getCampaign(id, { forUpdate: true });
      if (!c) continue;
      const counters = await t.getCounters(id);
      let current = await moveCampaign(t, out, c, { type: 'PROGRESS', counts: counters.counts }, null);
      if (policy.autoPause && current.status === 'in_progress' && !current.state.context.autoPaused) {
        // Seed 002: "Pause if failure rate > 5%". Once only: after a resume the user has decided.
        const done = counters.counts.delivered + counters.counts.assumed_delivered + counters.counts.failed;
        if (done >= policy.autoPause.minSample && counters.counts.failed / done > policy.autoPause.threshold) {
          current = await moveCampaign(t, out, current, { type: 'PAUSE', auto: true }, null, 'failure_rate');
        }
      }
      if (listeners.size) {
        const total = current.messageCount;
        let done = 0;
        for (const s of Object.keys(counters.counts) as MessageStatus[]) {
          if (isFinalMessageStatus(s)) done += counters.counts[s];
        }
        out.push({ type: 'campaign.progress', campaignId: id, counts: counters.counts, total, done, at: now });
      }
    }
  };

  const applyChanges = async (t: StorageTransaction, out: OutreachEvent[], changes: MessageChange[]) => {
    if (changes.length === 0) return { changed: 0, messages: [] as MessageRecord[] };
    // One lock order everywhere: campaign rows (sorted) before counters, so that two transactions
    // never wait on each other's campaign and counter locks (a deadlock on a shared database).
    const campaignIds = [...new Set(changes.map((c) => c.message.campaignId))].sort();
    for (const id of campaignIds) await t.getCampaign(id, { forUpdate: true });
    const r = await applyMessageChanges(t, steppers, changes, listeners.size > 0);
    for (const e of r.statusEvents) out.push(e);
    await progressCampaigns(t, out, r.campaigns);
    return r;
  };

  /** Steps every message of a campaign in the given machine states with one event, batch by batch. */
  const forEachMessageIn = async (
    campaignId: string,
    states: readonly string[],
    makeEvent: (m: MessageRecord, at: number) => MessageEvent | null,
    t: StorageTransaction,
    out: OutreachEvent[],
  ) => {
    for (const state of states) {
      for (;;) {
        const batch = await t.claimMessages(campaignId, state, batchSize);
        if (batch.length === 0) break;
        const at = clock.now();
        const changes: MessageChange[] = [];
        for (const m of batch) {
          const event = makeEvent(m, at);
          if (event) changes.push({ message: m, event });
        }
        const r = await applyChanges(t, out, changes);
        if (r.changed === 0) break; // nothing moved out of this state: stop, never loop for ever
      }
    }
  };

  // ── commands ────────────────────────────────────────────────────────────

  const view = async (t: StorageTransaction, c: CampaignRecord) => campaignView(c, await t.getCounters(c.id));

  const createCampaign = async (input: CreateCampaignInput) => {
    const parsed = CreateSchema.safeParse(input);
    if (!parsed.success) throw invalid('The campaign', parsed.error);
    const p = parsed.data;
    const content = p.content === undefined ? null : parseContent(p.channel, p.content);
    return tx(async (t) => {
      const now = clock.now();
      const record: CampaignRecord = {
        id: createId('cmp'),
        scope: p.scope ?? defaultScope,
        channel: p.channel,
        name: p.name,
        description: p.description ?? '',
        status: 'draft',
        state: initialCampaignState(p.channel),
        content,
        metadata: p.metadata ?? {},
        messageCount: 0,
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        finishedAt: null,
      };
      await t.insertCampaign(record);
      return view(t, record);
    });
  };

  const knownFields = async (t: StorageTransaction, campaignId: string): Promise<string[]> => {
    const fields = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await t.listContacts(campaignId, { after, limit: 1000 });
      for (const c of page) for (const k of Object.keys(c.fields)) fields.add(k);
      if (page.length < 1000) break;
      after = page[page.length - 1]?.id;
    }
    return [...fields];
  };

  const updateCampaign = async (id: string, patch: UpdateCampaignInput) => {
    const parsed = UpdateSchema.safeParse(patch);
    if (!parsed.success) throw invalid('The campaign update', parsed.error);
    return tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      const moved = await moveCampaign(t, out, c, { type: 'EDIT' }, 'edit');
      const content = parsed.data.content === undefined ? c.content : parseContent(c.channel, parsed.data.content);
      if (c.status !== 'draft' && content) renderer.validate(c.channel, content, await knownFields(t, id));
      const updated: CampaignRecord = {
        ...moved,
        name: parsed.data.name ?? c.name,
        description: parsed.data.description ?? c.description,
        metadata: parsed.data.metadata ?? c.metadata,
        content,
        updatedAt: clock.now(),
      };
      await t.updateCampaign(updated);
      return view(t, updated);
    });
  };

  const addContacts = async (id: string, input: readonly ContactInput[]) => {
    const parsed = ContactsSchema.safeParse(input);
    if (!parsed.success) throw invalid('The contacts', parsed.error);
    const contacts = parsed.data;
    return tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      await moveCampaign(t, out, c, { type: 'EDIT_CONTACTS' }, 'addContacts');
      const rejected: { index: number; address: string; reason: string }[] = [];
      const good: { index: number; address: string; fields: Record<string, string> }[] = [];
      contacts.forEach((input, index) => {
        const r = normalize(c.channel, input.address);
        if (!r.ok) rejected.push({ index, address: input.address, reason: r.message });
        else good.push({ index, address: r.address, fields: { ...(input.fields ?? {}) } });
      });
      const existing = await t.existingAddresses(
        id,
        good.map((g) => g.address),
      );
      const seen = new Set<string>();
      let duplicates = 0;
      const now = clock.now();
      const rows: ContactRecord[] = [];
      for (const g of good) {
        if (existing.has(g.address) || seen.has(g.address)) {
          duplicates++;
          continue;
        }
        seen.add(g.address);
        rows.push({ id: createId('ctc'), campaignId: id, address: g.address, fields: g.fields, createdAt: now });
      }
      for (let i = 0; i < rows.length; i += batchSize) await t.insertContacts(rows.slice(i, i + batchSize));
      return { added: rows.length, duplicates, rejected };
    });
  };

  const importContacts = async (id: string, source: CsvSource, opts: ImportContactsOptions = {}) => {
    const draft = async (t: StorageTransaction) => {
      const c = await mustGetCampaign(t, id);
      if (!campaignCan(c.state, { type: 'EDIT_CONTACTS' })) refuse(c, 'addContacts');
      return c;
    };
    const c = await tx(draft);
    return importContactsCsv(
      source,
      {
        channel: c.channel,
        defaultCountry: opts.defaultCountry ?? options.defaultCountry,
        allowedCountries: opts.allowedCountries ?? options.allowedCountries,
        ...(opts.addressColumn ? { addressColumn: opts.addressColumn } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        existing: (addresses: string[]) => tx((t) => t.existingAddresses(id, addresses)),
      },
      (rows) =>
        tx(async (t) => {
          await draft(t);
          const now = clock.now();
          await t.insertContacts(
            rows.map((r) => ({
              id: createId('ctc'),
              campaignId: id,
              address: r.address,
              fields: r.fields,
              createdAt: now,
            })),
          );
        }),
    );
  };

  const removeContacts = (id: string, contactIds?: readonly string[]) =>
    tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      await moveCampaign(t, out, c, { type: 'EDIT_CONTACTS' }, 'addContacts');
      return t.deleteContacts(id, contactIds);
    });

  const save = (id: string) =>
    tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      if (!campaignCan(c.state, { type: 'SAVE' })) refuse(c, 'save');
      if (!c.content) {
        throw new OutreachError(
          'VALIDATION_FAILED',
          `Campaign "${c.name}" has no content yet; set it with updateCampaign before saving.`,
          {
            details: { campaignId: id },
          },
        );
      }
      const count = await t.countContacts(id);
      if (count === 0) {
        throw new OutreachError(
          'VALIDATION_FAILED',
          `Campaign "${c.name}" has no contacts; add or import at least one before saving.`,
          {
            details: { campaignId: id },
          },
        );
      }
      renderer.validate(c.channel, c.content, await knownFields(t, id));
      const now = clock.now();
      const initial = steppers[c.channel].initial(now);
      let after: string | undefined;
      let created = 0;
      const unfillable: { contactId: string; address: string; missing: string[] }[] = [];
      for (;;) {
        const page = await t.listContacts(id, { after, limit: batchSize });
        if (page.length === 0) break;
        const rows: MessageRecord[] = [];
        for (const contact of page) {
          const missing = renderer.missingFields(c.channel, c.content, contact.fields);
          if (missing.length) {
            if (unfillable.length < 20) unfillable.push({ contactId: contact.id, address: contact.address, missing });
            continue;
          }
          rows.push({
            id: createId('msg'),
            campaignId: id,
            contactId: contact.id,
            scope: c.scope,
            channel: c.channel,
            to: contact.address,
            status: initial.status,
            state: initial.state,
            context: initial.context,
            createdAt: now,
            updatedAt: now,
          });
        }
        if (unfillable.length === 0) {
          await t.insertMessages(rows);
          created += rows.length;
        }
        after = page[page.length - 1]?.id;
      }
      if (unfillable.length) {
        throw new OutreachError(
          'TEMPLATE_INVALID',
          `Campaign "${c.name}" cannot be saved: some contacts cannot fill the template (e.g. ${unfillable
            .slice(0, 3)
            .map((u) => `${u.address} lacks ${u.missing.join(', ')}`)
            .join('; ')}). Give those variables a default ({{name|default}}) or fill the fields.`,
          { details: { campaignId: id, contacts: unfillable } },
        );
      }
      await t.addCounters([{ campaignId: id, counts: { waiting: created } }]);
      const moved = await moveCampaign(t, out, { ...c, messageCount: created }, { type: 'SAVE' }, 'save');
      return view(t, moved);
    });

  /** Puts every waiting message of a campaign in the queue (suppressed contacts opt out instead). */
  const queueWaiting = async (t: StorageTransaction, out: OutreachEvent[], c: CampaignRecord) => {
    for (;;) {
      const batch = await t.claimMessages(c.id, 'waiting', batchSize);
      if (batch.length === 0) break;
      const suppressed = await t.suppressedAmong(
        c.scope,
        c.channel,
        batch.map((m) => m.to),
      );
      const at = clock.now();
      const r = await applyChanges(
        t,
        out,
        batch.map((m) => ({
          message: m,
          event: suppressed.has(m.to) ? { type: 'OPT_OUT', at, source: 'suppression_list' } : { type: 'QUEUE', at },
        })),
      );
      if (r.changed === 0) break;
    }
  };

  const startCampaign = async (t: StorageTransaction, out: OutreachEvent[], c: CampaignRecord) => {
    await t.deleteDeadlines([startKey(c.id)]);
    const moved = await moveCampaign(t, out, c, { type: 'RUN' }, 'run');
    await queueWaiting(t, out, moved);
    const counters = await t.getCounters(c.id);
    return moveCampaign(
      t,
      out,
      (await t.getCampaign(c.id)) ?? moved,
      { type: 'PROGRESS', counts: counters.counts },
      null,
    );
  };

  const afterCommand = <T>(p: Promise<T>): Promise<T> =>
    p.then(async (v) => {
      await startDueScheduled();
      worker.kick();
      return v;
    });

  const run = (id: string) =>
    afterCommand(
      tx(async (t, out) => {
        const c = await mustGetCampaign(t, id);
        return view(t, await startCampaign(t, out, c));
      }),
    );

  const schedule = async (id: string, at: Date | number) => {
    const parsed = ScheduleAtSchema.safeParse(at);
    const time = parsed.success ? (parsed.data instanceof Date ? parsed.data.getTime() : parsed.data) : Number.NaN;
    if (!Number.isFinite(time)) {
      throw new OutreachError(
        'VALIDATION_FAILED',
        'The schedule time must be a valid Date or a number of milliseconds since the epoch.',
      );
    }
    return afterCommand(
      tx(async (t, out) => {
        const c = await mustGetCampaign(t, id);
        const moved = await moveCampaign(t, out, c, { type: 'SCHEDULE', at: time }, 'schedule');
        await t.upsertDeadlines([
          {
            id: startKey(id),
            kind: 'campaign',
            entityId: id,
            campaignId: id,
            fireAt: time,
            event: { type: 'START_DUE' },
          },
        ]);
        return view(t, moved);
      }),
    );
  };

  /** A command that moves the campaign, then does its work on the messages (`after`). */
  const simple =
    (
      event: CampaignEvent,
      action: CampaignAction,
      after?: (t: StorageTransaction, out: OutreachEvent[], c: CampaignRecord) => Promise<void>,
    ) =>
    (id: string) =>
      afterCommand(
        tx(async (t, out) => {
          const c = await mustGetCampaign(t, id);
          const moved = await moveCampaign(t, out, c, event, action);
          if (after) await after(t, out, moved);
          return view(t, (await t.getCampaign(id)) ?? moved);
        }),
      );

  /** Re-derives a campaign's status from its counters (after a resume, messages may all be final). */
  const rederive = async (t: StorageTransaction, out: OutreachEvent[], c: CampaignRecord) => {
    await moveCampaign(t, out, c, { type: 'PROGRESS', counts: (await t.getCounters(c.id)).counts }, null);
  };

  const stop = simple({ type: 'STOP' }, 'stop', async (t, out, c) => {
    await t.deleteDeadlines([startKey(c.id)]);
    await forEachMessageIn(c.id, ['waiting', 'queued', 'backoff'], (_m, at) => ({ type: 'CANCEL', at }), t, out);
  });

  const close = simple({ type: 'CLOSE' }, 'close', async (t, out, c) => {
    await forEachMessageIn(
      c.id,
      ['waiting', 'queued', 'backoff', 'sending', 'sent', 'retrying'],
      (_m, at) => ({ type: 'CLOSE', at }),
      t,
      out,
    );
    await rederive(t, out, (await t.getCampaign(c.id)) ?? c);
  });

  const retryFailed = (id: string, opts: { messageIds?: readonly string[] } = {}) =>
    afterCommand(
      tx(async (t, out) => {
        const c = await mustGetCampaign(t, id);
        if (!campaignCan(c.state, { type: 'RETRY_FAILED' })) refuse(c, 'retryFailed');
        const candidates: MessageRecord[] = [];
        if (opts.messageIds) {
          const found = await t.lockMessages(opts.messageIds);
          const byId = new Map(found.map((m) => [m.id, m]));
          for (const mid of opts.messageIds) {
            const m = byId.get(mid);
            if (!m || m.campaignId !== id) {
              throw new OutreachError('NOT_FOUND', `Message ${mid} is not a message of campaign ${id}.`, {
                details: { messageId: mid },
              });
            }
            if (m.status !== 'failed' || !m.context.reason || !FAILURE_REASONS[m.context.reason].retryable) {
              const label = m.context.reason ? FAILURE_REASONS[m.context.reason].label : m.status;
              throw new OutreachError(
                'NOT_RETRYABLE',
                `Message ${mid} to ${m.to} cannot be retried: it is ${m.status}${m.context.reason ? ` (${label})` : ''}. ${
                  m.context.reason === 'unreachable' || m.context.reason === 'landline_or_unreachable_carrier'
                    ? 'Unreachable numbers will not deliver if resent.'
                    : 'Only failures with a retryable reason can be retried.'
                }`,
                { details: { messageId: mid, status: m.status, reason: m.context.reason } },
              );
            }
            candidates.push(m);
          }
        } else {
          let after: string | undefined;
          for (;;) {
            const page = await t.listMessages(id, { statuses: ['failed'], after, limit: batchSize });
            candidates.push(...page);
            if (page.length < batchSize) break;
            after = page[page.length - 1]?.id;
          }
        }
        const retryable = candidates.filter((m) => m.context.reason && FAILURE_REASONS[m.context.reason].retryable);
        if (retryable.length === 0) {
          throw new OutreachError(
            'NOT_RETRYABLE',
            `Campaign "${c.name}" has no failed messages with a retryable reason (unreachable, invalid, unsupported country and opted-out numbers are never resent).`,
            { details: { campaignId: id, failed: candidates.length } },
          );
        }
        const moved = await moveCampaign(t, out, c, { type: 'RETRY_FAILED' }, 'retryFailed');
        void moved;
        const at = clock.now();
        for (let i = 0; i < retryable.length; i += batchSize) {
          const fresh = await t.lockMessages(retryable.slice(i, i + batchSize).map((m) => m.id));
          await applyChanges(
            t,
            out,
            fresh.map((m) => ({ message: m, event: { type: 'RETRY', at } })),
          );
        }
        return { retried: retryable.length, skipped: candidates.length - retryable.length };
      }),
    );

  const deleteCampaign = (id: string) =>
    tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      const counters = await t.getCounters(id);
      if (!campaignCan(c.state, { type: 'DELETE', inFlight: inFlightCount(counters.counts) })) refuse(c, 'delete');
      void out;
      await t.deleteCampaign(id);
    });

  const optOut = (input: { channel: Channel; address: string; scope?: string; messageId?: string; source?: string }) =>
    tx(async (t, out) => {
      const source = input.source ?? 'manual';
      const at = clock.now();
      if (input.messageId) {
        const [m] = await t.lockMessages([input.messageId]);
        if (!m) throw new OutreachError('NOT_FOUND', `Message ${input.messageId} does not exist.`);
        await t.addSuppressions([{ scope: m.scope, channel: m.channel, address: m.to, source, at }]);
        const c = await t.getCampaign(m.campaignId);
        if (c && c.status !== 'archived')
          await applyChanges(t, out, [{ message: m, event: { type: 'OPT_OUT', at, source } }]);
        return;
      }
      const r = normalize(input.channel, input.address);
      if (!r.ok) throw new OutreachError('VALIDATION_FAILED', `Cannot opt out "${input.address}": ${r.message}`);
      await t.addSuppressions([
        { scope: input.scope ?? defaultScope, channel: input.channel, address: r.address, source, at },
      ]);
    });

  const optIn = (input: { channel: Channel; address: string; scope?: string }) =>
    tx(async (t) => {
      const r = normalize(input.channel, input.address);
      if (!r.ok) throw new OutreachError('VALIDATION_FAILED', `Cannot opt in "${input.address}": ${r.message}`);
      return t.removeSuppression(input.scope ?? defaultScope, input.channel, r.address);
    });

  const isSuppressed = (input: { channel: Channel; address: string; scope?: string }) =>
    tx(async (t) => {
      const r = normalize(input.channel, input.address);
      if (!r.ok) return false;
      return (await t.suppressedAmong(input.scope ?? defaultScope, input.channel, [r.address])).has(r.address);
    });

  // ── ingest ──────────────────────────────────────────────────────────────

  const toMessageEvent = (e: StatusEvent, at: number): MessageEvent | null => {
    switch (e.status) {
      case 'sending':
        return {
          type: 'PROVIDER_SENDING',
          at,
          ...(e.providerMessageId ? { providerMessageId: e.providerMessageId } : {}),
        };
      case 'sent':
        return {
          type: 'PROVIDER_SENT',
          at,
          ...(e.providerMessageId ? { providerMessageId: e.providerMessageId } : {}),
        };
      case 'delivered':
        return { type: 'PROVIDER_DELIVERED', at };
      case 'failed':
        return { type: 'PROVIDER_FAILED', at, reason: e.reason ?? 'unknown', ...(e.code ? { code: e.code } : {}) };
      case 'deferred':
        return { type: 'PROVIDER_DEFERRED', at, ...(e.attempt !== undefined ? { attempt: e.attempt } : {}) };
      case 'opted_out':
        return { type: 'OPT_OUT', at, source: e.providerStatus ?? 'provider' };
      default:
        return null;
    }
  };

  const ingest = async (events: readonly ProviderEvent[]): Promise<IngestResult> => {
    const parsed = z.array(ProviderEventSchema).max(10_000).safeParse(events);
    if (!parsed.success) throw invalid('The provider events', parsed.error);
    const list = parsed.data as ProviderEvent[];
    const result = await tx(async (t, out) => {
      let duplicates = 0;
      let ignored = 0;
      let unmatched = 0;
      let applied = 0;
      const keys: string[] = [];
      const keyOwner: number[] = [];
      list.forEach((e, i) => {
        if (e.eventId) {
          keys.push(`id:${e.eventId}`);
          keyOwner.push(i);
        }
        if (e.type === 'status' && e.dedupeKey) {
          keys.push(`key:${e.dedupeKey}`);
          keyOwner.push(i);
        }
      });
      const fresh = keys.length ? await t.markSeen(keys) : [];
      const dup = new Set<number>();
      fresh.forEach((isNew, k) => {
        if (!isNew) dup.add(keyOwner[k] as number);
      });
      duplicates = dup.size;
      const at = clock.now();
      const statusEvents: StatusEvent[] = [];
      for (let i = 0; i < list.length; i++) {
        if (dup.has(i)) continue;
        const e = list[i] as ProviderEvent;
        if (e.type === 'suppression') {
          const s = e as SuppressionEvent;
          const r = normalize(s.channel, s.address);
          if (!r.ok) {
            ignored++;
            continue;
          }
          const scope = s.scope ?? defaultScope;
          if (s.action === 'opt_out') {
            await t.addSuppressions([
              { scope, channel: s.channel, address: r.address, source: s.source ?? 'inbound', at },
            ]);
            applied++;
          } else if (await t.removeSuppression(scope, s.channel, r.address)) applied++;
          else ignored++;
        } else statusEvents.push(e);
      }
      const byId = await t.lockMessages(statusEvents.flatMap((e) => (e.messageId ? [e.messageId] : [])));
      const messages = new Map(byId.map((m) => [m.id, m]));
      const needProvider = statusEvents.filter(
        (e) => !(e.messageId && messages.has(e.messageId)) && e.providerMessageId,
      );
      const byProvider = new Map<string, MessageRecord>();
      for (const channel of ['sms', 'email'] as const) {
        const ids = needProvider.filter((e) => e.channel === channel).map((e) => e.providerMessageId as string);
        if (ids.length)
          for (const [k, v] of await t.lockMessagesByProviderId(channel, ids)) byProvider.set(`${channel}|${k}`, v);
      }
      const changes: MessageChange[] = [];
      const campaigns = new Map<string, CampaignRecord | undefined>();
      const engagement = new Map<string, { opens: number; clicks: number }>();
      const suppress: { scope: string; channel: Channel; address: string; source: string; at: number }[] = [];
      for (const e of statusEvents) {
        const m =
          (e.messageId ? messages.get(e.messageId) : undefined) ??
          (e.providerMessageId ? byProvider.get(`${e.channel}|${e.providerMessageId}`) : undefined);
        if (!m || m.channel !== e.channel) {
          unmatched++;
          continue;
        }
        if (!campaigns.has(m.campaignId)) campaigns.set(m.campaignId, await t.getCampaign(m.campaignId));
        if (campaigns.get(m.campaignId)?.status === 'archived') {
          ignored++; // archived campaigns keep their statuses as they are (seed 001)
          continue;
        }
        if (e.status === 'engagement') {
          const g = engagement.get(m.campaignId) ?? { opens: 0, clicks: 0 };
          if (e.engagement === 'click') g.clicks++;
          else g.opens++;
          engagement.set(m.campaignId, g);
          applied++;
          continue;
        }
        if (e.status === 'opted_out')
          suppress.push({
            scope: m.scope,
            channel: m.channel,
            address: m.to,
            source: e.providerStatus ?? 'provider',
            at,
          });
        const event = toMessageEvent(e, at);
        if (!event) {
          ignored++;
          continue;
        }
        const detail: Record<string, unknown> = {};
        if (e.providerStatus) detail.providerStatus = e.providerStatus;
        if (e.code) detail.code = e.code;
        if (e.occurredAt !== undefined) detail.occurredAt = e.occurredAt;
        if (e.detail) detail.detail = e.detail;
        changes.push({ message: m, event, detail });
      }
      if (suppress.length) await t.addSuppressions(suppress);
      if (engagement.size) {
        await t.addCounters(
          [...engagement.entries()].map(([campaignId, g]) => ({ campaignId, opens: g.opens, clicks: g.clicks })),
        );
      }
      const r = await applyChanges(t, out, changes);
      applied += r.changed;
      ignored += changes.length - r.changed;
      return { applied, duplicates, ignored, unmatched };
    });
    await startDueScheduled();
    worker.kick();
    return result;
  };

  // ── worker: deadlines and dispatch ──────────────────────────────────────

  const startDueScheduled = async () => {
    while (channelFreed.length) {
      const [scope, channel] = channelFreed.shift() as [string, Channel];
      const now = clock.now();
      const due = (await tx((t) => t.listCampaigns({ scope, channel, statuses: ['scheduled'] }))).filter(
        (c) => (c.state.context.scheduledAt ?? Number.POSITIVE_INFINITY) <= now,
      );
      due.sort((a, b) => (a.state.context.scheduledAt ?? 0) - (b.state.context.scheduledAt ?? 0));
      const first = due[0];
      if (first) await tryStartScheduled(first.id);
    }
  };

  const tryStartScheduled = async (id: string) => {
    try {
      await tx(async (t, out) => {
        const c = await t.getCampaign(id, { forUpdate: true });
        if (c?.status !== 'scheduled') return;
        const holder = await t.channelHolder(c.scope, c.channel);
        if (holder !== undefined && holder !== c.id) return; // starts when the channel is released
        await startCampaign(t, out, c);
      });
    } catch (error) {
      onError(error);
    }
  };

  const fireDue = async (): Promise<number> => {
    let fired = 0;
    for (;;) {
      const now = clock.now();
      const startable: string[] = [];
      const n = await tx(async (t, out) => {
        const due = await t.takeDueDeadlines(now, batchSize);
        if (due.length === 0) return 0;
        const messageDeadlines = due.filter((d) => d.kind === 'message');
        for (const d of due) if (d.kind === 'campaign') startable.push(d.entityId);
        const locked = await t.lockMessages(messageDeadlines.map((d) => d.entityId));
        const byId = new Map(locked.map((m) => [m.id, m]));
        const frozen = new Set<string>();
        for (const cid of new Set(locked.map((m) => m.campaignId))) {
          if ((await t.getCampaign(cid))?.status === 'archived') frozen.add(cid);
        }
        const changes: MessageChange[] = [];
        for (const d of messageDeadlines) {
          const m = byId.get(d.entityId);
          if (!m || frozen.has(m.campaignId)) continue;
          changes.push({ message: m, event: { ...d.event, at: d.fireAt } });
        }
        await applyChanges(t, out, changes);
        return due.length;
      });
      for (const id of startable) await tryStartScheduled(id);
      fired += n;
      if (n < batchSize) break;
    }
    await startDueScheduled();
    return fired;
  };

  const inFlightSends: Record<Channel, number> = { sms: 0, email: 0 };

  const resultEvent = (r: SendResult, at: number): MessageEvent => {
    switch (r.outcome) {
      case 'accepted':
        return {
          type: 'SEND_ACCEPTED',
          at,
          ...(r.providerMessageId ? { providerMessageId: r.providerMessageId } : {}),
        };
      case 'presend':
        return {
          type: 'SEND_PRESEND_ERROR',
          at,
          error: r.error.slice(0, 2000),
          ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}),
        };
      case 'rejected':
        return {
          type: 'SEND_REJECTED',
          at,
          reason: r.reason,
          error: r.error.slice(0, 2000),
          ...(r.code ? { code: r.code } : {}),
        };
      default:
        return { type: 'SEND_UNKNOWN', at, error: r.error.slice(0, 2000) };
    }
  };

  /** Dispatches one round for one channel; returns how many messages were handed to the transport. */
  const dispatchChannel = async (channel: Channel): Promise<{ sent: number; waiting: boolean }> => {
    const transport = transports[channel];
    if (!transport) return { sent: 0, waiting: false };
    const concurrency = transport.limits?.concurrency ?? 16;
    const campaigns = await tx((t) => t.listCampaigns({ channel, statuses: ['in_progress'] }));
    let sent = 0;
    let waiting = false;
    for (const campaign of campaigns) {
      const free = Math.min(concurrency - inFlightSends[channel], batchSize);
      if (free <= 0) {
        waiting = true;
        break;
      }
      const now = clock.now();
      const claimed = await tx(async (t, out) => {
        const c = await t.getCampaign(campaign.id, { forUpdate: true });
        if (c?.status !== 'in_progress' || !c.content) return [];
        const allowed = Math.min(free, limiters[channel].available(now));
        if (allowed === 0) {
          // Rate-limited: wake at the next slot only if something is waiting for it.
          if ((await t.claimMessages(c.id, 'queued', 1)).length > 0) waiting = true;
          return [];
        }
        const batch = await t.claimMessages(c.id, 'queued', allowed);
        if (batch.length === 0) return [];
        if (batch.length === allowed && allowed < free) waiting = true;
        const suppressed = await t.suppressedAmong(
          c.scope,
          channel,
          batch.map((m) => m.to),
        );
        const contacts = await t.getContacts(batch.map((m) => m.contactId));
        const changes: MessageChange[] = [];
        const outgoing: { message: MessageRecord; payload: OutgoingSms | OutgoingEmail | null; error?: string }[] = [];
        for (const m of batch) {
          if (suppressed.has(m.to)) {
            changes.push({ message: m, event: { type: 'OPT_OUT', at: now, source: 'suppression_list' } });
            continue;
          }
          const contact = contacts.get(m.contactId);
          try {
            const payload = await renderer.render(
              c,
              m,
              contact?.fields ?? {},
              m.context.attempts + 1,
              options.unsubscribe,
            );
            changes.push({ message: m, event: { type: 'DISPATCH', at: now } });
            outgoing.push({ message: m, payload });
          } catch (error) {
            changes.push({
              message: m,
              event: { type: 'DISPATCH', at: now },
            });
            outgoing.push({ message: m, payload: null, error: error instanceof Error ? error.message : String(error) });
          }
        }
        await applyChanges(t, out, changes);
        return outgoing;
      });
      if (claimed.length === 0) continue;
      inFlightSends[channel] += claimed.length;
      const sending = claimed.map(async ({ message, payload, error }): Promise<[MessageRecord, SendResult]> => {
        if (!payload)
          return [message, { outcome: 'rejected', reason: 'failed_to_create', error: error ?? 'render failed' }];
        try {
          const r = await (transport as { send(m: unknown): Promise<SendResult> }).send(payload);
          return [message, r];
        } catch (e) {
          // A transport that throws broke its contract; it may have sent, so never resend.
          onError(e);
          return [message, { outcome: 'unknown', error: e instanceof Error ? e.message : String(e) }];
        } finally {
          inFlightSends[channel]--;
        }
      });
      // Recorded once every send has started (each `send` is called synchronously above), so a slot frees
      // 1,000 ms after the latest start: no window the transport sees ever holds more than the limit.
      limiters[channel].record(clock.now(), claimed.length);
      const results = await Promise.all(sending);
      sent += claimed.length;
      const fatal = results.find(([, r]) => r.outcome === 'rejected' && r.fatal);
      await tx(async (t, out) => {
        const at = clock.now();
        const locked = await t.lockMessages(results.map(([m]) => m.id));
        const byId = new Map(locked.map((m) => [m.id, m]));
        const changes: MessageChange[] = [];
        for (const [m, r] of results) {
          const current = byId.get(m.id);
          if (current)
            changes.push({
              message: current,
              event: resultEvent(r, at),
              detail: r.outcome === 'accepted' ? undefined : { error: 'error' in r ? r.error : undefined },
            });
        }
        await applyChanges(t, out, changes);
        if (fatal) {
          const c = await t.getCampaign(campaign.id, { forUpdate: true });
          const cause = `The ${transport.name} transport refused the account: ${(fatal[1] as { error: string }).error}`;
          if (c && campaignCan(c.state, { type: 'FAIL', cause }))
            await moveCampaign(t, out, c, { type: 'FAIL', cause }, null, 'transport_refused_credentials');
        }
      });
    }
    return { sent, waiting };
  };

  let timer: TimerHandle | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let started = false;
  let busy: Promise<void> | null = null;
  let again = false;

  const arm = (at: number) => {
    if (!started) return;
    if (timer !== undefined && timerAt <= at) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timerAt = at;
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        return runOnce().catch(onError);
      },
      Math.max(0, at - clock.now()),
    );
  };

  const runOnce = (): Promise<void> => {
    if (busy) {
      again = true;
      return busy;
    }
    busy = (async () => {
      try {
        let rateWait = false;
        for (let round = 0; round < 1_000_000; round++) {
          again = false;
          const fired = await fireDue();
          const [sms, email] = await Promise.all([dispatchChannel('sms'), dispatchChannel('email')]);
          rateWait = sms.waiting || email.waiting;
          if (fired === 0 && sms.sent === 0 && email.sent === 0 && !again) break;
        }
        const now = clock.now();
        let next = (await tx((t) => t.nextDeadlineAt())) ?? Number.POSITIVE_INFINITY;
        if (rateWait) {
          for (const ch of ['sms', 'email'] as const)
            if (transports[ch]) next = Math.min(next, Math.max(now + 1, limiters[ch].nextSlot(now)));
        }
        if (pollMs !== undefined) next = Math.min(next, now + pollMs);
        if (Number.isFinite(next)) arm(next);
      } catch (error) {
        // The failed transaction rolled back; try again shortly rather than stall the campaign for ever.
        arm(clock.now() + WORKER_RETRY_MS);
        throw error;
      } finally {
        busy = null;
      }
    })();
    return busy;
  };

  const worker: OutreachWorker & { kick(): void } = {
    start() {
      if (started) return;
      started = true;
      for (const t of Object.values(transports)) t?.connect?.(outreach);
      arm(clock.now());
    },
    async stop() {
      started = false;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      if (busy) await busy;
    },
    runOnce,
    get running() {
      return started;
    },
    kick() {
      if (started) arm(clock.now());
    },
  };

  // ── queries ─────────────────────────────────────────────────────────────

  const outreach: Outreach = {
    policy,
    clock,
    storage,
    createCampaign,
    updateCampaign,
    addContacts,
    importContacts,
    removeContacts,
    save,
    schedule,
    unschedule: (id) =>
      afterCommand(
        tx(async (t, out) => {
          const c = await mustGetCampaign(t, id);
          const moved = await moveCampaign(t, out, c, { type: 'UNSCHEDULE' }, 'unschedule');
          await t.deleteDeadlines([startKey(id)]);
          return view(t, moved);
        }),
      ),
    run,
    pause: simple({ type: 'PAUSE' }, 'pause'),
    resume: simple({ type: 'RESUME' }, 'resume', rederive),
    stop,
    close,
    retryFailed,
    retryCampaign: simple({ type: 'RETRY_CAMPAIGN' }, 'retryCampaign'),
    archive: simple({ type: 'ARCHIVE' }, 'archive'),
    delete: deleteCampaign,
    optOut,
    optIn,
    isSuppressed,
    ingest,
    getCampaign: (id) =>
      tx(async (t) => {
        const c = await t.getCampaign(id);
        if (!c) throw new OutreachError('NOT_FOUND', `Campaign ${id} does not exist.`, { details: { campaignId: id } });
        return view(t, c);
      }),
    listCampaigns: (filter = {}) =>
      tx(async (t) => Promise.all((await t.listCampaigns(filter)).map((c) => view(t, c)))),
    getMessage: (id) =>
      tx(async (t) => {
        const m = await t.getMessage(id);
        if (!m) throw new OutreachError('NOT_FOUND', `Message ${id} does not exist.`, { details: { messageId: id } });
        return { ...m, log: await t.listLog(id) };
      }),
    listMessages: (campaignId, filter = {}) =>
      tx((t) =>
        t.listMessages(campaignId, { statuses: filter.statuses, after: filter.after, limit: filter.limit ?? 1000 }),
      ),
    listContacts: (campaignId, page = {}) =>
      tx((t) => t.listContacts(campaignId, { after: page.after, limit: page.limit ?? 1000 })),
    getStats: (campaignId) =>
      tx(async (t) => {
        const c = await t.getCampaign(campaignId);
        if (!c)
          throw new OutreachError('NOT_FOUND', `Campaign ${campaignId} does not exist.`, { details: { campaignId } });
        const { counts, opens, clicks } = await t.getCounters(campaignId);
        const delivered = counts.delivered + counts.assumed_delivered;
        const failed = counts.failed + counts.opted_out + counts.cancelled;
        return {
          campaignId,
          status: c.status,
          total: c.messageCount,
          counts,
          done: delivered + failed,
          delivered,
          pending: c.messageCount - delivered - failed,
          failed,
          opens,
          clicks,
        };
      }),
    preview: (campaignId, contactId) =>
      tx(async (t) => {
        const c = await t.getCampaign(campaignId);
        if (!c)
          throw new OutreachError('NOT_FOUND', `Campaign ${campaignId} does not exist.`, { details: { campaignId } });
        const contact = await t.getContact(contactId);
        if (!contact || contact.campaignId !== campaignId) {
          throw new OutreachError('NOT_FOUND', `Contact ${contactId} is not a contact of campaign ${campaignId}.`, {
            details: { campaignId, contactId },
          });
        }
        if (!c.content)
          throw new OutreachError('VALIDATION_FAILED', `Campaign "${c.name}" has no content to preview yet.`);
        const now = clock.now();
        const message: MessageRecord = {
          id: 'msg_preview',
          campaignId,
          contactId,
          scope: c.scope,
          channel: c.channel,
          to: contact.address,
          ...steppers[c.channel].initial(now),
          createdAt: now,
          updatedAt: now,
        };
        return renderer.render(c, message, contact.fields, 1, options.unsubscribe);
      }),
    exportCampaigns: (filter = {}) =>
      campaignsCsv(
        (async function* () {
          let after: string | undefined;
          for (;;) {
            const page = await tx(async (t) =>
              Promise.all(
                (await t.listCampaigns({ ...filter, after, limit: 500 })).map(async (campaign) => ({
                  campaign,
                  counters: await t.getCounters(campaign.id),
                })),
              ),
            );
            yield* page;
            if (page.length < 500) return;
            after = page[page.length - 1]?.campaign.id;
          }
        })(),
      ),
    exportMessages: (campaignId, opts = {}) =>
      messagesCsv(
        (async function* () {
          let after: string | undefined;
          for (;;) {
            const page = await tx(async (t) => {
              const ms = await t.listMessages(campaignId, { after, limit: 1000 });
              const contacts = opts.fields?.length ? await t.getContacts(ms.map((m) => m.contactId)) : undefined;
              return ms.map((message) => ({ message, contact: contacts?.get(message.contactId) ?? null }));
            });
            yield* page;
            if (page.length < 1000) return;
            after = page[page.length - 1]?.message.id;
          }
        })(),
        opts.fields ? { fields: opts.fields } : {},
      ),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    worker,
  };
  return outreach;
}

export type { EmailContent, SmsContent };
