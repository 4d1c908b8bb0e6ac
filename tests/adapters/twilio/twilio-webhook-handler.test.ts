import type { EventSink, IngestResult, ProviderEvent } from 'campaign-lifecycle';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { computeTwilioSignature, twilioBodySha256, twilioWebhookHandler } from '../../../adapters/twilio/index.js';
import { serveWebHandler } from '../../support/loopback-http.js';

const TOKEN = 'auth-token-for-tests';

function recordingSink(fail = false): EventSink & { batches: ProviderEvent[][] } {
  const batches: ProviderEvent[][] = [];
  return {
    batches,
    async ingest(events): Promise<IngestResult> {
      if (fail) throw new Error('storage down');
      batches.push([...events]);
      return { applied: events.length, duplicates: 0, ignored: 0, unmatched: 0 };
    },
  };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(options: Partial<Parameters<typeof twilioWebhookHandler>[0]> = {}, fail = false) {
  const outreach = recordingSink(fail);
  const server = await serveWebHandler(twilioWebhookHandler({ outreach, authToken: TOKEN, ...options }));
  close = server.close;
  return { outreach, url: server.url };
}

async function post(
  url: string,
  params: Record<string, string>,
  signature: string | undefined,
  headers: Record<string, string> = {},
) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      ...headers,
    },
    body: new URLSearchParams(params).toString(),
  });
}

const statusParams = {
  MessageSid: 'SM42',
  MessageStatus: 'delivered',
  AccountSid: 'AC1',
  To: '+14155550100',
  RawDlrDoneDate: '2303072155',
};

