/**
 * Hostile-input support: one engine fixture per storage (memory, PGlite, and the real server when
 * DATABASE_URL is set), the catalogue of caller mistakes the issue "every input checked at the
 * door" found, and how an outcome is classified (success, typed refusal, STORAGE_ERROR, untyped, hang).
 */
import { PGlite } from '@electric-sql/pglite';
import { createOutreach, isOutreachError, type Outreach, type Storage } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import pg from 'pg';
import { mail, phone, readyCampaign } from '../engine/harness.js';
import { engineSnapshot } from './fuzz-support.js';

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
