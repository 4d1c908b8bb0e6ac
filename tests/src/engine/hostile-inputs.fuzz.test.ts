/**
 * Every input checked at the door. First the caller mistakes the hostile-input run found (the
 * issue's list), then every public method of the engine called with generated hostile arguments
 * (wrong types, Symbol and garbage ids, NUL bytes, lone surrogates, absurd numbers, unknown keys,
 * near-valid objects), on memory and PGlite (and the real server when DATABASE_URL is set): each
 * call ends in success or a typed error (never STORAGE_ERROR for caller input, never an untyped
 * error), within a second, with the same outcome on every storage, and a refused call changes
 * nothing. One file, so that the storages start once.
 */
import { createOutreach, LIMITS, type Outreach, type SmsTransport } from 'campaign-lifecycle';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebhookRejection } from '../../../adapters/sendgrid/index.js';
import { FUZZ_RUNS, fuzzParams } from '../../support/fuzz-support.js';
import { phone } from '../../support/harness.js';
import {
  call,
  type Fixture,
  HOSTILE_CALLS,
  HOSTILE_OPTIONS,
  handlers,
  hostileFixture,
  Ref,
  resolve,
  type StorageKind,
  scalar,
  send,
  sendgridCase,
  storageKinds,
  twilioCase,
  unsubscribeCase,
  type Verdict,
  validLeaf,
  value,
  verdictOf,
} from '../../support/hostile-support.js';

const kinds = storageKinds();
afterAll(async () => {
  for (const k of kinds) await k.close();
});

const summary = (v: Verdict) => (v.kind === 'typed' ? `typed:${v.code}` : v.kind);

describe('public API under hostile arguments, on every storage', () => {
  it(`should give success or a typed error within a second, the same on ${kinds.map((k) => k.name).join(', ')}, and change nothing on refusal`, async () => {
    const fixtures = new Map<StorageKind, Fixture>();
    for (const k of kinds) fixtures.set(k, await hostileFixture(k.create()));
    await fc.assert(
      fc.asyncProperty(call, async ({ method, args }) => {
        const outcomes: string[] = [];
        let changed = false;
        for (const k of kinds) {
          const f = fixtures.get(k) as Fixture;
          const before = await f.snapshot();
          const resolved = resolve(args, f.ids);
          const v = await verdictOf(() => (f.outreach[method] as (...a: unknown[]) => unknown)(...resolved), 1000);
          if (v.kind === 'untyped' || v.kind === 'storage_error' || v.kind === 'hang') {
            throw new Error(`${k.name}: ${method}(${args.map(String).join(', ')}) → ${JSON.stringify(v)}`);
          }
          const after = await f.snapshot();
          if (v.kind !== 'ok') expect(after, `${k.name}: a refused ${method} changed stored data`).toBe(before);
          if (after !== before) changed = true;
          outcomes.push(summary(v));
        }
        expect(new Set(outcomes).size, `${method}: ${kinds.map((k, i) => `${k.name}=${outcomes[i]}`).join(' ')}`).toBe(
          1,
        );
        if (changed) for (const k of kinds) fixtures.set(k, await hostileFixture(k.create()));
      }),
      fuzzParams({ numRuns: Math.max(30, Math.round(FUZZ_RUNS / 8)) }),
    );
  }, 600_000);

  const optionValue = fc.oneof(scalar, validLeaf, value);
  const options = fc.dictionary(
    fc.constantFrom(
      'clock',
      'transports',
      'policy',
      'defaultScope',
      'unsubscribe',
      'batchSize',
      'onError',
      'renderer',
      'defaultCountry',
      'allowedCountries',
      'pollInterval',
      'colour',
    ),
    optionValue,
    { maxKeys: 3 },
  );
  const policy = fc.dictionary(
    fc.constantFrom(
      'smsSendingTimeout',
      'smsReceiptTimeout',
      'emailSendingTimeout',
      'emailDeferralWindow',
      'maxPresendRetries',
      'presendBackoff',
      'presendBackoffMax',
      'autoPause',
      'unknown',
    ),
    fc.oneof(
      scalar,
      fc.constantFrom<unknown>('10m', '1s', '0.5ms', 'Infinity', 1e15, 3, { threshold: 0.5, minSample: 2 }),
    ),
    { maxKeys: 3 },
  );

  it('should build an engine or refuse the options with a typed error, the same on every storage, and never hang when used', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          options,
          policy.map((p) => ({ policy: p })),
        ),
        async (extra) => {
          const outcomes: string[] = [];
          for (const k of kinds) {
            const workerErrors: unknown[] = [];
            let outreach: Outreach | undefined;
            const built = await verdictOf(() => {
              outreach = createOutreach({
                storage: k.create(),
                transports: {
                  sms: {
                    channel: 'sms',
                    name: 'ok',
                    send: async (m) => ({ outcome: 'accepted', providerMessageId: m.messageId }),
                  },
                },
                onError: (e) => workerErrors.push(e),
                ...(extra as object),
              } as Parameters<typeof createOutreach>[0]);
            });
            let v: Verdict = built;
            if (built.kind === 'ok' && outreach) {
              const o = outreach;
              v = await verdictOf(async () => {
                const c = await o.createCampaign({ name: 'n', channel: 'sms', content: { body: 'Hi' } });
                await o.addContacts(c.id, [{ address: phone(1) }, { address: phone(2) }]);
                await o.save(c.id);
                await o.run(c.id);
                await o.worker.runOnce();
              }, 2000);
              await o.worker.stop();
              // What the worker met (a deadline storage cannot keep) counts as much as what a call threw.
              const [failed] = workerErrors;
              if (v.kind === 'ok' && failed !== undefined)
                v = { kind: 'storage_error', message: `worker: ${String(failed)}` };
            }
            if (v.kind === 'untyped' || v.kind === 'storage_error' || v.kind === 'hang') {
              throw new Error(
                `${k.name}: createOutreach(${JSON.stringify(extra, (_, x) => (typeof x === 'symbol' ? String(x) : x))}) → ${JSON.stringify(v)}`,
              );
            }
            outcomes.push(summary(v));
          }
          expect(new Set(outcomes).size, outcomes.join(' ')).toBe(1);
        },
      ),
      fuzzParams({ numRuns: Math.max(20, Math.round(FUZZ_RUNS / 10)) }),
    );
  }, 600_000);
});

