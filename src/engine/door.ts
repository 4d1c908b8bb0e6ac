/**
 * The door: every argument of every public method of the engine, and every engine option, is
 * checked here before anything reaches storage, so that a caller mistake is the same
 * `VALIDATION_FAILED` on every storage (strict objects: an unknown key is refused by name).
 */
import * as z from 'zod';
import { assertCountryCodes } from '../contacts/phone.js';
import { OutreachError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { checkedDuration } from '../policy.js';
import { SendingWindowSchema } from '../sending-window.js';
import { CAMPAIGN_STATUSES, type CampaignStatus, MESSAGE_STATUSES, type MessageStatus } from '../statuses.js';
import { parseInput, safeRecord, safeText } from '../validation.js';
import type { Outreach } from './outreach.js';

const Id = safeText(LIMITS.idLength).min(1, 'must be a non-empty id');
const Channel = z.enum(['sms', 'email']);
const Scope = safeText(LIMITS.scopeLength).trim().min(1, 'must not be empty');
const Address = safeText(LIMITS.addressLength);
const FieldName = safeText(LIMITS.fieldNameLength);
const Fields = safeRecord(LIMITS.fieldsPerContact, LIMITS.fieldNameLength, LIMITS.fieldValueLength);
const Metadata = safeRecord(LIMITS.metadataKeys, LIMITS.metadataKeyLength, LIMITS.metadataValueLength);
const Name = safeText(LIMITS.nameLength).trim().min(1, 'a campaign needs a name');
const Description = safeText(LIMITS.descriptionLength);
const Limit = z
  .int(`must be a whole number from 1 to ${LIMITS.pageLimit}`)
  .min(1, `must be a whole number from 1 to ${LIMITS.pageLimit}`)
  .max(LIMITS.pageLimit, `must be a whole number from 1 to ${LIMITS.pageLimit}`);
const BatchSize = z
  .int(`must be a whole number from 1 to ${LIMITS.batchSize}`)
  .min(1, `must be a whole number from 1 to ${LIMITS.batchSize}`)
  .max(LIMITS.batchSize, `must be a whole number from 1 to ${LIMITS.batchSize}`);
const CampaignStatuses = z
  .array(z.enum(CAMPAIGN_STATUSES as [CampaignStatus, ...CampaignStatus[]]))
  .max(LIMITS.statusesPerFilter);
const MessageStatuses = z
  .array(z.enum(MESSAGE_STATUSES as [MessageStatus, ...MessageStatus[]]))
  .max(LIMITS.statusesPerFilter);
const Ids = z.array(Id).max(LIMITS.idsPerCall, `must list at most ${LIMITS.idsPerCall} ids per call`);
const Country = z.string().max(8);
const Instant = z.union(
  [z.date(), z.number().finite()],
  'must be a valid Date or a number of milliseconds since the epoch',
);

const CampaignFilter = z.strictObject({
  scope: safeText(LIMITS.scopeLength).optional(),
  channel: Channel.optional(),
  statuses: CampaignStatuses.optional(),
});

const Schemas = {
  create: z.strictObject({
    name: Name,
    channel: Channel,
    scope: Scope.optional(),
    description: Description.optional(),
    content: z.unknown().optional(),
    metadata: Metadata.optional(),
    sendingWindow: SendingWindowSchema.nullable().optional(),
    deadline: Instant.nullable().optional(),
  }),
  update: z.strictObject({
    name: Name.optional(),
    description: Description.optional(),
    content: z.unknown().optional(),
    metadata: Metadata.optional(),
    sendingWindow: SendingWindowSchema.nullable().optional(),
    deadline: Instant.nullable().optional(),
  }),
  contacts: z
    .array(z.strictObject({ address: Address, fields: Fields.optional() }))
    .max(LIMITS.contactsPerCall, `add at most ${LIMITS.contactsPerCall} contacts per call; import a CSV for more`),
  importOptions: z.strictObject({
    defaultCountry: Country.optional(),
    allowedCountries: z.array(Country).max(300).optional(),
    addressColumn: FieldName.optional(),
    batchSize: BatchSize.optional(),
  }),
  at: z.union([z.date(), z.number()]),
  retry: z.strictObject({ messageIds: Ids.optional() }),
  optOut: z.strictObject({
    channel: Channel,
    address: Address,
    scope: Scope.optional(),
    messageId: Id.optional(),
    source: safeText(LIMITS.sourceLength).optional(),
  }),
  address: z.strictObject({ channel: Channel, address: Address, scope: Scope.optional() }),
  campaignFilter: CampaignFilter,
  send: z.strictObject({
    channel: Channel,
    to: Address,
    content: z.unknown(),
    fields: Fields.optional(),
    scope: Scope.optional(),
  }),
  messageFilter: z.strictObject({
    statuses: MessageStatuses.optional(),
    after: Id.optional(),
    limit: Limit.optional(),
  }),
  page: z.strictObject({ after: Id.optional(), limit: Limit.optional() }),
  optOutQuery: z.strictObject({
    channel: Channel.optional(),
    address: Address.optional(),
    scope: Scope.optional(),
    after: z.number().int('must be a whole number').min(0, 'must be 0 or more').optional(),
    limit: Limit.optional(),
  }),
  optOutExport: z.strictObject({ channel: Channel.optional(), scope: Scope.optional() }),
  exportOptions: z.strictObject({
    fields: z.array(FieldName).max(LIMITS.exportFields, `must name at most ${LIMITS.exportFields} fields`).optional(),
  }),
};

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function');
const withMethods = (...names: string[]) =>
  z.custom<object>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      names.every((n) => typeof (v as Record<string, unknown>)[n] === 'function'),
    `must be an object with ${names.join(', ')} methods`,
  );
