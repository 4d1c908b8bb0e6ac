/**
 * Batched email through the engine (issue 17): with a transport that has `sendBatch`, a dispatch round
 * of one campaign goes to SendGrid in one request, a personalization per message; every message takes
 * the request's answer; the rate limit counts recipients, not requests. The real engine on memory
 * storage and the fake clock, the real `sendgridTransport` against a loopback mail send.
 */
import type { ServerResponse } from 'node:http';
import { PGlite } from '@electric-sql/pglite';
import { createOutreach, type Outreach, type Storage, type TransportLimits } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SENDGRID_MESSAGE_ID_ARG, sendgridTransport } from '../../adapters/sendgrid/index.js';
import { fakeProvider, type Loopback, type RecordedRequest } from '../support/loopback-http.js';

interface MailBody {
  personalizations: { to: { email: string }[]; custom_args: Record<string, string> }[];
}

// Created on first use, so that its start-up does not compete with the memory-storage tests.
let db: PGlite | undefined;
const pglite = () => {
  db ??= new PGlite();
  return db;
};
afterAll(() => db?.close());
let schemas = 0;
/** Both storages the library ships: memory, and Postgres (PGlite, a schema per test). */
const STORAGES = [
  ['memory storage', () => memoryStorage()],
  ['PGlite', () => postgresStorage({ pool: pglite(), schema: `batching_${process.pid}_${++schemas}` })],
] as const;
let makeStorage: () => Storage = STORAGES[0][1];

/** Loopback answers come in real time: generous for a loaded machine. */
const WAIT = { timeout: 10_000 };

/**
 * Fires what is due on the fake clock until `check` passes: the worker arms its next timer after
 * real-time work (storage, loopback HTTP), so one flush may come too early.
 */
const settle = (clock: { flush(): Promise<void> }, check: () => unknown) =>
  vi.waitFor(async () => {
    await clock.flush();
    await check();
  }, WAIT);

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

let ids = 0;
const accept = (_r: RecordedRequest, res: ServerResponse) => {
  res.writeHead(202, { 'x-message-id': `batch${++ids}` });
  res.end();
};

async function world(limits: TransportLimits, script: (r: RecordedRequest, res: ServerResponse) => unknown = accept) {
  const clock = createFakeClock();
  const api: Loopback = await fakeProvider(script);
  closers.push(api.close);
  const outreach: Outreach = createOutreach({
    storage: makeStorage(),
    clock,
    transports: {
      email: sendgridTransport({
        apiKey: 'SG.test-key',
        baseUrl: api.url,
        from: { email: 'office@school.example' },
        timeoutMs: 300,
        limits,
      }),
    },
    unsubscribe: { baseUrl: 'https://school.example/unsubscribe', secret: 'unsubscribe-secret-for-batching' },
  });
  outreach.worker.start();
  const campaign = async (n: number) => {
    const c = await outreach.createCampaign({
      name: 'Snow day',
      channel: 'email',
      content: { subject: 'Snow day', html: '<p>School is closed today.</p>' },
    });
    await outreach.addContacts(
      c.id,
      Array.from({ length: n }, (_, i) => ({ address: `parent${i}@example.com` })),
    );
    await outreach.save(c.id);
    await outreach.run(c.id);
    return c.id;
  };
  const bodies = () => api.requests.map((r) => JSON.parse(r.body) as MailBody);
  const messages = async (id: string) => outreach.listMessages(id, { limit: 1000 });
  return { clock, api, outreach, campaign, bodies, messages };
}

describe.each(STORAGES)('engine: batched email, on %s', (_storage, make) => {
  beforeAll(() => {
    makeStorage = make;
  });

  it('should send a round of a campaign in one request, every message accepted under the request id', async () => {
    const w = await world({ concurrency: 1000 });
    const id = await w.campaign(120);
    await settle(w.clock, () => expect(w.api.requests).toHaveLength(1));
    const [body] = w.bodies();
    expect(body?.personalizations).toHaveLength(120);
    const ms = await w.messages(id);
    expect(new Set(body?.personalizations.map((p) => p.custom_args[SENDGRID_MESSAGE_ID_ARG]))).toEqual(
      new Set(ms.map((m) => m.id)),
    );
    // The answer is recorded once the request returns (real time on loopback).
    await vi.waitFor(
      async () =>
        expect(new Set((await w.messages(id)).map((m) => `${m.status}/${m.context.providerMessageId}`))).toEqual(
          new Set([`sending/batch${ids}`]),
        ),
      WAIT,
    );
  });

  it('should count recipients, not requests, against the rate limit', async () => {
    const w = await world({ concurrency: 1000, ratePerSecond: 50 });
    const id = await w.campaign(120);
    const sizes = () => w.bodies().map((b) => b.personalizations.length);
    await settle(w.clock, () => expect(sizes()).toEqual([50]));
    await w.clock.advance('999ms');
    await w.clock.flush();
    expect(sizes()).toEqual([50]);
    await w.clock.advance('1ms');
    await settle(w.clock, () => expect(sizes()).toEqual([50, 50]));
    await w.clock.advance('1s');
    await settle(w.clock, () => expect(sizes()).toEqual([50, 50, 20]));
    await vi.waitFor(
      async () => expect((await w.messages(id)).every((m) => m.context.providerMessageId)).toBe(true),
      WAIT,
    );
  });

  it('should hand a batch at most `concurrency` messages', async () => {
    const w = await world({ concurrency: 40 });
    await w.campaign(100);
    await settle(w.clock, () => expect(w.bodies().map((b) => b.personalizations.length)).toEqual([40, 40, 20]));
  });

  it('should leave every message of a request that timed out unknown, and send none of them again', async () => {
    const w = await world({ concurrency: 1000 }, () => 'hang');
    const id = await w.campaign(30);
    await settle(w.clock, () => expect(w.api.requests).toHaveLength(1));
    // Past the transport's 300 ms timeout in real time, then a minute on the engine's clock.
    await new Promise((resolve) => setTimeout(resolve, 700));
    await w.clock.advance('1m');
    await w.clock.flush();
    expect(w.api.requests).toHaveLength(1);
    const ms = await w.messages(id);
    expect(ms.every((m) => m.status === 'sending' && m.context.providerMessageId === null)).toBe(true);
    expect((await w.outreach.getCampaign(id))?.status).toBe('in_progress');
  });

  it('should take every email of a sendBatch that throws as unknown, never resent', async () => {
    const clock = createFakeClock();
    const errors: unknown[] = [];
    let calls = 0;
    const outreach = createOutreach({
      storage: makeStorage(),
      clock,
      transports: {
        email: {
          channel: 'email',
          name: 'throws',
          limits: { concurrency: 100 },
          send: async () => ({ outcome: 'accepted' }),
          sendBatch: async () => {
            calls++;
            throw new Error('broken transport');
          },
        },
      },
      onError: (e) => errors.push(e),
    });
    outreach.worker.start();
    const c = await outreach.createCampaign({
      name: 'Snow day',
      channel: 'email',
      content: { subject: 'Snow day', html: '<p>Closed.</p>', from: { email: 'office@school.example' } },
    });
    await outreach.addContacts(c.id, [{ address: 'a@example.com' }, { address: 'b@example.com' }]);
    await outreach.save(c.id);
    await outreach.run(c.id);
    await clock.flush();
    await clock.advance('1m');
    await clock.flush();
    expect(calls).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ message: 'broken transport' })]);
    const ms = await outreach.listMessages(c.id, { limit: 10 });
    expect(ms.map((m) => m.status)).toEqual(['sending', 'sending']);
  });
});
