/**
 * Webhook security over real HTTP on 127.0.0.1: forged, replayed, redirected, truncated, oversize
 * and wrong-shape requests to the Twilio and SendGrid handlers are refused (401/400/413) and change
 * nothing in a real engine whose messages they name; a correct request to the same engine does.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import { createOutreach, type EmailTransport, type Outreach, type SmsTransport } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridWebhookHandler,
} from '../../adapters/sendgrid/index.js';
import { twilioBodySha256, twilioWebhookHandler } from '../../adapters/twilio/index.js';
import { engineSnapshot } from '../support/fuzz-support.js';
import { mail, phone, readyCampaign } from '../support/harness.js';
import { serveWebHandler } from '../support/loopback-http.js';

const TOKEN = 'twilio-auth-token-for-security-tests';
const PUBLIC_URL = 'https://hooks.example.com';
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_KEY = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const MAX_AGE = 300;

const acceptingSms: SmsTransport = {
  channel: 'sms',
  name: 'accepting-sms',
  send: async (m) => ({ outcome: 'accepted', providerMessageId: `SM${m.messageId.slice(4)}` }),
};
const acceptingEmail: EmailTransport = {
  channel: 'email',
  name: 'accepting-email',
  send: async (m) => ({ outcome: 'accepted', providerMessageId: `sg${m.messageId.slice(4)}` }),
};

let clock: FakeClock;
let outreach: Outreach;
let smsIds: string[];
let emailIds: string[];
let campaignIds: string[];
let servers: { url: string; close: () => Promise<void> }[] = [];
let twilioUrl: string;
let proxiedTwilioUrl: string;
let sendgridUrl: string;

/** Everything the requests could change: both campaigns, their messages and logs, and the suppression lists. */
const snapshot = () =>
  engineSnapshot(outreach, campaignIds, [
    { channel: 'sms', address: phone(0) },
    { channel: 'email', address: mail(0) },
  ]);

beforeAll(async () => {
  clock = createFakeClock();
  outreach = createOutreach({
    storage: memoryStorage(),
    clock,
    transports: { sms: acceptingSms, email: acceptingEmail },
    onError: (e) => {
      throw e;
    },
  });
  const sms = await readyCampaign(outreach, 'sms', 2);
  const email = await readyCampaign(outreach, 'email', 2);
  await outreach.run(sms.id);
  await outreach.run(email.id);
  await outreach.worker.runOnce();
  smsIds = (await outreach.listMessages(sms.id)).map((m) => m.id);
  emailIds = (await outreach.listMessages(email.id)).map((m) => m.id);
  campaignIds = [sms.id, email.id];
  const direct = await serveWebHandler(twilioWebhookHandler({ outreach, authToken: TOKEN }));
  const proxied = await serveWebHandler(twilioWebhookHandler({ outreach, authToken: TOKEN, publicUrl: PUBLIC_URL }));
  const sendgrid = await serveWebHandler(
    sendgridWebhookHandler({ outreach, publicKey: SENDGRID_KEY, maxAgeSeconds: MAX_AGE, clock }),
  );
  servers = [direct, proxied, sendgrid];
  twilioUrl = direct.url;
  proxiedTwilioUrl = proxied.url;
  sendgridUrl = `${sendgrid.url}/sendgrid/events`;
});

afterAll(async () => {
  for (const s of servers) await s.close();
});

let before: string;
beforeEach(async () => {
  before = await snapshot();
});

/** Asserts the response status and that the engine is exactly as it was before the request. */
async function refused(response: Response, status: number) {
  expect(response.status).toBe(status);
  await response.arrayBuffer();
  expect(await snapshot()).toBe(before);
}

/**
 * POSTs an oversize body on a connection of its own (node:http, no keep-alive): the server answers
 * 413 without reading the rest, so that connection must not be reused by later requests.
 * `chunks` are written one by one (chunked encoding, no Content-Length) when `declareLength` is false.
 */
function postOversize(
  url: string,
  headers: Record<string, string>,
  chunks: readonly string[],
  declareLength: boolean,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const length = chunks.reduce((n, c) => n + Buffer.byteLength(c), 0);
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, ...(declareLength ? { 'content-length': String(length) } : {}) },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // The server may close the socket while the rest is still being written: the answer is what counts.
    req.on('error', (error) => (req.writableFinished ? undefined : reject(error)));
    let i = 0;
    const next = () => {
      if (i >= chunks.length) return req.end();
      if (req.write(chunks[i++] as string)) setImmediate(next);
      else req.once('drain', next);
    };
    next();
  });
}

