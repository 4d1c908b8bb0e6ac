/**
 * Every input checked at the door: each caller mistake the hostile-input run found (the issue's
 * list) is, on every storage, a typed refusal that changes nothing, the same on memory, PGlite and
 * (with DATABASE_URL) PostgreSQL; never STORAGE_ERROR, an untyped error or a hang.
 */
import { createOutreach, type Outreach, type SmsTransport } from 'campaign-lifecycle';
import { afterAll, describe, expect, it } from 'vitest';
import { phone } from '../engine/harness.js';
import {
  type Fixture,
  HOSTILE_CALLS,
  HOSTILE_OPTIONS,
  hostileFixture,
  type StorageKind,
  storageKinds,
  type Verdict,
  verdictOf,
} from './hostile-support.js';

const kinds = storageKinds();
afterAll(async () => {
  for (const k of kinds) await k.close();
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

const summary = (v: Verdict) => (v.kind === 'typed' ? `typed:${v.code}` : v.kind);

describe('every input checked at the door', () => {
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