describe('twilio: webhook handler over HTTP', () => {
  it('should ingest a signed status callback and answer 200', async () => {
    const { outreach, url } = await serve();
    const hook = `${url}/twilio/status?messageId=msg_42`;
    const res = await post(hook, statusParams, twilio.getExpectedTwilioSignature(TOKEN, hook, statusParams), {
      'i-twilio-idempotency-token': 'idem-1',
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(outreach.batches).toEqual([
      [
        expect.objectContaining({
          type: 'status',
          status: 'delivered',
          messageId: 'msg_42',
          providerMessageId: 'SM42',
          eventId: 'idem-1',
        }),
      ],
    ]);
  });

  it('should ingest a signed inbound STOP and answer with empty TwiML', async () => {
    const { outreach, url } = await serve({ scope: 'school-1' });
    const hook = `${url}/twilio/inbound`;
    const params = { MessageSid: 'SMin', From: '+14155550100', To: '+15005550006', Body: 'STOP', OptOutType: 'STOP' };
    const res = await post(hook, params, await computeTwilioSignature(TOKEN, hook, params));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/xml');
    expect(await res.text()).toContain('<Response/>');
    expect(outreach.batches).toEqual([
      [expect.objectContaining({ type: 'suppression', action: 'opt_out', address: '+14155550100', scope: 'school-1' })],
    ]);
  });

  it.each(['OPT OUT', 'opt out', ' Opt   Out '])(
    'should opt the sender out on the FCC keyword OPT OUT written as two words (%j, no OptOutType)',
    async (body) => {
      const { outreach, url } = await serve({ scope: 'school-1' });
      const hook = `${url}/twilio/inbound`;
      const params = { MessageSid: 'SMin2', From: '+14155550100', To: '+15005550006', Body: body };
      const res = await post(hook, params, await computeTwilioSignature(TOKEN, hook, params));
      expect(res.status).toBe(200);
      expect(outreach.batches).toEqual([
        [
          expect.objectContaining({
            type: 'suppression',
            action: 'opt_out',
            address: '+14155550100',
            scope: 'school-1',
          }),
        ],
      ]);
    },
  );

  it('should answer 200 and ingest nothing for an ordinary reply', async () => {
    const { outreach, url } = await serve();
    const hook = `${url}/twilio/inbound`;
    const params = { MessageSid: 'SMin', From: '+14155550100', Body: 'Thanks!' };
    const res = await post(hook, params, await computeTwilioSignature(TOKEN, hook, params));
    expect(res.status).toBe(200);
    expect(outreach.batches).toEqual([]);
  });

  it('should verify against publicUrl behind a proxy', async () => {
    const { outreach, url } = await serve({ publicUrl: 'https://hooks.example.com' });
    const path = '/twilio/status?messageId=msg_42';
    const signature = await computeTwilioSignature(TOKEN, `https://hooks.example.com${path}`, statusParams);
    expect((await post(`${url}${path}`, statusParams, signature)).status).toBe(200);
    expect(outreach.batches).toHaveLength(1);
  });

  it.each([
    ['a forged signature', async (_hook: string) => 'AAAAAAAAAAAAAAAAAAAAAAAAAAA='],
    ['a missing signature', async (_hook: string) => undefined],
    [
      'a signature for another URL',
      async (hook: string) => computeTwilioSignature(TOKEN, hook.replace('msg_42', 'msg_43'), statusParams),
    ],
    [
      'a signature with another token',
      async (hook: string) => computeTwilioSignature('other-token', hook, statusParams),
    ],
    [
      'a signature over other parameters',
      async (hook: string) => computeTwilioSignature(TOKEN, hook, { ...statusParams, MessageStatus: 'undelivered' }),
    ],
  ])('should answer 401 and ingest nothing for %s', async (_name, signatureFor) => {
    const { outreach, url } = await serve();
    const hook = `${url}/twilio/status?messageId=msg_42`;
    const res = await post(hook, statusParams, await signatureFor(hook));
    expect(res.status).toBe(401);
    expect(outreach.batches).toEqual([]);
  });

  it('should refuse a body over maxBodyBytes with 413 before checking or parsing it', async () => {
    const { outreach, url } = await serve({ maxBodyBytes: 1024 });
    const hook = `${url}/twilio/status`;
    const params = { ...statusParams, Padding: 'x'.repeat(2000) };
    const res = await post(hook, params, await computeTwilioSignature(TOKEN, hook, params));
    expect(res.status).toBe(413);
    expect(outreach.batches).toEqual([]);
  });

  it('should refuse an oversize chunked body (no Content-Length) with 413', async () => {
    const { outreach, url } = await serve({ maxBodyBytes: 1024 });
    const chunk = new TextEncoder().encode(`Padding=${'x'.repeat(600)}&`);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(chunk);
        c.enqueue(chunk);
        c.close();
      },
    });
    const res = await fetch(`${url}/twilio/status`, {
      method: 'POST',
      headers: { 'x-twilio-signature': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(outreach.batches).toEqual([]);
  });

  it.each([
    ['neither MessageStatus nor Body', { MessageSid: 'SM1', AccountSid: 'AC1' }, '/twilio/status'],
    ['a status callback that names no message', { MessageStatus: 'sent' }, '/twilio/status'],
  ])('should answer 400 for a signed but malformed body: %s', async (_name, params, path) => {
    const { outreach, url } = await serve();
    const hook = `${url}${path}`;
    const res = await post(hook, params, await computeTwilioSignature(TOKEN, hook, params));
    expect(res.status).toBe(400);
    expect(outreach.batches).toEqual([]);
  });

  it('should verify a JSON body by its bodySHA256 and refuse a malformed one with 400', async () => {
    const { outreach, url } = await serve();
    const good = JSON.stringify({ MessageSid: 'SM7', MessageStatus: 'sent' });
    const goodHook = `${url}/twilio/status?messageId=msg_7&bodySHA256=${await twilioBodySha256(good)}`;
    const ok = await fetch(goodHook, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-twilio-signature': await computeTwilioSignature(TOKEN, goodHook, {}),
      },
      body: good,
    });
    expect(ok.status).toBe(200);
    expect(outreach.batches).toEqual([[expect.objectContaining({ status: 'sent', messageId: 'msg_7' })]]);

    const bad = '[1, 2';
    const badHook = `${url}/twilio/status?bodySHA256=${await twilioBodySha256(bad)}`;
    const res = await fetch(badHook, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-twilio-signature': await computeTwilioSignature(TOKEN, badHook, {}),
      },
      body: bad,
    });
    expect(res.status).toBe(400);
    expect(outreach.batches).toHaveLength(1);
  });

  it('should answer 405 to a GET and 500 when ingest fails', async () => {
    const { url } = await serve({}, true);
    expect((await fetch(`${url}/twilio/status`)).status).toBe(405);
    const hook = `${url}/twilio/status?messageId=msg_42`;
    const res = await post(hook, statusParams, await computeTwilioSignature(TOKEN, hook, statusParams));
    expect(res.status).toBe(500);
  });
});
