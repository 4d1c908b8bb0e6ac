/**
 * Fuzzing the engine's commands with arbitrary and near-valid payloads: createCampaign,
 * updateCampaign, addContacts, importContacts, schedule and ingest. Each case runs on a fresh
 * engine (memory storage, fake clock) holding a draft, a ready campaign and two running ones, so a
 * refusal can be shown to change nothing there.
 */
import {
  createOutreach,
  type EmailTransport,
  FAILURE_REASON_IDS,
  isOutreachError,
  MESSAGE_STATUSES,
  type Outreach,
  type SmsTransport,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertTyped, engineSnapshot, fuzzParams, nastyString, outcomeOf } from '../../support/fuzz-support.js';
import { mail, phone, readyCampaign } from '../../support/harness.js';

const acceptingSms: SmsTransport = {
  channel: 'sms',
  name: 'accepting-sms',
  send: async (m) => ({ outcome: 'accepted', providerMessageId: `SM-${m.messageId}` }),
};
const acceptingEmail: EmailTransport = {
  channel: 'email',
  name: 'accepting-email',
  send: async (m) => ({ outcome: 'accepted', providerMessageId: `SG-${m.messageId}` }),
};

const ADDRESSES = [
  { channel: 'sms' as const, address: phone(0) },
  { channel: 'sms' as const, address: phone(1) },
  { channel: 'email' as const, address: mail(0) },
  { channel: 'email' as const, address: mail(1) },
];

interface Fixture {
  outreach: Outreach;
  /** Campaign ids: draft (sms), ready (sms), running sms and running email. */
  ids: { draft: string; ready: string; runningSms: string; runningEmail: string };
  messageIds: string[];
  snapshot(): Promise<string>;
}

/** A fresh engine with campaigns in four states; the running ones have every message handed over (sending). */
async function fixture(): Promise<Fixture> {
  const outreach = createOutreach({
    storage: memoryStorage(),
    clock: createFakeClock(),
    transports: { sms: acceptingSms, email: acceptingEmail },
    onError: (e) => {
      throw e;
    },
  });
  const draft = await outreach.createCampaign({
    name: 'draft',
    channel: 'sms',
    content: { body: 'Hi {{first_name}}' },
  });
  await outreach.addContacts(draft.id, [{ address: phone(0), fields: { first_name: 'Ada' } }]);
  const ready = await readyCampaign(outreach, 'sms', 2, { name: 'ready', scope: 'other' });
  const runningSms = await readyCampaign(outreach, 'sms', 2, { name: 'running sms' });
  const runningEmail = await readyCampaign(outreach, 'email', 2, { name: 'running email' });
  await outreach.run(runningSms.id);
  await outreach.run(runningEmail.id);
  await outreach.worker.runOnce();
  const ids = { draft: draft.id, ready: ready.id, runningSms: runningSms.id, runningEmail: runningEmail.id };
  const messageIds: string[] = [];
  for (const id of Object.values(ids)) for (const m of await outreach.listMessages(id)) messageIds.push(m.id);
  return {
    outreach,
    ids,
    messageIds,
    snapshot: () => engineSnapshot(outreach, Object.values(ids), ADDRESSES),
  };
}

/** A placeholder the generators use for "one of the fixture's real ids", resolved per case. */
const ref = (kind: 'MSG' | 'CMP') => fc.nat(7).map((n) => `${kind}#${n}`);

function resolveRefs(value: unknown, f: Fixture): unknown {
  if (typeof value === 'string') {
    const m = /^(MSG|CMP)#(\d+)$/.exec(value);
    if (!m) return value;
    const list = m[1] === 'MSG' ? f.messageIds : Object.values(f.ids);
    const id = list[Number(m[2]) % list.length] as string;
    return m[1] === 'MSG' && Number(m[2]) % 2 === 1 ? (id.startsWith('msg_') ? `SM-${id}` : id) : id;
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, f));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveRefs(v, f)]));
  }
  return value;
}

const anyValue = fc.anything({ maxDepth: 2, withNullPrototype: true, withBoxedValues: true });
const junk = fc.oneof(nastyString(30), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), anyValue);
/** An object whose own `toString`/`valueOf` are not functions: `String(x)` on it throws a TypeError. */
const hostileObject = fc.constantFrom<unknown>(
  { toString: 1, valueOf: 2 },
  Object.create(null),
  { toJSON: () => 'x' },
  [],
  ['+14155550100'],
);

/** The fixture and its snapshot, reused from case to case until a command succeeds (and so may have changed it). */
let cached: { f: Fixture; snapshot: string } | undefined;

/**
 * Runs one command on the fixture: a refusal must be an OutreachError and leave the snapshot as it
 * was; a success is checked by `onSuccess`, and the next case gets a fresh fixture.
 */
async function refusedOrChecked<T>(
  command: (f: Fixture) => Promise<T>,
  onSuccess: (value: T, f: Fixture, before: string) => Promise<void> = async () => undefined,
) {
  if (!cached) {
    const f = await fixture();
    cached = { f, snapshot: await f.snapshot() };
  }
  const { f, snapshot: before } = cached;
  const r = await outcomeOf(() => command(f));
  assertTyped(r);
  if (r.ok) {
    cached = undefined;
    await onSuccess(r.value, f, before);
  } else expect(await f.snapshot()).toBe(before);
}