// ── Twilio ──────────────────────────────────────────────────────────────────

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
const deliveredParams = (i: number) => ({
  MessageSid: `SM${(smsIds[i] as string).slice(4)}`,
  MessageStatus: 'delivered',
  AccountSid: 'AC1',
});
const statusUrl = (base: string, i: number) => `${base}/twilio/status?messageId=${smsIds[i]}`;
const twilioSign = (url: string, params: Record<string, string>, token = TOKEN) =>
  twilio.getExpectedTwilioSignature(token, url, params);

function postForm(url: string, body: BodyInit, signature?: string, extra: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      ...extra,
    },
    body,
  });
}

describe('security: Twilio webhook refuses forged and malformed requests', () => {
  it('should refuse a request without X-Twilio-Signature with 401 and change nothing', async () => {
    await refused(await postForm(statusUrl(twilioUrl, 0), form(deliveredParams(0))), 401);
  });

  it('should refuse a signature made with another auth token with 401 and change nothing', async () => {
    const url = statusUrl(twilioUrl, 0);
    const params = deliveredParams(0);
    await refused(await postForm(url, form(params), twilioSign(url, params, 'someone-elses-token')), 401);
  });

  it('should refuse a signature over a different body with 401 and change nothing', async () => {
    const url = statusUrl(twilioUrl, 0);
    const signedFor = { ...deliveredParams(0), MessageStatus: 'sent' };
    await refused(await postForm(url, form(deliveredParams(0)), twilioSign(url, signedFor)), 401);
  });

  it('should refuse a signature over the same path on a different host or port with 401 and change nothing', async () => {
    const params = deliveredParams(0);
    const real = new URL(statusUrl(twilioUrl, 0));
    const otherHost = `http://attacker.example:${real.port}${real.pathname}${real.search}`;
    const otherPort = `http://127.0.0.1:${Number(real.port) + 1}${real.pathname}${real.search}`;
    await refused(await postForm(real.toString(), form(params), twilioSign(otherHost, params)), 401);
    before = await snapshot();
    await refused(await postForm(real.toString(), form(params), twilioSign(otherPort, params)), 401);
  });

  it('should refuse, behind a proxy, a signature for another public host with 401 and change nothing', async () => {
    const params = deliveredParams(0);
    const path = `/twilio/status?messageId=${smsIds[0]}`;
    await refused(
      await postForm(`${proxiedTwilioUrl}${path}`, form(params), twilioSign(`https://evil.example.com${path}`, params)),
      401,
    );
  });

  it('should refuse a truncated body (signed whole) with 401 and change nothing', async () => {
    const url = statusUrl(twilioUrl, 0);
    const params = deliveredParams(0);
    const body = form(params);
    await refused(await postForm(url, body.slice(0, body.length - 12), twilioSign(url, params)), 401);
  });

  it('should refuse a body over the size limit with 413 before reading it, declared or streamed', async () => {
    const url = statusUrl(twilioUrl, 0);
    const params = { ...deliveredParams(0), Padding: 'x'.repeat(70 * 1024) };
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilioSign(url, params),
    };
    expect(await postOversize(url, headers, [form(params)], true)).toBe(413);
    expect(await snapshot()).toBe(before);
    const streamed = [form(deliveredParams(0)), ...Array.from({ length: 8 }, () => `&Pad=${'x'.repeat(16 * 1024)}`)];
    expect(await postOversize(url, headers, streamed, false)).toBe(413);
    expect(await snapshot()).toBe(before);
  });

  it('should refuse signed valid JSON of the wrong shape with 400 and change nothing', async () => {
    const body = JSON.stringify([{ MessageStatus: 'delivered' }]);
    const url = `${statusUrl(twilioUrl, 0)}&bodySHA256=${await twilioBodySha256(body)}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-twilio-signature': twilioSign(url, {}) },
      body,
    });
    await refused(res, 400);
  });

  it('should refuse a signed form that is neither a status callback nor an inbound message with 400', async () => {
    const url = `${twilioUrl}/twilio/status`;
    const params = { Foo: 'bar' };
    await refused(await postForm(url, form(params), twilioSign(url, params)), 400);
  });

  it('should refuse a signed status callback that names no message with 400 and change nothing', async () => {
    const url = `${twilioUrl}/twilio/status`;
    const params = { MessageStatus: 'delivered' };
    await refused(await postForm(url, form(params), twilioSign(url, params)), 400);
  });

  it('should apply a correctly signed callback (the control: the same engine does change)', async () => {
    const url = statusUrl(twilioUrl, 1);
    const params = deliveredParams(1);
    const res = await postForm(url, form(params), twilioSign(url, params));
    expect(res.status).toBe(200);
    expect((await outreach.getMessage(smsIds[1] as string)).status).toBe('delivered');
    expect(await snapshot()).not.toBe(before);
  });

  it('should apply a correctly signed callback behind a proxy, signed for the public URL', async () => {
    const path = `/twilio/status?messageId=${smsIds[0]}`;
    const params = { ...deliveredParams(0), MessageStatus: 'sent' };
    const res = await postForm(`${proxiedTwilioUrl}${path}`, form(params), twilioSign(`${PUBLIC_URL}${path}`, params));
    expect(res.status).toBe(200);
    expect((await outreach.getMessage(smsIds[0] as string)).status).toBe('sent');
  });
});

// ── SendGrid ────────────────────────────────────────────────────────────────

const stamp = (offsetSeconds = 0) => String(Math.floor(clock.now() / 1000) + offsetSeconds);
const sendgridSign = (body: string, timestamp: string, key = privateKey) =>
  sign('sha256', Buffer.from(timestamp + body), key).toString('base64');
const deliveredBatch = (i: number) =>
  JSON.stringify([
    {
      email: mail(i),
      event: 'delivered',
      timestamp: Math.floor(clock.now() / 1000),
      sg_event_id: `ev-${i}-${clock.now()}`,
      sg_message_id: `sg${(emailIds[i] as string).slice(4)}.filter`,
      message_id: emailIds[i],
    },
  ]);

function postJson(body: BodyInit, signature?: string, timestamp?: string) {
  return fetch(sendgridUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature === undefined ? {} : { [SENDGRID_SIGNATURE_HEADER]: signature }),
      ...(timestamp === undefined ? {} : { [SENDGRID_TIMESTAMP_HEADER]: timestamp }),
    },
    body,
  });
}

describe('security: SendGrid webhook refuses forged, replayed and malformed requests', () => {
  it('should refuse a request without a signature or timestamp with 401 and change nothing', async () => {
    const body = deliveredBatch(0);
    await refused(await postJson(body), 401);
    await refused(await postJson(body, sendgridSign(body, stamp())), 401);
  });

  it('should refuse a signature made with another key with 401 and change nothing', async () => {
    const body = deliveredBatch(0);
    const ts = stamp();
    await refused(await postJson(body, sendgridSign(body, ts, otherKey), ts), 401);
  });

  it('should refuse a signature over a different body or timestamp with 401 and change nothing', async () => {
    const body = deliveredBatch(0);
    const ts = stamp();
    const other = body.replace('"delivered"', '"processed"');
    await refused(await postJson(body, sendgridSign(other, ts), ts), 401);
    await refused(await postJson(body, sendgridSign(body, ts), stamp(-1)), 401);
  });

  it('should refuse a correctly signed request whose timestamp is outside maxAgeSeconds (a replay) with 401', async () => {
    const body = deliveredBatch(0);
    const old = stamp(-(MAX_AGE + 1));
    await refused(await postJson(body, sendgridSign(body, old), old), 401);
    const ahead = stamp(MAX_AGE + 1);
    await refused(await postJson(body, sendgridSign(body, ahead), ahead), 401);
  });

  it('should refuse a truncated body with 401 when signed whole, and with 400 when the truncation is signed', async () => {
    const body = deliveredBatch(0);
    const ts = stamp();
    const cut = body.slice(0, body.length - 10);
    await refused(await postJson(cut, sendgridSign(body, ts), ts), 401);
    await refused(await postJson(cut, sendgridSign(cut, ts), ts), 400);
  });

  it('should refuse a body over the 1 MiB limit with 413 before verifying or parsing it', async () => {
    const body = `[${'{"event":"open"},'.repeat(70_000)}{}]`;
    const ts = stamp();
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const headers = {
      'content-type': 'application/json',
      [SENDGRID_SIGNATURE_HEADER]: sendgridSign(body, ts),
      [SENDGRID_TIMESTAMP_HEADER]: ts,
    };
    expect(await postOversize(sendgridUrl, headers, [body], true)).toBe(413);
    expect(await snapshot()).toBe(before);
  });

  it('should refuse signed valid JSON that is not an array with 400 and change nothing', async () => {
    const body = JSON.stringify({ event: 'delivered', message_id: emailIds[0] });
    const ts = stamp();
    await refused(await postJson(body, sendgridSign(body, ts), ts), 400);
  });

  it('should count signed array items of the wrong shape as skipped and change nothing', async () => {
    const body = JSON.stringify([1, 'x', null, {}, { event: 'delivered' }, { event: 'nope', message_id: emailIds[0] }]);
    const ts = stamp();
    const res = await postJson(body, sendgridSign(body, ts), ts);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 0, skipped: 6 });
    expect(await snapshot()).toBe(before);
  });

  it('should apply a correctly signed batch (the control: the same engine does change)', async () => {
    const body = deliveredBatch(1);
    const ts = stamp();
    const res = await postJson(body, sendgridSign(body, ts), ts);
    expect(res.status).toBe(200);
    expect((await outreach.getMessage(emailIds[1] as string)).status).toBe('delivered');
    expect(await snapshot()).not.toBe(before);
  });
});
