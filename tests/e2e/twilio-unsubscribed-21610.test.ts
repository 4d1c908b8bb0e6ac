/**
 * Twilio error 21610 ("Attempt to send to unsubscribed recipient", issue 20): the number opted out at
 * Twilio, so it joins the suppression list of the message's scope, whether Twilio refuses the create
 * (the transport's answer) or reports the failure in a status callback (the webhook handler). The
 * message keeps its status and code (Opted Out, 21610); the next campaign in that scope skips the
 * number. The real engine on memory storage, the real transport against a loopback Messages API, and
 * the real handler over loopback HTTP.
 */

import { PGlite } from '@electric-sql/pglite';
import { createOutreach, type Outreach, type Storage } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { computeTwilioSignature, twilioTransport, twilioWebhookHandler } from '../../adapters/twilio/index.js';
import { fakeProvider, json, serveWebHandler } from '../support/loopback-http.js';

const AUTH_TOKEN = 'twilio-auth-token-for-21610-tests';
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const SCOPE = 'school-7';
const REFUSED_AT_CREATE = '+14155551001';
const REFUSED_LATER = '+14155551002';
const FINE = '+14155551003';

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

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function world() {
  const clock = createFakeClock();
  const created: { to: string; sid: string; callback: string }[] = [];
  const api = await fakeProvider((request, res) => {
    const form = new URLSearchParams(request.body);
    const to = form.get('To') ?? '';
    if (to === REFUSED_AT_CREATE) {
      return json(res, 400, {
        code: 21610,
        message: 'Attempt to send to unsubscribed recipient',
        more_info: 'https://www.twilio.com/docs/errors/21610',
        status: 400,
      });
    }
    const sid = `SM${String(created.length + 1).padStart(32, '0')}`;
    created.push({ to, sid, callback: form.get('StatusCallback') ?? '' });
    json(res, 201, { sid, status: 'accepted', to });
  });
  let handler: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 });
  const hooks = await serveWebHandler((request) => handler(request));
  closers.push(api.close, hooks.close);
  const errors: unknown[] = [];
  const outreach: Outreach = createOutreach({
    storage: makeStorage(),
    clock,
    transports: {
      sms: twilioTransport({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        messagingServiceSid: `MG${'0'.repeat(32)}`,
        statusCallbackUrl: `${hooks.url}/twilio/status`,
        baseUrl: api.url,
      }),
    },
    onError: (e) => errors.push(e),
  });
  handler = twilioWebhookHandler({ outreach, authToken: AUTH_TOKEN });
  outreach.worker.start();

  const campaign = async (addresses: string[]) => {
    const c = await outreach.createCampaign({
      name: 'Snow day',
      channel: 'sms',
      scope: SCOPE,
      content: { body: 'School is closed today.' },
    });
    await outreach.addContacts(
      c.id,
      addresses.map((address) => ({ address })),
    );
    await outreach.save(c.id);
    await outreach.run(c.id);
    await clock.flush();
    // The transport's answers come back in real time (loopback HTTP): wait until each is recorded.
    await vi.waitFor(
      async () => {
        await clock.flush();
        const ms = await outreach.listMessages(c.id, { limit: 100 });
        expect(
          ms.filter((m) => m.status === 'queued' || (m.status === 'sending' && !m.context.providerMessageId)),
        ).toEqual([]);
      },
      { timeout: 10_000 },
    );
    return c.id;
  };
  /** Plays Twilio: a signed status callback to the message's StatusCallback. */
  const callback = async (to: string, params: Record<string, string>) => {
    const c = created.find((x) => x.to === to);
    if (!c) throw new Error(`no message created for ${to}`);
    const form = { AccountSid: ACCOUNT_SID, MessageSid: c.sid, SmsSid: c.sid, To: to, ...params };
    const res = await fetch(c.callback, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': await computeTwilioSignature(AUTH_TOKEN, c.callback, form),
      },
      body: new URLSearchParams(form),
    });
    await clock.flush();
    return res.status;
  };
  const messageOf = async (campaignId: string, to: string) => {
    const m = (await outreach.listMessages(campaignId, { limit: 100 })).find((x) => x.to === to);
    return m && { status: m.status, reason: m.context.reason, code: m.context.code };
  };
  const suppressed = (address: string, scope = SCOPE) => outreach.isSuppressed({ channel: 'sms', address, scope });
  return { outreach, api, created, campaign, callback, messageOf, suppressed, errors };
}

describe.each(STORAGES)('twilio: 21610 suppresses the number in the message scope, on %s', (_storage, make) => {
  beforeAll(() => {
    makeStorage = make;
  });

  it('should suppress a number Twilio refuses at create with 21610, keeping the message Opted Out with its code', async () => {
    const w = await world();
    const id = await w.campaign([REFUSED_AT_CREATE, FINE]);
    expect(await w.messageOf(id, REFUSED_AT_CREATE)).toEqual({
      status: 'opted_out',
      reason: 'opted_out',
      code: '21610',
    });
    expect(await w.suppressed(REFUSED_AT_CREATE)).toBe(true);
    expect(await w.suppressed(FINE)).toBe(false);
    // The scope of the message, not the default one.
    expect(await w.suppressed(REFUSED_AT_CREATE, 'default')).toBe(false);
    expect(w.errors).toEqual([]);
  });

  it('should suppress a number whose status callback fails with 21610, keeping the message Opted Out with its code', async () => {
    const w = await world();
    const id = await w.campaign([REFUSED_LATER, FINE]);
    expect(await w.suppressed(REFUSED_LATER)).toBe(false);
    expect(await w.callback(REFUSED_LATER, { MessageStatus: 'failed', ErrorCode: '21610' })).toBe(200);
    expect(await w.callback(FINE, { MessageStatus: 'failed', ErrorCode: '30003' })).toBe(200);
    expect(await w.messageOf(id, REFUSED_LATER)).toEqual({ status: 'opted_out', reason: 'opted_out', code: '21610' });
    expect(await w.suppressed(REFUSED_LATER)).toBe(true);
    expect(await w.suppressed(FINE)).toBe(false);
    // Twilio's repeat of the same callback changes nothing more.
    expect(await w.callback(REFUSED_LATER, { MessageStatus: 'failed', ErrorCode: '21610' })).toBe(200);
    expect(await w.messageOf(id, REFUSED_LATER)).toEqual({ status: 'opted_out', reason: 'opted_out', code: '21610' });
  });

  it('should not message a number refused with 21610 again in the next campaign of the scope', async () => {
    const w = await world();
    await w.campaign([REFUSED_AT_CREATE, REFUSED_LATER]);
    await w.callback(REFUSED_LATER, { MessageStatus: 'undelivered', ErrorCode: '21610' });
    const creates = w.api.requests.length;
    const next = await w.campaign([REFUSED_AT_CREATE, REFUSED_LATER, FINE]);
    expect(w.api.requests.length - creates).toBe(1);
    expect(w.api.requests.at(-1)?.body).toContain(encodeURIComponent(FINE));
    expect((await w.messageOf(next, REFUSED_AT_CREATE))?.status).toBe('opted_out');
    expect((await w.messageOf(next, REFUSED_LATER))?.status).toBe('opted_out');
  });
});