const accepting: SmsTransport = {
  channel: 'sms',
  name: 'accepting-sms',
  send: async (m) => ({ outcome: 'accepted', providerMessageId: `SM-${m.messageId}` }),
};

/** Builds an engine with hostile options, then uses it end to end; errors the worker met count too. */
async function useWithOptions(kind: StorageKind, options: Record<string, unknown>): Promise<Verdict> {
  const worker: unknown[] = [];
  let outreach: Outreach | undefined;
  const built = await verdictOf(() => {
    outreach = createOutreach({
      storage: kind.create(),
      transports: { sms: accepting },
      onError: (e) => worker.push(e),
      ...options,
    } as Parameters<typeof createOutreach>[0]);
  });
  if (built.kind !== 'ok' || !outreach) return built;
  const o = outreach;
  const used = await verdictOf(async () => {
    const c = await o.createCampaign({ name: 'n', channel: 'sms', content: { body: 'Hi' } });
    await o.addContacts(c.id, [{ address: phone(1) }, { address: phone(2) }]);
    await o.save(c.id);
    await o.run(c.id);
    await o.worker.runOnce();
    await o.listCampaigns();
  }, 3000);
  await o.worker.stop();
  if (used.kind !== 'ok') return used;
  const [first] = worker;
  if (first !== undefined) return { kind: 'storage_error', message: `worker: ${String(first).slice(0, 200)}` };
  return used;
}

