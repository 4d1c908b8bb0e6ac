import { createOutreach, failureReason, type Outreach } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { computeTwilioSignature, twilioTransport, twilioWebhookHandler } from '../../adapters/twilio/index.js';
import { fakeProvider, json } from '../support/loopback-http.js';
import { recordIngest, serveRoutes, snapshot } from '../support/webhook-server.js';

const AUTH_TOKEN = 'twilio-auth-token-for-webhook-tests';
const ACCOUNT_SID = `AC${'0'.repeat(32)}`;
const SENDER = '+14155550000';
const phone = (i: number) => `+1415555${String(1000 + i).padStart(4, '0')}`;

/** What the fake Messages API accepted: one entry per create request. */
interface Accepted {
  to: string;
  from: string;
  /** The StatusCallback of the create: Twilio posts every status callback of the message here. */
  callback: string;
  messageId: string;
  sid: string;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** The engine with the real Twilio transport against a loopback Messages API, and the real webhook handler over loopback HTTP. */
async function smsWorld() {
  const clock: FakeClock = createFakeClock();
  const server = await serveRoutes();
  const accepted: Accepted[] = [];
  const api = await fakeProvider((request, res) => {
    const form = new URLSearchParams(request.body);
    const callback = form.get('StatusCallback') ?? '';
    const sid = `SM${String(accepted.length + 1).padStart(32, '0')}`;
    accepted.push({
      to: form.get('To') ?? '',
      from: form.get('From') ?? '',
      callback,
      messageId: new URL(callback).searchParams.get('messageId') ?? '',
      sid,
    });
    json(res, 201, { sid, status: 'queued', to: form.get('To'), from: form.get('From') });
  });
  closers.push(server.close, api.close);
  const errors: unknown[] = [];
  const outreach = createOutreach({
    storage: memoryStorage(),
    clock,
    transports: {
      sms: twilioTransport({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        from: SENDER,
        statusCallbackUrl: `${server.url}/twilio/status`,
        baseUrl: api.url,
      }),
    },
    onError: (e) => errors.push(e),
  });
  const sink = recordIngest(outreach);
  const handler = twilioWebhookHandler({ outreach: sink, authToken: AUTH_TOKEN });
  server.route('/twilio/status', handler);
  server.route('/twilio/inbound', handler);

  let token = 0;
  /** Plays Twilio: posts a signed status callback for an accepted message to its StatusCallback URL. */
  const callback = async (
    a: Accepted,
    status: string,
    extra: Record<string, string> = {},
    options: {
      idempotencyToken?: string;
      authToken?: string;
      tamper?: (form: URLSearchParams) => void;
      url?: string;
    } = {},
  ) => {
    const params: Record<string, string> = {
      AccountSid: ACCOUNT_SID,
      ApiVersion: '2010-04-01',
      From: a.from,
      To: a.to,
      MessageSid: a.sid,
      SmsSid: a.sid,
      MessageStatus: status,
      SmsStatus: status,
      ...extra,
    };
    const signature = await computeTwilioSignature(options.authToken ?? AUTH_TOKEN, a.callback, params);
    const body = new URLSearchParams(params);
    options.tamper?.(body);
    return fetch(options.url ?? a.callback, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-twilio-signature': signature,
        'i-twilio-idempotency-token': options.idempotencyToken ?? `idem-${++token}`,
      },
      body,
    });
  };

  /** Plays Twilio: posts a signed inbound message (a reply) to the inbound webhook. */
  const inbound = async (from: string, text: string, options: { authToken?: string } = {}) => {
    const url = `${server.url}/twilio/inbound`;
    const params: Record<string, string> = {
      AccountSid: ACCOUNT_SID,
      MessageSid: `SMinbound${++token}`,
      From: from,
      To: SENDER,
      Body: text,
      ...(text === 'STOP' ? { OptOutType: 'STOP' } : {}),
    };
    const signature = await computeTwilioSignature(options.authToken ?? AUTH_TOKEN, url, params);
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params),
    });
  };

  return { clock, outreach, sink, accepted, api, callback, inbound, errors };
}

