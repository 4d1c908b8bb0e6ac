/**
 * Hostile-input support: one engine fixture per storage (memory, PGlite, and the real server when
 * DATABASE_URL is set), the catalogue of caller mistakes the issue "every input checked at the
 * door" found, and how an outcome is classified (success, typed refusal, STORAGE_ERROR, untyped, hang).
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { createOutreach, isOutreachError, type Outreach, type Storage, unsubscribeHandler } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { createUnsubscribeToken } from 'campaign-lifecycle/templates';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import fc from 'fast-check';
import pg from 'pg';
import twilio from 'twilio';
import { sendgridWebhookHandler, type WebhookRejection } from '../../adapters/sendgrid/index.js';
import { twilioWebhookHandler } from '../../adapters/twilio/index.js';
import { engineSnapshot, nastyString } from './fuzz-support.js';
import { mail, phone, readyCampaign } from './harness.js';

/** A storage the hostile runs compare: created fresh per fixture, closed at the end. */
export interface StorageKind {
  readonly name: string;
  create(): Storage;
  close(): Promise<void>;
}

let serial = 0;

/** Memory and PGlite always; the real server when DATABASE_URL is set (each fixture its own schema). */
export function storageKinds(): StorageKind[] {
  const kinds: StorageKind[] = [{ name: 'memory', create: () => memoryStorage(), close: async () => {} }];
  let db: PGlite | undefined;
  kinds.push({
    name: 'pglite',
    create: () => {
      db ??= new PGlite();
      return postgresStorage({ pool: db, schema: `hostile_${process.pid}_${serial++}` });
    },
    close: async () => {
      await db?.close();
    },
  });
  const url = process.env.DATABASE_URL;
  if (url) {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    const schemas: string[] = [];
    kinds.push({
      name: 'postgres',
      create: () => {
        const schema = `hostile_${process.pid}_${serial++}`;
        schemas.push(schema);
        return postgresStorage({ pool, schema });
      },
      close: async () => {
        for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
        await pool.end();
      },
    });
  }
  return kinds;
}

/** Campaign ids of a fixture: a draft of each channel (with contacts) and a ready SMS campaign. */
export interface FixtureIds {
  readonly draftSms: string;
  readonly draftEmail: string;
  readonly ready: string;
  readonly contactId: string;
  readonly messageId: string;
}

export interface Fixture {
  readonly outreach: Outreach;
  readonly clock: FakeClock;
  readonly ids: FixtureIds;
  snapshot(): Promise<string>;
}

export const FIXTURE_ADDRESSES = [
  { channel: 'sms' as const, address: phone(0) },
  { channel: 'email' as const, address: mail(0) },
];

/** A fresh engine over `storage` (fake clock at a fixed time, no transports needed). */
export async function hostileFixture(storage: Storage): Promise<Fixture> {
  const clock = createFakeClock();
  const outreach = createOutreach({
    storage,
    clock,
    transports: {},
    onError: () => {},
  });
  const draftSms = await outreach.createCampaign({
    name: 'draft sms',
    channel: 'sms',
    content: { body: 'Hi {{first_name}}' },
  });
  await outreach.addContacts(draftSms.id, [{ address: phone(0), fields: { first_name: 'Ada' } }]);
  const draftEmail = await outreach.createCampaign({
    name: 'draft email',
    channel: 'email',
    content: { subject: 'Hi', html: '<p>Hi {{first_name}}</p>' },
  });
  await outreach.addContacts(draftEmail.id, [{ address: mail(0), fields: { first_name: 'Ada' } }]);
  const ready = await readyCampaign(outreach, 'sms', 1, { name: 'ready', scope: 'other' });
  const [contact] = await outreach.listContacts(draftSms.id);
  const [message] = await outreach.listMessages(ready.id);
  const ids: FixtureIds = {
    draftSms: draftSms.id,
    draftEmail: draftEmail.id,
    ready: ready.id,
    contactId: contact?.id ?? '',
    messageId: message?.id ?? '',
  };
  return {
    outreach,
    clock,
    ids,
    snapshot: () => engineSnapshot(outreach, [ids.draftSms, ids.draftEmail, ids.ready], FIXTURE_ADDRESSES),
  };
}