const transport = (channel: 'sms' | 'email') =>
  z.custom<object>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as { send?: unknown }).send === 'function' &&
      (v as { channel?: unknown }).channel === channel,
    `must be a ${channel} transport (channel '${channel}' and a send method)`,
  );

const OptionsSchema = z.strictObject({
  storage: withMethods('transaction'),
  clock: withMethods('now', 'setTimeout', 'clearTimeout').optional(),
  transports: z.strictObject({ sms: transport('sms').optional(), email: transport('email').optional() }),
  policy: z.unknown().optional(), // resolvePolicy checks it field by field
  defaultScope: Scope.optional(),
  unsubscribe: z.strictObject({ baseUrl: safeText(2000).pipe(z.url()), secret: safeText(1000) }).optional(),
  batchSize: BatchSize.optional(),
  onError: fn.optional(),
  renderer: withMethods('validate', 'render', 'missingFields', 'normalizeAddress').optional(),
  defaultCountry: Country.optional(),
  allowedCountries: z.array(Country).max(300).optional(),
  pollInterval: z.unknown().optional(),
  claimLease: z.unknown().optional(),
});

/**
 * Checks the engine's options; returns the poll interval in ms (`undefined`: the default, `false`: never).
 * @throws OutreachError `VALIDATION_FAILED` naming the option.
 */
export function checkOptions(options: unknown): { pollMs: number | false | undefined; leaseMs: number } {
  const o = parseInput('createOutreach', 'options', OptionsSchema, options);
  assertCountryCodes([...(o.defaultCountry ? [o.defaultCountry] : []), ...(o.allowedCountries ?? [])]);
  const leaseMs =
    o.claimLease === undefined
      ? DEFAULT_CLAIM_LEASE_MS
      : checkedDuration('options.claimLease', o.claimLease, {
          min: LIMITS.minClaimLeaseMs,
          max: LIMITS.maxClaimLeaseMs,
        });
  const poll = o.pollInterval;
  if (poll === undefined || poll === false) return { pollMs: poll, leaseMs };
  return {
    pollMs: checkedDuration('options.pollInterval', poll, {
      min: LIMITS.minPollIntervalMs,
      max: LIMITS.maxPollIntervalMs,
    }),
    leaseMs,
  };
}

/** How long a claim holds messages that have not been handed to a transport. */
const DEFAULT_CLAIM_LEASE_MS = 30_000;