/** Creates, saves and runs an SMS campaign, and lets the worker hand every message to the fake API. */
async function runCampaign(world: Awaited<ReturnType<typeof smsWorld>>, addresses: readonly string[]) {
  const { outreach, clock } = world;
  const c = await outreach.createCampaign({
    name: 'Snow day',
    channel: 'sms',
    content: { body: 'Hi {{first_name}}, school is closed.' },
  });
  await outreach.addContacts(
    c.id,
    addresses.map((address, i) => ({ address, fields: { first_name: `Kid${i}` } })),
  );
  await outreach.save(c.id);
  await outreach.run(c.id);
  outreach.worker.start();
  await clock.flush();
  return c.id;
}

async function statusOf(outreach: Outreach, campaignId: string) {
  const byTo: Record<string, { status: string; reason: string | null; code: string | null }> = {};
  for (const m of await outreach.listMessages(campaignId, { limit: 1000 })) {
    byTo[m.to] = { status: m.status, reason: m.context.reason, code: m.context.code };
  }
  return byTo;
}

const expectOk = (res: Response) => expect(res.status).toBe(200);

describe('webhooks: a full SMS campaign over real HTTP, driven by signed Twilio callbacks (seed 000)', () => {
  it('should end with the statuses seed 000 gives, every message sent exactly once', async () => {
    const world = await smsWorld();
    const { outreach, clock, sink, accepted, api, callback } = world;
    const numbers = Array.from({ length: 8 }, (_, i) => phone(i));
    const campaignId = await runCampaign(world, numbers);

    // Sending: the message has been submitted to Twilio and is being processed.
    expect(api.requests).toHaveLength(8);
    const byTo = new Map(accepted.map((a) => [a.to, a]));
    const msg = (i: number) => byTo.get(phone(i)) as Accepted;
    expect(Object.values(await statusOf(outreach, campaignId)).every((m) => m.status === 'sending')).toBe(true);
    for (const a of accepted)
      expect(a.callback).toBe(`${new URL(a.callback).origin}/twilio/status?messageId=${a.messageId}`);

    // Messages 0, 2, 7: sent then delivered.
    for (const i of [0, 2, 7]) {
      expectOk(await callback(msg(i), 'sent'));
      expectOk(await callback(msg(i), 'delivered', { RawDlrDoneDate: '2601050900' }));
    }
    // A callback delivered twice (Twilio's retry carries the same idempotency token): the repeat is a duplicate.
    expectOk(await callback(msg(0), 'delivered', { RawDlrDoneDate: '2601050900' }, { idempotencyToken: 'idem-retry' }));
    const beforeDuplicate = await snapshot(outreach, campaignId, 'sms', numbers);
    expectOk(await callback(msg(0), 'delivered', { RawDlrDoneDate: '2601050900' }, { idempotencyToken: 'idem-retry' }));
    expect(sink.results.at(-1)).toMatchObject({ applied: 0, duplicates: 1 });
    expect(await snapshot(outreach, campaignId, 'sms', numbers)).toBe(beforeDuplicate);

    // Message 1: delivered arrives before sent (reordered): the late `sent` is recorded and changes nothing.
    expectOk(await callback(msg(1), 'delivered'));
    const beforeReordered = await snapshot(outreach, campaignId, 'sms', numbers);
    expectOk(await callback(msg(1), 'sent'));
    expect(sink.results.at(-1)).toMatchObject({ applied: 0, ignored: 1, duplicates: 0 });
    expect(await snapshot(outreach, campaignId, 'sms', numbers)).toBe(beforeReordered);

    // Messages 3, 4, 6: sent, and no receipt (yet).
    for (const i of [3, 4, 6]) expectOk(await callback(msg(i), 'sent'));
    // Message 5: undelivered with ErrorCode 30003.
    expectOk(await callback(msg(5), 'sent'));
    expectOk(
      await callback(msg(5), 'undelivered', { ErrorCode: '30003', ErrorMessage: 'Unreachable destination handset' }),
    );

    // In Progress: one or more messages are actively being sent (3, 4 and 6 are Sent).
    expect((await outreach.getCampaign(campaignId)).status).toBe('in_progress');
    expect((await statusOf(outreach, campaignId))[phone(3)]?.status).toBe('sent');

    // Assumed Delivered: a message in "Sent" status for more than 10 minutes.
    await clock.advance('10m');
    expect((await statusOf(outreach, campaignId))[phone(6)]?.status).toBe('assumed_delivered');
    // Complete (with errors): all messages have reached a final state, but one or more messages failed.
    expect((await outreach.getCampaign(campaignId)).status).toBe('complete_with_errors');

    // If a delivery confirmation arrives later, the status is updated (late truth wins).
    expectOk(await callback(msg(6), 'delivered'));

    const final = await statusOf(outreach, campaignId);
    expect(final).toEqual({
      [phone(0)]: { status: 'delivered', reason: null, code: null },
      [phone(1)]: { status: 'delivered', reason: null, code: null },
      [phone(2)]: { status: 'delivered', reason: null, code: null },
      [phone(3)]: { status: 'assumed_delivered', reason: null, code: null },
      [phone(4)]: { status: 'assumed_delivered', reason: null, code: null },
      [phone(5)]: { status: 'failed', reason: 'unreachable', code: '30003' },
      [phone(6)]: { status: 'delivered', reason: null, code: null },
      [phone(7)]: { status: 'delivered', reason: null, code: null },
    });
    expect(failureReason('unreachable').label).toBe('Unreachable Number');
    expect((await outreach.getCampaign(campaignId)).status).toBe('complete_with_errors');

    // Every message was handed to Twilio exactly once: one create per message, none resent.
    const messageIds = (await outreach.listMessages(campaignId, { limit: 1000 })).map((m) => m.id).sort();
    expect(accepted.map((a) => a.messageId).sort()).toEqual(messageIds);
    expect(api.requests).toHaveLength(8);
    expect(world.errors).toEqual([]);
  });

  it('should suppress a number that replies STOP (signed inbound message), so that the next campaign does not send to it', async () => {
    const world = await smsWorld();
    const { outreach, clock, accepted, api, callback, inbound } = world;
    const first = await runCampaign(world, [phone(0), phone(1)]);
    for (const a of [...accepted]) {
      expectOk(await callback(a, 'sent'));
      expectOk(await callback(a, 'delivered'));
    }
    expect((await outreach.getCampaign(first)).status).toBe('complete');

    const res = await inbound(phone(1), 'STOP');
    expect(res.status).toBe(200);
    expect(await outreach.isSuppressed({ channel: 'sms', address: phone(1) })).toBe(true);
    expect(await outreach.isSuppressed({ channel: 'sms', address: phone(0) })).toBe(false);

    const second = await runCampaign(world, [phone(1), phone(2)]);
    await clock.flush();
    const statuses = await statusOf(outreach, second);
    // Opted Out: the recipient has opted out of receiving messages; nothing was sent to it.
    expect(statuses[phone(1)]?.status).toBe('opted_out');
    expect(statuses[phone(2)]?.status).toBe('sending');
    expect(api.requests).toHaveLength(3);
    expect(accepted.at(-1)?.to).toBe(phone(2));
  });
});