/** How a call ended. */
export type Verdict =
  | { kind: 'ok' }
  | { kind: 'typed'; code: string }
  | { kind: 'storage_error'; message: string }
  | { kind: 'untyped'; message: string }
  | { kind: 'hang' };

/** Drains what a method returned: a promise, or an async iterable (the CSV exports). */
async function settle(value: unknown): Promise<void> {
  if (value && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    for await (const _ of value as AsyncIterable<unknown>) void _;
  } else {
    await value;
  }
}

/** Runs a call with a deadline and classifies its outcome. */
export async function verdictOf(call: () => unknown, timeoutMs = 1000): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'hang' }), timeoutMs);
  });
  const run = (async (): Promise<Verdict> => {
    try {
      await settle(call());
      return { kind: 'ok' };
    } catch (error) {
      if (isOutreachError(error)) {
        return error.code === 'STORAGE_ERROR'
          ? { kind: 'storage_error', message: error.message.slice(0, 200) }
          : { kind: 'typed', code: error.code };
      }
      return { kind: 'untyped', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  })();
  try {
    return await Promise.race([run, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** A caller mistake: a label and the call, given a fixture's engine and ids. */
export interface HostileCall {
  readonly label: string;
  call(o: Outreach, ids: FixtureIds): unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: the catalogue calls the API with values its types forbid
type Any = any;
const NUL = 'a\u0000b';
const LONE = 'a\uD800b';
const BIG = 'x'.repeat(10 * 1024 * 1024);
const sym = Symbol('id') as Any;

/**
 * The findings of the hostile-input run listed in the issue, as calls (each on a fresh fixture).
 * Engine construction mistakes are under {@link HOSTILE_OPTIONS}.
 */
export const HOSTILE_CALLS: readonly HostileCall[] = [
  // Symbol ids and wrong id types.
  { label: 'getCampaign(Symbol)', call: (o) => o.getCampaign(sym) },
  { label: 'getMessage(Symbol)', call: (o) => o.getMessage(sym) },
  { label: 'run(Symbol)', call: (o) => o.run(sym) },
  { label: 'save(Symbol)', call: (o) => o.save(sym) },
  { label: 'delete(Symbol)', call: (o) => o.delete(sym) },
  { label: 'getStats(Symbol)', call: (o) => o.getStats(sym) },
  { label: 'listMessages(Symbol)', call: (o) => o.listMessages(sym) },
  { label: 'preview(id, Symbol)', call: (o, i) => o.preview(i.draftSms, sym) },
  { label: 'removeContacts(id, [Symbol])', call: (o, i) => o.removeContacts(i.draftSms, [sym]) },
  { label: 'getCampaign(42)', call: (o) => o.getCampaign(42 as Any) },
  { label: 'getCampaign(NUL)', call: (o) => o.getCampaign(NUL) },
  { label: 'getMessage(NUL)', call: (o) => o.getMessage(NUL) },
  { label: 'run(NUL)', call: (o) => o.run(NUL) },
  { label: 'getCampaign(lone surrogate)', call: (o) => o.getCampaign(LONE) },
  { label: 'getCampaign(10 MB)', call: (o) => o.getCampaign(BIG) },
  // Filters.
  { label: 'listCampaigns({ statuses: 5 })', call: (o) => o.listCampaigns({ statuses: 5 as Any }) },
  { label: 'listCampaigns(null)', call: (o) => o.listCampaigns(null as Any) },
  { label: 'listCampaigns({ scope: NUL })', call: (o) => o.listCampaigns({ scope: NUL }) },
  { label: 'listCampaigns({ channel: "fax" })', call: (o) => o.listCampaigns({ channel: 'fax' as Any }) },
  { label: 'listMessages(id, { statuses: 5 })', call: (o, i) => o.listMessages(i.ready, { statuses: 5 as Any }) },
  { label: 'listMessages(id, null)', call: (o, i) => o.listMessages(i.ready, null as Any) },
  { label: 'listMessages(id, { limit: -1 })', call: (o, i) => o.listMessages(i.ready, { limit: -1 }) },
  { label: 'listMessages(id, { limit: 0.5 })', call: (o, i) => o.listMessages(i.ready, { limit: 0.5 }) },
  { label: 'listMessages(id, { after: NUL })', call: (o, i) => o.listMessages(i.ready, { after: NUL }) },
  { label: 'listContacts(id, { limit: -1 })', call: (o, i) => o.listContacts(i.draftSms, { limit: -1 }) },
  { label: 'listContacts(id, null)', call: (o, i) => o.listContacts(i.draftSms, null as Any) },
  { label: 'exportCampaigns({ statuses: 5 })', call: (o) => o.exportCampaigns({ statuses: 5 as Any }) },
  { label: 'exportMessages(id, { fields: 5 })', call: (o, i) => o.exportMessages(i.ready, { fields: 5 as Any }) },
  { label: 'exportMessages(id, null)', call: (o, i) => o.exportMessages(i.ready, null as Any) },
  // Suppression lists.
  { label: 'optOut({ address: 42 })', call: (o) => o.optOut({ channel: 'sms', address: 42 as Any }) },
  { label: 'optIn({ address: null })', call: (o) => o.optIn({ channel: 'sms', address: null as Any }) },
  { label: 'isSuppressed({ address: {} })', call: (o) => o.isSuppressed({ channel: 'email', address: {} as Any }) },
  { label: 'isSuppressed(null)', call: (o) => o.isSuppressed(null as Any) },
  { label: 'optOut({ scope: NUL })', call: (o) => o.optOut({ channel: 'sms', address: phone(5), scope: NUL }) },
  { label: 'optOut({ source: NUL })', call: (o) => o.optOut({ channel: 'sms', address: phone(5), source: NUL }) },
  { label: 'optOut({ messageId: NUL })', call: (o) => o.optOut({ channel: 'sms', address: phone(5), messageId: NUL }) },
  { label: 'optIn({ scope: NUL })', call: (o) => o.optIn({ channel: 'sms', address: phone(5), scope: NUL }) },
  // Contacts.
  { label: 'importContacts(id, null)', call: (o, i) => o.importContacts(i.draftSms, null as Any) },
  { label: 'importContacts(id, 42)', call: (o, i) => o.importContacts(i.draftSms, 42 as Any) },
  { label: 'importContacts(id, {})', call: (o, i) => o.importContacts(i.draftSms, {} as Any) },
  {
    label: 'importContacts(id, csv, { batchSize: -1 })',
    call: (o, i) => o.importContacts(i.draftSms, 'phone\n+14155550199\n', { batchSize: -1 }),
  },
  {
    label: 'addContacts(fields with NUL)',
    call: (o, i) => o.addContacts(i.draftSms, [{ address: phone(7), fields: { first_name: NUL } }]),
  },
  {
    label: 'addContacts(field name with NUL)',
    call: (o, i) => o.addContacts(i.draftSms, [{ address: phone(7), fields: { [NUL]: 'x' } }]),
  },
  {
    label: 'addContacts(fields with lone surrogate)',
    call: (o, i) => o.addContacts(i.draftSms, [{ address: phone(7), fields: { first_name: LONE } }]),
  },
  { label: 'addContacts(null)', call: (o, i) => o.addContacts(i.draftSms, null as Any) },
  {
    label: 'addContacts(unknown key)',
    call: (o, i) => o.addContacts(i.draftSms, [{ address: phone(7), name: 'Ada' } as Any]),
  },
  // Campaign content and metadata.
  { label: 'createCampaign(name NUL)', call: (o) => o.createCampaign({ name: NUL, channel: 'sms' }) },
  { label: 'createCampaign(scope NUL)', call: (o) => o.createCampaign({ name: 'n', channel: 'sms', scope: NUL }) },
  {
    label: 'createCampaign(description lone surrogate)',
    call: (o) => o.createCampaign({ name: 'n', channel: 'sms', description: LONE }),
  },
  {
    label: 'createCampaign(metadata NUL)',
    call: (o) => o.createCampaign({ name: 'n', channel: 'sms', metadata: { k: NUL } }),
  },
  {
    label: 'createCampaign(metadata 10 MB)',
    call: (o) => o.createCampaign({ name: 'n', channel: 'sms', metadata: { k: BIG } }),
  },
  {
    label: 'createCampaign(sms body NUL)',
    call: (o) => o.createCampaign({ name: 'n', channel: 'sms', content: { body: NUL } }),
  },
  {
    label: 'createCampaign(email html 10 MB)',
    call: (o) => o.createCampaign({ name: 'n', channel: 'email', content: { subject: 's', html: BIG } }),
  },
  {
    label: 'createCampaign(unknown key)',
    call: (o) => o.createCampaign({ name: 'n', channel: 'sms', colour: 'red' } as Any),
  },
  { label: 'createCampaign(null)', call: (o) => o.createCampaign(null as Any) },
  {
    label: 'updateCampaign(id, { channel: "email" })',
    call: (o, i) => o.updateCampaign(i.draftSms, { channel: 'email' } as Any),
  },
  { label: 'updateCampaign(id, null)', call: (o, i) => o.updateCampaign(i.draftSms, null as Any) },
  {
    label: 'updateCampaign(id, { metadata: 10 MB })',
    call: (o, i) => o.updateCampaign(i.draftSms, { metadata: { k: BIG } }),
  },
  // Times.
  { label: 'schedule(id, now + 0.5)', call: (o, i) => o.schedule(i.ready, Date.now() + 0.5) },
  { label: 'schedule(id, 1e300)', call: (o, i) => o.schedule(i.ready, 1e300) },
  { label: 'schedule(id, -1e20)', call: (o, i) => o.schedule(i.ready, -1e20) },
  { label: 'schedule(id, "tomorrow")', call: (o, i) => o.schedule(i.ready, 'tomorrow' as Any) },
  { label: 'schedule(id, invalid Date)', call: (o, i) => o.schedule(i.ready, new Date(Number.NaN)) },
  // Retry, provider events.
  { label: 'retryFailed(id, { messageIds: 5 })', call: (o, i) => o.retryFailed(i.ready, { messageIds: 5 as Any }) },
  { label: 'retryFailed(id, null)', call: (o, i) => o.retryFailed(i.ready, null as Any) },
  {
    label: 'ingest(status with NUL messageId)',
    call: (o) => o.ingest([{ type: 'status', channel: 'sms', messageId: NUL, status: 'delivered' }]),
  },
  {
    label: 'ingest(status with NUL providerMessageId)',
    call: (o) => o.ingest([{ type: 'status', channel: 'sms', providerMessageId: `SM${NUL}`, status: 'delivered' }]),
  },
  {
    label: 'ingest(status with NUL eventId)',
    call: (o, i) =>
      o.ingest([{ type: 'status', channel: 'sms', messageId: i.messageId, status: 'delivered', eventId: NUL }]),
  },
  {
    label: 'ingest(suppression with NUL scope)',
    call: (o) => o.ingest([{ type: 'suppression', action: 'opt_out', channel: 'sms', address: phone(8), scope: NUL }]),
  },
  { label: 'ingest(null)', call: (o) => o.ingest(null as Any) },
];

/** Engine options the issue found accepted or thrown untyped; each is tried in createOutreach and then used. */
export const HOSTILE_OPTIONS: readonly { label: string; options: Record<string, unknown>; freezes?: boolean }[] = [
  // Before the door checks these froze the process (a synchronous endless loop in addContacts).
  { label: 'batchSize: 0', options: { batchSize: 0 }, freezes: true },
  { label: 'batchSize: -1', options: { batchSize: -1 }, freezes: true },
  { label: 'pollInterval: null', options: { pollInterval: null } },
  { label: 'pollInterval: -1', options: { pollInterval: -1 } },
  { label: 'claimLease: null', options: { claimLease: null } },
  { label: 'claimLease: 0', options: { claimLease: 0 } },
  { label: 'claimLease: 1e300', options: { claimLease: 1e300 } },
  { label: 'claimLease: "soon"', options: { claimLease: 'soon' } },
  { label: 'policy.smsSendingTimeout: 1e300', options: { policy: { smsSendingTimeout: 1e300 } } },
  { label: 'policy.smsReceiptTimeout: 0.5', options: { policy: { smsReceiptTimeout: 0.5 } } },
  { label: 'policy: null', options: { policy: null } },
  { label: 'policy.unknownKey', options: { policy: { smsTimeout: '10m' } } },
  { label: 'defaultScope: NUL', options: { defaultScope: NUL } },
  { label: 'defaultScope: 5', options: { defaultScope: 5 } },
  { label: 'batchSize: 1.5', options: { batchSize: 1.5 } },
  { label: 'batchSize: "10"', options: { batchSize: '10' } },
  { label: 'transports: null', options: { transports: null } },
  { label: 'unknown option', options: { colour: 'red' } },
  { label: 'unsubscribe: { baseUrl: 5 }', options: { unsubscribe: { baseUrl: 5, secret: 'x' } } },
  { label: 'defaultCountry: "XX"', options: { defaultCountry: 'XX' } },
  { label: 'allowedCountries: 5', options: { allowedCountries: 5 } },
];

// ── Generated hostile calls ─────────────────────────────────────────────────

/** A reference to one of the fixture's ids, resolved per storage (ids differ between engines). */
export class Ref {
  constructor(readonly name: keyof FixtureIds) {}
  toString() {
    return `Ref(${this.name})`;
  }
}

export const METHODS = [
  'createCampaign',
  'updateCampaign',
  'addContacts',
  'importContacts',
  'removeContacts',
  'save',
  'schedule',
  'unschedule',
  'run',
  'pause',
  'resume',
  'stop',
  'close',
  'retryFailed',
  'retryCampaign',
  'archive',
  'delete',
  'optOut',
  'optIn',
  'isSuppressed',
  'ingest',
  'getCampaign',
  'listCampaigns',
  'getMessage',
  'listMessages',
  'listContacts',
  'getStats',
  'preview',
  'exportCampaigns',
  'exportMessages',
  'subscribe',
] as const satisfies readonly (keyof Outreach)[];

export const KEYS = [
  'name',
  'channel',
  'scope',
  'description',
  'content',
  'metadata',
  'address',
  'fields',
  'statuses',
  'after',
  'limit',
  'messageIds',
  'messageId',
  'source',
  'body',
  'subject',
  'html',
  'batchSize',
  'addressColumn',
  'defaultCountry',
  'type',
  'status',
  'action',
];

export const ref = fc
  .constantFrom<keyof FixtureIds>('draftSms', 'draftEmail', 'ready', 'contactId', 'messageId')
  .map((n) => new Ref(n));
const LARGE = 'x'.repeat(300_000);
export const scalar = fc.oneof(
  nastyString(),
  fc.constantFrom<unknown>(null, undefined, true, false, 0, -1, 0.5, 1e300, -1e300, Number.NaN, Infinity, -0, 2 ** 53),
  fc.integer(),
  fc.double(),
  fc.constant(Symbol('hostile')),
  fc.date({ noInvalidDate: false }),
  fc.constant(LARGE),
  ref,
);
/** Values that make objects near-valid, so that calls reach past the first check. */
export const validLeaf = fc.constantFrom<unknown>(
  'sms',
  'email',
  'name',
  phone(3),
  mail(3),
  10,
  Date.UTC(2026, 0, 6),
  { body: 'Hi {{first_name}}' },
  { subject: 's', html: '<p>h</p>' },
  ['draft', 'ready'],
  ['failed'],
  { first_name: 'Ada' },
  'opt_out',
  'suppression',
  'delivered',
  'phone\n+14155550123\n',
);
export const value = fc.oneof(
  { weight: 3, arbitrary: scalar },
  fc.array(fc.oneof(scalar, validLeaf), { maxLength: 3 }),
  fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), nastyString(8)), fc.oneof(scalar, validLeaf), { maxKeys: 5 }),
);
export const arg = fc.oneof(
  { weight: 2, arbitrary: ref },
  { weight: 2, arbitrary: validLeaf },
  { weight: 4, arbitrary: value },
);
export const call = fc.record({
  method: fc.constantFrom(...METHODS),
  args: fc.array(arg, { minLength: 0, maxLength: 3 }),
});

/** The args with every Ref replaced by that fixture's id (arrays and plain objects one level deep). */
export function resolve(args: readonly unknown[], ids: FixtureIds): unknown[] {
  const one = (v: unknown): unknown => (v instanceof Ref ? ids[v.name] : v);
  return args.map((a) => {
    if (Array.isArray(a)) return a.map(one);
    if (a !== null && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(a)) out[k] = one(v);
      return out;
    }
    return one(a);
  });
}

// ── Webhooks ────────────────────────────────────────────────────────────────

export const TOKEN = 'twilio-auth-token-for-hostile-tests';
export const SECRET = 'unsubscribe-secret-for-hostile-tests';
export const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
export const SENDGRID_KEY = keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

/** A hostile field value: NUL, lone surrogates, oversize, or an ordinary one. */
export const hostileField = fc.oneof(
  nastyString(),
  fc.constantFrom('a\u0000b', '\u0000', 'SM\uD800', '\uDC00x', 'x'.repeat(5000), 'SM0123', 'delivered', 'STOP'),
);

/** The three handlers over one fixture's engine, with every 4xx reported. */
export function handlers(f: Fixture, rejections: WebhookRejection[]) {
  const onReject = (r: WebhookRejection) => rejections.push(r);
  return {
    twilio: twilioWebhookHandler({ outreach: f.outreach, authToken: TOKEN, onReject }),
    sendgrid: sendgridWebhookHandler({ outreach: f.outreach, publicKey: SENDGRID_KEY, onReject }),
    unsubscribe: unsubscribeHandler({ outreach: f.outreach, secret: SECRET, clock: f.outreach.clock, onReject }),
  };
}

export type WebhookCase =
  | { kind: 'twilio'; messageId: string | Ref; params: Record<string, string> }
  | { kind: 'sendgrid'; events: Record<string, unknown>[] }
  | { kind: 'unsubscribe'; messageId: string | Ref; address: string; scope: string };

export const twilioCase = fc.record({
  kind: fc.constant('twilio' as const),
  messageId: fc.oneof(ref, hostileField),
  params: fc.dictionary(
    fc.constantFrom(
      'MessageSid',
      'MessageStatus',
      'ErrorCode',
      'ErrorMessage',
      'From',
      'Body',
      'OptOutType',
      'RawDlrDoneDate',
    ),
    hostileField,
    { maxKeys: 5 },
  ),
});
export const sendgridCase = fc.record({
  kind: fc.constant('sendgrid' as const),
  events: fc.array(
    fc.dictionary(
      fc.constantFrom('event', 'message_id', 'sg_message_id', 'sg_event_id', 'reason', 'type', 'email', 'attempt'),
      fc.oneof(hostileField, fc.constantFrom('delivered', 'bounce', 'deferred', 'open')),
      { maxKeys: 6 },
    ),
    { maxLength: 3 },
  ),
});
export const unsubscribeCase = fc.record({
  kind: fc.constant('unsubscribe' as const),
  messageId: fc.oneof(ref, hostileField),
  address: fc.oneof(fc.constant(mail(0)), hostileField),
  scope: fc.oneof(fc.constant('default'), hostileField),
});

/** Sends one signed request (the signature is valid: only the fields are hostile) and returns the status. */
export async function send(h: ReturnType<typeof handlers>, c: WebhookCase, ids: FixtureIds): Promise<number> {
  const id = (v: string | Ref) => (v instanceof Ref ? ids[v.name] : v);
  if (c.kind === 'twilio') {
    const url = `https://hooks.example.com/twilio/status?${new URLSearchParams({ messageId: id(c.messageId) })}`;
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, c.params);
    const response = await h.twilio(
      new Request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        body: new URLSearchParams(c.params).toString(),
      }),
    );
    return response.status;
  }
  if (c.kind === 'sendgrid') {
    const body = JSON.stringify(c.events.map((e) => ({ ...e, message_id: e.message_id ?? ids.messageId })));
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = sign('sha256', Buffer.from(timestamp + body), keys.privateKey).toString('base64');
    const response = await h.sendgrid(
      new Request('https://hooks.example.com/sendgrid', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-twilio-email-event-webhook-signature': signature,
          'x-twilio-email-event-webhook-timestamp': timestamp,
        },
        body,
      }),
    );
    return response.status;
  }
  const token = await createUnsubscribeToken({
    secret: SECRET,
    messageId: id(c.messageId),
    campaignId: ids.draftEmail,
    scope: c.scope,
    channel: 'email',
    address: c.address,
  });
  const response = await h.unsubscribe(
    new Request(`https://example.com/unsubscribe?token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    }),
  );
  return response.status;
}
