/**
 * `twilioTransport().lookup`: asks Twilio's Messages list (over real loopback HTTP) whether it has a
 * message whose send had an unknown outcome; and the engine end to end on the fake clock with answers
 * lost before and after Twilio created the message.
 */
import { readFileSync } from 'node:fs';
import { createOutreach, type LookupOptions } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, sampleSms } from 'campaign-lifecycle/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { twilioTransport } from '../../../adapters/twilio/index.js';
import { type FakeTwilio, fakeTwilioMessages, twilioDate } from '../../support/fake-twilio-messages.js';
import { allMessages, readyCampaign } from '../../support/harness.js';
import { fakeProvider, json, type Loopback } from '../../support/loopback-http.js';
import { checkSchema, type Schema } from '../../support/schema-check.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const SERVICE = 'MG0123456789abcdef0123456789abcdef';
const FROM = '+14155550000';
const T0 = Date.parse('2026-01-05T09:00:00Z');

const listSpec = JSON.parse(
  readFileSync(new URL('../../fixtures/providers/twilio-api-v2010-messages-list.json', import.meta.url), 'utf8'),
) as { path: string; queryParameters: Record<string, Schema>; pageFields: string[]; messageFields: string[] };

let servers: Loopback[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

async function twilio(options: Parameters<typeof fakeTwilioMessages>[0]): Promise<FakeTwilio> {
  const api = await fakeTwilioMessages(options);
  servers.push(api);
  return api;
}

function transportFor(url: string, now: () => number, extra: Record<string, unknown> = { from: FROM }) {
  return twilioTransport({
    accountSid: ACCOUNT,
    authToken: 'token',
    statusCallbackUrl: 'https://hooks.example.com/twilio/status',
    baseUrl: url,
    clock: { now },
    ...extra,
  });
}

/** A send dispatched at T0, its request started by T0 + 30 s; asked 10 minutes later. */
const window: LookupOptions = { dispatchedAt: T0, startedBy: T0 + 30_000 };
const later = () => T0 + 10 * 60_000;

/** A message already at the fake, as Twilio lists it. */
function listed(overrides: Record<string, unknown> = {}) {
  return {
    sid: 'SM00000000000000000000000000000001',
    to: '+14155550100',
    from: FROM,
    messaging_service_sid: null,
    body: 'Conformance test',
    status: 'delivered',
    error_code: null,
    date_created: twilioDate(T0 + 1000),
    direction: 'outbound-api',
    ...overrides,
  };
}

async function seeded(...messages: ReturnType<typeof listed>[]) {
  const api = await twilio({ now: later });
  api.messages.push(...(messages as never[]));
  return api;
}

describe('twilioTransport: lookup of a send whose outcome is unknown', () => {
  it('should send a list request that validates against the OpenAPI query parameters', async () => {
    const api = await seeded();
    const sms = transportFor(api.url, later);
    await sms.lookup?.(sampleSms(), window);
    const [request] = api.lists;
    const url = new URL(request?.path ?? '', 'http://x');
    expect(request?.method).toBe('GET');
    expect(url.pathname).toBe(listSpec.path.replace('{AccountSid}', ACCOUNT));
    const query = Object.fromEntries(url.searchParams);
    expect(query).toEqual({ To: '+14155550100', From: FROM, PageSize: '1000' });
    const schema: Schema = { type: 'object', properties: listSpec.queryParameters };
    expect(checkSchema(schema, query, { strict: true, form: true })).toEqual([]);
    expect(request?.headers.authorization).toMatch(/^Basic /);
  });

  it('should read only fields the spec lists for a page and a message', () => {
    for (const f of ['messages', 'next_page_uri']) expect(listSpec.pageFields).toContain(f);
    for (const f of ['sid', 'body', 'status', 'date_created', 'error_code', 'messaging_service_sid', 'to', 'from'])
      expect(listSpec.messageFields).toContain(f);
  });

  it.each([
    ['delivered', { status: 'delivered' }],
    ['sent', { status: 'sent' }],
    ['queued', { status: 'queued' }],
    ['accepted', { status: 'accepted' }],
  ])('should find the one message with this body in the window (%s) and map its status', async (status, expected) => {
    const api = await seeded(listed({ status }));
    const r = await transportFor(api.url, later).lookup?.(sampleSms(), window);
    expect(r).toEqual({
      outcome: 'found',
      providerMessageId: 'SM00000000000000000000000000000001',
      status: expected.status === 'queued' || expected.status === 'accepted' ? 'sending' : expected.status,
    });
  });

  it('should report a found message that failed with the reason of its error code', async () => {
    const api = await seeded(listed({ status: 'undelivered', error_code: 30003 }));
    const r = await transportFor(api.url, later).lookup?.(sampleSms(), window);
    expect(r).toMatchObject({ outcome: 'found', status: 'failed', code: '30003', reason: 'unreachable' });
  });

  it('should prove absence only when nothing went to the recipient in the window and the window has closed', async () => {
    // An older message with the same body, before the dispatch: not this send.
    const api = await seeded(listed({ date_created: twilioDate(T0 - 3_600_000) }));
    const sms = transportFor(api.url, later);
    expect(await sms.lookup?.(sampleSms(), window)).toEqual({ outcome: 'absent' });
    const early = transportFor(api.url, () => T0 + 60_000);
    expect(await early.lookup?.(sampleSms(), window)).toMatchObject({ outcome: 'undecidable' });
  });

  it('should not prove absence when a message went to the recipient after the window (a stalled worker may have handed it over late)', async () => {
    const api = await seeded(listed({ date_created: twilioDate(T0 + 5 * 60_000) }));
    expect(await transportFor(api.url, later).lookup?.(sampleSms(), window)).toMatchObject({
      outcome: 'undecidable',
      error: expect.stringContaining('after the window'),
    });
  });

  it('should be undecidable when several messages match, or one in the window has another body', async () => {
    const two = await seeded(listed(), listed({ sid: 'SM00000000000000000000000000000002' }));
    expect(await transportFor(two.url, later).lookup?.(sampleSms(), window)).toMatchObject({
      outcome: 'undecidable',
      error: expect.stringContaining('2 messages match'),
    });
    // Twilio rewrote the body (smart encoding, say): it may be ours, so it is no proof of absence.
    const rewritten = await seeded(listed({ body: 'Conformance test (rewritten)' }));
    expect(await transportFor(rewritten.url, later).lookup?.(sampleSms(), window)).toMatchObject({
      outcome: 'undecidable',
    });
  });

  it('should follow next_page_uri to the end of the listing', async () => {
    const api = await seeded(
      listed(),
      ...Array.from({ length: 2500 }, (_, i) =>
        listed({ sid: `SM${String(i + 10).padStart(32, '0')}`, date_created: twilioDate(T0 - 86_400_000) }),
      ),
    );
    const r = await transportFor(api.url, later).lookup?.(sampleSms(), window);
    expect(r).toMatchObject({ outcome: 'found', providerMessageId: 'SM00000000000000000000000000000001' });
    expect(api.lists).toHaveLength(3);
    expect(new URL(api.lists[2]?.path ?? '', 'http://x').searchParams.get('PageToken')).toBe('2000');
  });

  it('should give up as undecidable after 5 pages', async () => {
    const api = await seeded(
      ...Array.from({ length: 5001 }, (_, i) =>
        listed({ sid: `SM${String(i + 10).padStart(32, '0')}`, date_created: twilioDate(T0 - 86_400_000) }),
      ),
    );
    const r = await transportFor(api.url, later).lookup?.(sampleSms(), window);
    expect(r).toMatchObject({ outcome: 'undecidable', error: expect.stringContaining('5 pages') });
  });

  it('should list by To alone with a Messaging Service and keep only its messages', async () => {
    const api = await seeded(
      listed({ from: '+14155550001', messaging_service_sid: SERVICE }),
      listed({ sid: 'SM00000000000000000000000000000009', from: '+14155550002', messaging_service_sid: null }),
    );
    const r = await transportFor(api.url, later, { messagingServiceSid: SERVICE }).lookup?.(sampleSms(), window);
    expect(r).toMatchObject({ outcome: 'found', providerMessageId: 'SM00000000000000000000000000000001' });
    expect(Object.fromEntries(new URL(api.lists[0]?.path ?? '', 'http://x').searchParams)).toEqual({
      To: '+14155550100',
      PageSize: '1000',
    });
  });

  it.each([
    ['HTTP 500', (res: Parameters<typeof json>[0]) => json(res, 500, { message: 'oops' })],
    ['HTTP 401', (res: Parameters<typeof json>[0]) => json(res, 401, { code: 20003 })],
    ['a body without messages', (res: Parameters<typeof json>[0]) => json(res, 200, { nope: true })],
    ['a dropped connection', () => 'drop'],
  ])('should be undecidable on %s', async (_name, answer) => {
    const api = await fakeProvider((_req, res) => answer(res));
    servers.push(api);
    const r = await transportFor(api.url, later).lookup?.(sampleSms(), window);
    expect(r).toMatchObject({ outcome: 'undecidable' });
  });

  it('should offer no lookup with lookup: false', () => {
    expect(transportFor('http://127.0.0.1:9', later, { from: FROM, lookup: false }).lookup).toBeUndefined();
    expect(typeof transportFor('http://127.0.0.1:9', later).lookup).toBe('function');
  });
});

describe('engine with twilioTransport: answers lost before and after Twilio created the message', () => {
  it('should adopt the SID of a message Twilio created, resend one Twilio never saw, each created exactly once', async () => {
    const clock = createFakeClock({ start: T0 });
    const lost = new Set<string>();
    const api = await twilio({
      now: () => clock.now(),
      status: 'sent',
      onCreate: (form) => {
        const to = form.get('To') ?? '';
        if (lost.has(to)) return 'answer';
        lost.add(to);
        // Recipient 0: created, the answer lost. Recipient 1: lost before Twilio saw it.
        return to.endsWith('0') ? 'drop-after' : 'drop-before';
      },
    });
    const sms = transportFor(api.url, () => clock.now());
    const errors: unknown[] = [];
    const outreach = createOutreach({
      storage: memoryStorage(),
      clock,
      transports: { sms },
      onError: (e) => errors.push(e),
    });
    outreach.worker.start();
    const c = await readyCampaign(outreach, 'sms', 2);
    await outreach.run(c.id);
    await clock.flush();
    expect((await allMessages(outreach, c.id)).map((m) => m.status)).toEqual(['sending', 'sending']);
    await clock.advance('10m');
    await clock.advance('5m');
    const [found, absent] = await allMessages(outreach, c.id);
    const created = (to: string) => api.messages.filter((m) => m.to === to);
    expect(created(found?.to as string)).toHaveLength(1);
    expect(created(absent?.to as string)).toHaveLength(1);
    expect(found?.status).toBe('sent');
    expect(found?.context.providerMessageId).toBe(created(found?.to as string)[0]?.sid);
    expect((await outreach.getMessage(found?.id as string)).log.map((e) => e.to)).not.toContain('failed');
    expect(absent?.status).toBe('sending');
    expect(absent?.context.attempts).toBe(2);
    expect(absent?.context.providerMessageId).toBe(created(absent?.to as string)[0]?.sid);
    await outreach.worker.stop();
    expect(errors).toEqual([]);
  });
});