describe('webhooks: forged Twilio requests over real HTTP', () => {
  it('should refuse forged, tampered and malformed callbacks with 401/400 and change nothing', async () => {
    const world = await smsWorld();
    const { outreach, accepted, callback, inbound } = world;
    const numbers = [phone(0), phone(1)];
    const campaignId = await runCampaign(world, numbers);
    const [a, b] = accepted as [Accepted, Accepted];
    const before = await snapshot(outreach, campaignId, 'sms', numbers);

    // Signed with another account's auth token.
    expect((await callback(a, 'delivered', {}, { authToken: 'someone-elses-token' })).status).toBe(401);
    // Signed as `sent`, then the body changed to `delivered`.
    expect((await callback(a, 'sent', {}, { tamper: (f) => f.set('MessageStatus', 'delivered') })).status).toBe(401);
    // A valid signature replayed against another message's callback URL.
    expect((await callback(a, 'undelivered', { ErrorCode: '30003' }, { url: b.callback })).status).toBe(401);
    // No signature at all.
    const unsigned = await fetch(a.callback, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ MessageSid: a.sid, MessageStatus: 'delivered' }),
    });
    expect(unsigned.status).toBe(401);
    // A forged STOP.
    expect((await inbound(phone(0), 'STOP', { authToken: 'someone-elses-token' })).status).toBe(401);
    // Correctly signed, but neither a status callback nor an inbound message.
    expect((await callback(b, '', { MessageStatus: '', SmsStatus: '' })).status).toBe(400);
    expect(await snapshot(outreach, campaignId, 'sms', numbers)).toBe(before);

    // The same route takes a genuine callback: the refusals above were about the forgeries.
    expect((await callback(a, 'sent')).status).toBe(200);
    expect((await outreach.getMessage(a.messageId)).status).toBe('sent');
    expect((await outreach.getMessage(b.messageId)).status).toBe('sending');
  });
});