/** What `importContacts` reads: text, bytes, a stream or an iterable of chunks. */
function checkCsvSource(source: unknown): void {
  if (typeof source === 'string' || source instanceof Uint8Array) return;
  if (typeof source === 'object' && source !== null) {
    const s = source as Record<PropertyKey, unknown>;
    if (
      typeof s[Symbol.asyncIterator] === 'function' ||
      typeof s[Symbol.iterator] === 'function' ||
      typeof s.getReader === 'function'
    ) {
      return;
    }
  }
  throw new OutreachError(
    'VALIDATION_FAILED',
    `importContacts: source must be CSV text, bytes (Uint8Array), a readable stream or an iterable of text or byte chunks; got ${source === null ? 'null' : typeof source}.`,
    { details: { field: 'source' } },
  );
}

/** A whole millisecond time within LIMITS.minTime…maxTime, from a Date or a number. */
function checkTime(where: string, at: unknown): number {
  const parsed = Schemas.at.safeParse(at);
  const time = parsed.success ? (parsed.data instanceof Date ? parsed.data.getTime() : parsed.data) : Number.NaN;
  if (!Number.isInteger(time) || time < LIMITS.minTime || time > LIMITS.maxTime) {
    throw new OutreachError(
      'VALIDATION_FAILED',
      `${where}: at must be a valid Date or a whole number of milliseconds since the epoch from ${LIMITS.minTime} to ${LIMITS.maxTime} (year 9999); got ${
        typeof at === 'number' || at instanceof Date ? String(at) : typeof at
      }.`,
      { details: { field: 'at', min: LIMITS.minTime, max: LIMITS.maxTime } },
    );
  }
  return time;
}

/** Refuses `updateCampaign(id, { channel })` with its own sentence (seed 003: the channel is fixed). */
function refuseChannelChange(patch: unknown): void {
  if (typeof patch === 'object' && patch !== null && Object.hasOwn(patch, 'channel')) {
    throw new OutreachError(
      'VALIDATION_FAILED',
      "updateCampaign: a campaign's channel cannot be changed once it is created (seed 003); create a new campaign on the other channel instead.",
      { details: { field: 'patch.channel', reason: 'channel_immutable' } },
    );
  }
}

/**
 * The engine with every method checking its arguments first. A refused call throws (or rejects
 * with) `VALIDATION_FAILED` and never reaches storage.
 */