describe('every input checked at the door', () => {
  it('A CSV cell with a NUL byte or over the size limit rejects its row with line and reason; the other rows import, on every storage', async () => {
    const csv = [
      'phone,first_name',
      '+14155550201,Ada',
      '+14155550202,Bo\u0000b',
      `+14155550203,${'x'.repeat(LIMITS.fieldValueLength + 1)}`,
      '+14155550204,Cy',
    ].join('\n');
    const results: unknown[] = [];
    for (const k of kinds) {
      const f = await hostileFixture(k.create());
      const r = await f.outreach.importContacts(f.ids.draftSms, csv);
      expect(r.imported, k.name).toBe(2);
      expect(r.rejected.map((x) => [x.line, x.column, x.code])).toEqual([
        [3, 'first_name', 'invalid_cell'],
        [4, 'first_name', 'invalid_cell'],
      ]);
      expect(r.rejected[0]?.reason).toContain('NUL');
      expect(r.rejected[1]?.reason).toContain(`at most ${LIMITS.fieldValueLength}`);
      const contacts = await f.outreach.listContacts(f.ids.draftSms);
      expect(contacts.map((c) => c.address).sort()).toEqual(['+14155550201', '+14155550204', phone(0)].sort());
      results.push(r);
    }
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
  });

  it('should refuse every caller mistake of the issue with a typed error that changes nothing, the same on every storage', async () => {
    const table: Record<string, Record<string, string>> = {};
    const changed: string[] = [];
    const record = (label: string, storage: string, v: Verdict) => {
      const row = table[label] ?? {};
      row[storage] = v.kind === 'ok' || v.kind === 'typed' ? summary(v) : JSON.stringify(v);
      table[label] = row;
    };
    for (const kind of kinds) {
      let f: Fixture = await hostileFixture(kind.create());
      for (const h of HOSTILE_CALLS) {
        const before = await f.snapshot();
        const v = await verdictOf(() => h.call(f.outreach, f.ids));
        const after = await f.snapshot();
        if (v.kind !== 'ok' && after !== before) changed.push(`${kind.name}: ${h.label}`);
        record(h.label, kind.name, v);
        if (after !== before) f = await hostileFixture(kind.create());
      }
      for (const h of HOSTILE_OPTIONS) {
        if (h.freezes && process.env.HOSTILE_SKIP_FREEZES) continue;
        const v = await useWithOptions(kind, h.options);
        record(`createOutreach(${h.label})`, kind.name, v);
      }
    }
    const counts = { untyped: 0, hang: 0, storage_error: 0, differ: 0, accepted: 0 };
    for (const [label, byKind] of Object.entries(table)) {
      const values = Object.values(byKind);
      if (new Set(values).size > 1) counts.differ++;
      for (const v of values) {
        if (v.includes('"untyped"')) counts.untyped++;
        if (v.includes('"hang"')) counts.hang++;
        if (v.includes('"storage_error"')) counts.storage_error++;
        if (v === 'ok') counts.accepted++;
      }
      void label;
    }
    console.info(`[hostile] storages=${kinds.map((k) => k.name).join(',')} calls=${Object.keys(table).length}`, counts);
    if (process.env.HOSTILE_VERBOSE) console.info(JSON.stringify(table, null, 1));
    expect(changed).toEqual([]);
    const bad = Object.entries(table).filter(([, byKind]) =>
      Object.values(byKind).some((v) => v !== 'typed:VALIDATION_FAILED' && v !== 'typed:NOT_FOUND'),
    );
    expect(bad).toEqual([]);
    const differing = Object.entries(table).filter(([, byKind]) => new Set(Object.values(byKind)).size > 1);
    expect(differing).toEqual([]);
  }, 120_000);
});

// ── Webhooks ────────────────────────────────────────────────────────────────

describe('webhook handlers under signed requests with hostile fields', () => {
  it('should answer 4xx (reported to onReject with a reason) or 2xx to malformed fields, never 5xx, the same on every storage', async () => {
    const fixtures = new Map<StorageKind, Fixture>();
    for (const k of kinds) fixtures.set(k, await hostileFixture(k.create()));
    await fc.assert(
      fc.asyncProperty(fc.oneof(twilioCase, sendgridCase, unsubscribeCase), async (c) => {
        const statuses: number[] = [];
        let changed = false;
        for (const k of kinds) {
          const f = fixtures.get(k) as Fixture;
          const rejections: WebhookRejection[] = [];
          const before = await f.snapshot();
          const status = await send(handlers(f, rejections), c, f.ids);
          expect(status, `${k.name}: ${c.kind} answered ${status}`).toBeLessThan(500);
          if (status >= 400) {
            expect(rejections).toHaveLength(1);
            expect(rejections[0]?.reason).not.toBe('');
            expect(await f.snapshot()).toBe(before);
          } else if ((await f.snapshot()) !== before) changed = true;
          statuses.push(status);
        }
        expect(new Set(statuses).size, statuses.join(' ')).toBe(1);
        if (changed) for (const k of kinds) fixtures.set(k, await hostileFixture(k.create()));
      }),
      fuzzParams({ numRuns: Math.max(30, Math.round(FUZZ_RUNS / 8)) }),
    );
  }, 600_000);

  it('should answer 400 to a signed Twilio callback with a NUL in MessageSid or in our message id, and say why', async () => {
    for (const k of kinds) {
      const f = await hostileFixture(k.create());
      const rejections: WebhookRejection[] = [];
      const h = handlers(f, rejections);
      const before = await f.snapshot();
      const sid = await send(
        h,
        {
          kind: 'twilio',
          messageId: new Ref('messageId'),
          params: { MessageSid: 'SM\u0000', MessageStatus: 'delivered' },
        },
        f.ids,
      );
      const ours = await send(
        h,
        { kind: 'twilio', messageId: 'msg_\u0000', params: { MessageStatus: 'delivered' } },
        f.ids,
      );
      expect([sid, ours], k.name).toEqual([400, 400]);
      expect(rejections.map((r) => r.reason).join(' ')).toContain('NUL');
      expect(await f.snapshot()).toBe(before);
    }
  });
});