const nearValidContent = fc.oneof(
  fc.record(
    { body: fc.oneof(nastyString(60), fc.constant('Hi {{first_name}}'), junk), from: junk },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      subject: fc.oneof(nastyString(), junk),
      html: fc.oneof(fc.constant('<p>{{first_name}}</p>'), nastyString(), junk),
      from: fc.oneof(fc.record({ email: fc.oneof(fc.emailAddress(), nastyString()) }), junk),
      attachments: fc.oneof(fc.array(junk, { maxLength: 2 }), junk),
      unsubscribe: junk,
    },
    { requiredKeys: [] },
  ),
  junk,
);

describe('engine: commands under fuzzing', () => {
  it('should create a valid campaign or refuse createCampaign with an OutreachError and no change', async () => {
    const input = fc.oneof(
      anyValue,
      fc.record(
        {
          name: fc.oneof(nastyString(), fc.string({ minLength: 190, maxLength: 220 }), junk),
          channel: fc.oneof(fc.constantFrom('sms', 'email', 'fax', 'SMS'), junk),
          scope: fc.oneof(nastyString(), junk),
          description: fc.oneof(nastyString(), junk),
          content: nearValidContent,
          metadata: fc.oneof(fc.dictionary(nastyString(8), fc.oneof(nastyString(8), junk), { maxKeys: 3 }), junk),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(input, async (payload) => {
        await refusedOrChecked(
          (f) => f.outreach.createCampaign(payload as never),
          async (created, f) => {
            expect(created.status).toBe('draft');
            expect(created.name.trim()).toBe(created.name);
            expect(created.name.length).toBeGreaterThan(0);
            expect((await f.outreach.getCampaign(created.id)).id).toBe(created.id);
          },
        );
      }),
      fuzzParams(),
    );
  });

  it('should apply a valid patch or refuse updateCampaign with an OutreachError and no change', async () => {
    const patch = fc.oneof(
      anyValue,
      fc.record(
        {
          name: fc.oneof(nastyString(), junk),
          description: fc.oneof(nastyString(), junk),
          content: nearValidContent,
          metadata: fc.oneof(fc.dictionary(nastyString(8), fc.oneof(nastyString(8), junk), { maxKeys: 3 }), junk),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(ref('CMP'), junk), patch, async (id, payload) => {
        await refusedOrChecked(
          (f) => f.outreach.updateCampaign(resolveRefs(id, f) as string, payload as never),
          async (updated) => {
            expect(['draft', 'ready', 'scheduled']).toContain(updated.status);
            for (const v of Object.values(updated.metadata)) expect(typeof v).toBe('string');
          },
        );
      }),
      fuzzParams(),
    );
  });

  // Regression test (found by fuzzing, fixed): addContacts does not check its payload. A non-array (e.g. `{}`,
  // `'abc'`, `null`) throws a TypeError (`contacts.forEach is not a function`), and an address
  // object whose toString/valueOf are not functions throws a TypeError from `String(...)`; an
  // object contact's `fields` holding non-strings are stored as they are.
  // addContacts now validates its input with a zod schema (VALIDATION_FAILED).
  it('should add valid contacts or refuse addContacts with an OutreachError and no change', async () => {
    const contacts = fc.oneof(
      anyValue,
      hostileObject,
      fc.array(
        fc.oneof(
          fc.record(
            {
              address: fc.oneof(
                fc.constantFrom(phone(5), phone(6), '+1 415 555 0100', 'not a phone'),
                junk,
                hostileObject,
              ),
              fields: fc.oneof(fc.dictionary(nastyString(8), fc.oneof(nastyString(8), junk), { maxKeys: 3 }), junk),
            },
            { requiredKeys: [] },
          ),
          junk,
        ),
        { maxLength: 5 },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(ref('CMP'), junk), contacts, async (id, payload) => {
        await refusedOrChecked(
          (f) => f.outreach.addContacts(resolveRefs(id, f) as string, payload as never),
          async (result, f) => {
            expect(result.added + result.duplicates + result.rejected.length).toBe((payload as unknown[]).length);
            for (const c of await f.outreach.listContacts(f.ids.draft)) {
              for (const v of Object.values(c.fields)) expect(typeof v).toBe('string');
            }
          },
        );
      }),
      fuzzParams(),
    );
  });

  /** Shrunk and hand-made counterexamples of the addContacts property, each with the answer the brief asks for. */
  const refusedWithoutChange = async (command: (f: Fixture) => Promise<unknown>) => {
    const f = await fixture();
    const before = await f.snapshot();
    const r = await outcomeOf(() => command(f));
    expect(r.ok ? 'resolved' : isOutreachError(r.error) ? r.error.code : String(r.error)).toBe('VALIDATION_FAILED');
    expect(await f.snapshot()).toBe(before);
  };

  it('should refuse a contact list that is not an array ({}) with VALIDATION_FAILED', async () => {
    await refusedWithoutChange((f) => f.outreach.addContacts(f.ids.draft, {} as never));
  });

  it('should refuse a contact whose address cannot become a string ({ toString: 1, valueOf: 2 })', async () => {
    await refusedWithoutChange((f) =>
      f.outreach.addContacts(f.ids.draft, [{ address: { toString: 1, valueOf: 2 } }] as never),
    );
  });

  it('should refuse a contact whose fields are not strings ({ first_name: 42 })', async () => {
    await refusedWithoutChange((f) =>
      f.outreach.addContacts(f.ids.draft, [{ address: phone(7), fields: { first_name: 42 } }] as never),
    );
  });

  it('should refuse a schedule time that cannot become a string ({ toString: 1 }) with VALIDATION_FAILED', async () => {
    await refusedWithoutChange((f) => f.outreach.schedule(f.ids.ready, { toString: 1 } as never));
  });

  it('should import any CSV text or bytes into a draft, or refuse it with an OutreachError and no change', async () => {
    const source = fc.oneof(
      nastyString(200).map((body) => `phone,first_name\n${body}`),
      fc.uint8Array({ maxLength: 200 }),
      nastyString(200),
    );
    await fc.assert(
      fc.asyncProperty(source, fc.boolean(), async (csv, toDraft) => {
        await refusedOrChecked(
          (f) => f.outreach.importContacts(toDraft ? f.ids.draft : f.ids.ready, csv),
          async (result) => {
            expect(result.imported + result.rejectedCount + result.duplicates).toBe(result.rows);
          },
        );
      }),
      fuzzParams(),
    );
  });

  // Regression test (found by fuzzing, fixed): schedule(id, at) builds its refusal message with `String(at)`, which
  // throws a TypeError for an object without a usable toString/valueOf (JSON `{"toString": 1}`, or a
  // null-prototype object). Counterexample: schedule(id, Object.create(null)).
  it('should schedule a ready campaign at a valid time, or refuse schedule with an OutreachError and no change', async () => {
    const at = fc.oneof(
      junk,
      fc.date({ noInvalidDate: false }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 8.64e15 + 1),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(ref('CMP'), junk), at, async (id, when) => {
        await refusedOrChecked(
          (f) => f.outreach.schedule(resolveRefs(id, f) as string, when as never),
          async (scheduled) => {
            expect(scheduled.status).toBe('scheduled');
          },
        );
      }),
      fuzzParams(),
    );
  });

  it('should count every ingested event once, or refuse the batch with an OutreachError and no change', async () => {
    const statusEvent = fc.record(
      {
        type: fc.oneof(fc.constant('status'), junk),
        channel: fc.oneof(fc.constantFrom('sms', 'email'), junk),
        messageId: fc.oneof(ref('MSG'), nastyString(), junk),
        providerMessageId: fc.oneof(ref('MSG'), nastyString(), junk),
        status: fc.oneof(fc.constantFrom('sending', 'sent', 'delivered', 'failed', 'deferred', 'engagement'), junk),
        reason: fc.oneof(fc.constantFrom(...FAILURE_REASON_IDS), junk),
        code: fc.oneof(nastyString(), junk),
        providerStatus: fc.oneof(nastyString(), junk),
        engagement: fc.oneof(fc.constantFrom('open', 'click'), junk),
        attempt: junk,
        occurredAt: fc.oneof(fc.constant(1_700_000_000_000), junk),
        eventId: fc.oneof(fc.constantFrom('ev-1', 'ev-2'), junk),
        dedupeKey: fc.oneof(fc.constantFrom('k-1', 'k-2'), junk),
        detail: fc.oneof(nastyString(), junk),
      },
      { requiredKeys: ['type', 'channel', 'status'] },
    );
    const suppressionEvent = fc.record(
      {
        type: fc.constant('suppression'),
        action: fc.oneof(fc.constantFrom('opt_out', 'opt_in'), junk),
        channel: fc.oneof(fc.constantFrom('sms', 'email'), junk),
        address: fc.oneof(fc.constantFrom(...ADDRESSES.map((a) => a.address), '(415) 555-1000'), nastyString(), junk),
        scope: fc.oneof(fc.constantFrom('default', 'other'), junk),
        source: fc.oneof(nastyString(), junk),
      },
      { requiredKeys: ['type', 'action', 'channel', 'address'] },
    );
    const batch = fc.oneof(anyValue, fc.array(fc.oneof(statusEvent, suppressionEvent, anyValue), { maxLength: 6 }));
    await fc.assert(
      fc.asyncProperty(batch, async (events) => {
        await refusedOrChecked(
          async (f) => f.outreach.ingest(resolveRefs(events, f) as never),
          async (result, f, before) => {
            const { applied, duplicates, ignored, unmatched } = result;
            expect(applied + duplicates + ignored + unmatched).toBe((events as unknown[]).length);
            if (applied === 0 && ignored === 0) expect(await f.snapshot()).toBe(before);
            for (const m of await f.outreach.listMessages(f.ids.runningSms))
              expect(MESSAGE_STATUSES).toContain(m.status);
          },
        );
      }),
      fuzzParams(),
    );
  });
});