export function guardOutreach(inner: Outreach): Outreach {
  const id = (where: string, value: unknown, name = 'id') => parseInput(where, name, Id, value) as string;
  // Async methods reject rather than throw synchronously.
  const guarded =
    <A extends unknown[], R>(check: (...args: A) => void, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      check(...args);
      return call(...args);
    };
  const byId = (name: keyof Outreach) =>
    guarded(
      (cid: string) => id(String(name), cid),
      (cid: string) => (inner[name] as (id: string) => Promise<never>)(cid),
    );
  const optional = <S extends z.ZodType>(where: string, name: string, schema: S, value: unknown) =>
    value === undefined ? undefined : parseInput(where, name, schema, value);

  const outreach: Outreach = {
    get policy() {
      return inner.policy;
    },
    get clock() {
      return inner.clock;
    },
    get storage() {
      return inner.storage;
    },
    worker: inner.worker,
    createCampaign: guarded(
      (input) => void parseInput('createCampaign', 'input', Schemas.create, input),
      (input) => inner.createCampaign(input),
    ),
    updateCampaign: guarded(
      (cid, patch) => {
        id('updateCampaign', cid);
        refuseChannelChange(patch);
        parseInput('updateCampaign', 'patch', Schemas.update, patch);
      },
      (cid, patch) => inner.updateCampaign(cid, patch),
    ),
    addContacts: guarded(
      (cid, contacts) => {
        id('addContacts', cid);
        parseInput('addContacts', 'contacts', Schemas.contacts, contacts);
      },
      (cid, contacts) => inner.addContacts(cid, contacts),
    ),
    importContacts: guarded(
      (cid, source, options) => {
        id('importContacts', cid);
        checkCsvSource(source);
        const o = optional('importContacts', 'options', Schemas.importOptions, options);
        if (o) assertCountryCodes([...(o.defaultCountry ? [o.defaultCountry] : []), ...(o.allowedCountries ?? [])]);
      },
      (cid, source, options) => inner.importContacts(cid, source, options),
    ),
    removeContacts: guarded(
      (cid, contactIds) => {
        id('removeContacts', cid);
        optional('removeContacts', 'contactIds', Ids, contactIds);
      },
      (cid, contactIds) => inner.removeContacts(cid, contactIds),
    ),
    save: byId('save'),
    schedule: async (cid, at) => {
      id('schedule', cid);
      return inner.schedule(cid, checkTime('schedule', at));
    },
    unschedule: byId('unschedule'),
    run: byId('run'),
    pause: byId('pause'),
    resume: byId('resume'),
    stop: byId('stop'),
    close: byId('close'),
    retryFailed: guarded(
      (cid, options) => {
        id('retryFailed', cid);
        optional('retryFailed', 'options', Schemas.retry, options);
      },
      (cid, options) => inner.retryFailed(cid, options),
    ),
    retryCampaign: byId('retryCampaign'),
    archive: byId('archive'),
    delete: byId('delete'),
    optOut: guarded(
      (input) => void parseInput('optOut', 'input', Schemas.optOut, input),
      (input) => inner.optOut(input),
    ),
    optIn: guarded(
      (input) => void parseInput('optIn', 'input', Schemas.address, input),
      (input) => inner.optIn(input),
    ),
    isSuppressed: guarded(
      (input) => void parseInput('isSuppressed', 'input', Schemas.address, input),
      (input) => inner.isSuppressed(input),
    ),
    ingest: guarded(
      (events) => {
        if (!Array.isArray(events)) {
          throw new OutreachError(
            'VALIDATION_FAILED',
            `ingest: events must be an array of provider events; got ${events === null ? 'null' : typeof events}.`,
            { details: { field: 'events' } },
          );
        }
      },
      (events) => inner.ingest(events),
    ),
    send: guarded(
      (input) => void parseInput('send', 'input', Schemas.send, input),
      (input) => inner.send(input),
    ),
    listOptOutRecords: guarded(
      (query) => void optional('listOptOutRecords', 'query', Schemas.optOutQuery, query),
      (query) => inner.listOptOutRecords(query),
    ),
    listMessagesTo: guarded(
      (input) => void parseInput('listMessagesTo', 'input', Schemas.address, input),
      (input) => inner.listMessagesTo(input),
    ),
    getCampaign: byId('getCampaign'),
    listCampaigns: guarded(
      (filter) => void optional('listCampaigns', 'filter', Schemas.campaignFilter, filter),
      (filter) => inner.listCampaigns(filter),
    ),
    getMessage: byId('getMessage'),
    listMessages: guarded(
      (cid, filter) => {
        id('listMessages', cid, 'campaignId');
        optional('listMessages', 'filter', Schemas.messageFilter, filter);
      },
      (cid, filter) => inner.listMessages(cid, filter),
    ),
    listContacts: guarded(
      (cid, page) => {
        id('listContacts', cid, 'campaignId');
        optional('listContacts', 'page', Schemas.page, page);
      },
      (cid, page) => inner.listContacts(cid, page),
    ),
    getStats: guarded(
      (cid: string) => id('getStats', cid, 'campaignId'),
      (cid) => inner.getStats(cid),
    ),
    preview: guarded(
      (cid, contactId) => {
        id('preview', cid, 'campaignId');
        id('preview', contactId, 'contactId');
      },
      (cid, contactId) => inner.preview(cid, contactId),
    ),
    // The exports return their stream at once; a refused argument throws before it exists.
    exportCampaigns(filter) {
      optional('exportCampaigns', 'filter', Schemas.campaignFilter, filter);
      return inner.exportCampaigns(filter);
    },
    exportOptOutRecords(query) {
      optional('exportOptOutRecords', 'query', Schemas.optOutExport, query);
      return inner.exportOptOutRecords(query);
    },
    exportMessagesTo(input, options) {
      parseInput('exportMessagesTo', 'input', Schemas.address, input);
      optional('exportMessagesTo', 'options', Schemas.exportOptions, options);
      return inner.exportMessagesTo(input, options);
    },
    exportMessages(cid, options) {
      id('exportMessages', cid, 'campaignId');
      optional('exportMessages', 'options', Schemas.exportOptions, options);
      return inner.exportMessages(cid, options);
    },
    subscribe(listener) {
      parseInput('subscribe', 'listener', fn, listener);
      return inner.subscribe(listener);
    },
  };
  return outreach;
}
