import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createOutreach, type Outreach, unsubscribeHandler } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createUnsubscribeToken } from 'campaign-lifecycle/templates';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridTransport,
  sendgridWebhookHandler,
} from '../../adapters/sendgrid/index.js';
import { fakeProvider } from '../support/loopback-http.js';
import { recordIngest, serveRoutes, snapshot } from '../support/webhook-server.js';

const UNSUBSCRIBE_SECRET = 'unsubscribe-secret-for-webhook-tests';
const mail = (i: number) => `person${i}@example.com`;

// A fresh P-256 key pair: SendGrid signs with the private key, the handler gets the SPKI public key.
const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = signing.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

/** What the fake mail send API accepted: one entry per request. */
interface Accepted {
  to: string;
  messageId: string;
  campaignId: string;
  xMessageId: string;
  headers: Record<string, string>;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** SendGrid's batch framing: events separated, and the body ended, by CRLF. */
const frame = (events: readonly object[]) => `[${events.map((e) => JSON.stringify(e)).join(',\r\n')}]\r\n`;

/** The engine with the real SendGrid transport against a loopback mail send API, and the real handlers over loopback HTTP. */
async function emailWorld() {
  const clock: FakeClock = createFakeClock();
  const server = await serveRoutes();
  const accepted: Accepted[] = [];
  const api = await fakeProvider((request, res) => {
    const body = JSON.parse(request.body) as {
      personalizations: { to: { email: string }[]; custom_args: Record<string, string> }[];
      headers?: Record<string, string>;
    };
    const p = body.personalizations[0];
    const xMessageId = `sg${String(accepted.length + 1).padStart(20, '0')}`;
    accepted.push({
      to: p?.to[0]?.email ?? '',
      messageId: p?.custom_args.message_id ?? '',
      campaignId: p?.custom_args.campaign_id ?? '',
      xMessageId,
      headers: body.headers ?? {},
    });
    res.writeHead(202, { 'x-message-id': xMessageId });
    res.end();
  });
  closers.push(server.close, api.close);
  const errors: unknown[] = [];
  const outreach = createOutreach({
    storage: memoryStorage(),
    clock,
    transports: { email: sendgridTransport({ apiKey: 'SG.test-key', baseUrl: api.url }) },
    unsubscribe: { baseUrl: `${server.url}/unsubscribe`, secret: UNSUBSCRIBE_SECRET },
    onError: (e) => errors.push(e),
  });
  const sink = recordIngest(outreach);
  server.route(
    '/sendgrid/events',
    sendgridWebhookHandler({ outreach: sink, publicKey: PUBLIC_KEY, maxAgeSeconds: 600, clock }),
  );
  server.route('/unsubscribe', unsubscribeHandler({ outreach: sink, secret: UNSUBSCRIBE_SECRET, clock }));
  const eventsUrl = `${server.url}/sendgrid/events`;

  let eventSeq = 0;
  /** One Event Webhook event about an accepted message, as SendGrid writes it (custom args merged in). */
  const event = (a: Accepted, kind: string, extra: Record<string, unknown> = {}) => ({
    email: a.to,
    timestamp: Math.floor(clock.now() / 1000),
    'smtp-id': `<${a.xMessageId}@ismtpd0001p1iad1.sendgrid.net>`,
    event: kind,
    sg_event_id: `ev${String(++eventSeq).padStart(8, '0')}`,
    sg_message_id: `${a.xMessageId}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-0`,
    message_id: a.messageId,
    campaign_id: a.campaignId,
    ...extra,
  });

  /** Plays SendGrid: posts a signed batch of events. */
  const post = async (
    events: readonly object[],
    options: {
      key?: KeyObject;
      timestamp?: string;
      tamper?: (body: string) => string;
      rawBody?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const body = options.rawBody ?? frame(events);
    const timestamp = String(Math.floor(clock.now() / 1000));
    const signature = sign('sha256', Buffer.from(timestamp + body), options.key ?? signing.privateKey).toString(
      'base64',
    );
    return fetch(eventsUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SENDGRID_SIGNATURE_HEADER]: signature,
        [SENDGRID_TIMESTAMP_HEADER]: options.timestamp ?? timestamp,
        ...options.headers,
      },
      body: options.tamper ? options.tamper(body) : body,
    });
  };

  /** Plays a mailbox provider: the RFC 8058 one-click POST to the List-Unsubscribe URL of a sent email. */
  const oneClick = (url: string, body = 'List-Unsubscribe=One-Click') =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
      redirect: 'manual',
    });

  return { clock, outreach, sink, accepted, api, event, post, oneClick, errors, server };
}

async function runCampaign(world: Awaited<ReturnType<typeof emailWorld>>, n: number) {
  const { outreach, clock } = world;
  const c = await outreach.createCampaign({
    name: 'Newsletter',
    channel: 'email',
    content: {
      subject: 'School news',
      html: '<p>Hi {{first_name}}, here is the news.</p>',
      from: { email: 'office@school.example' },
    },
  });
  await outreach.addContacts(
    c.id,
    Array.from({ length: n }, (_, i) => ({ address: mail(i), fields: { first_name: `Kid${i}` } })),
  );
  await outreach.save(c.id);
  await outreach.run(c.id);
  outreach.worker.start();
  await clock.flush();
  return c.id;
}

async function statusOf(outreach: Outreach, campaignId: string) {
  const byTo: Record<string, { status: string; reason: string | null }> = {};
  for (const m of await outreach.listMessages(campaignId, { limit: 1000 }))
    byTo[m.to] = { status: m.status, reason: m.context.reason };
  return byTo;
}

/** The one-click URL of a sent email, read from its `List-Unsubscribe` header as the mail send API received it. */
function unsubscribeUrl(a: Accepted): string {
  expect(a.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
  const match = /^<(https?:\/\/[^>]+)>$/.exec(a.headers['List-Unsubscribe'] ?? '');
  if (!match?.[1]) throw new Error(`no List-Unsubscribe URL in ${JSON.stringify(a.headers)}`);
  return match[1];
}

describe('webhooks: a full email campaign over real HTTP, driven by signed SendGrid events (seed 000)', () => {
  it('should end with the statuses seed 000 gives, every message sent exactly once', async () => {
    const world = await emailWorld();
    const { outreach, clock, sink, accepted, api, event, post, oneClick } = world;
    const addresses = Array.from({ length: 6 }, (_, i) => mail(i));
    const campaignId = await runCampaign(world, 6);
    expect(api.requests).toHaveLength(6);
    const byTo = new Map(accepted.map((a) => [a.to, a]));
    const msg = (i: number) => byTo.get(mail(i)) as Accepted;
    const t0 = clock.now();

    const firstBatch = [
      event(msg(0), 'processed'),
      event(msg(0), 'delivered', { response: '250 OK' }),
      event(msg(1), 'processed'),
      event(msg(1), 'deferred', { response: '451 4.7.1 try again later', attempt: '1' }),
      event(msg(2), 'processed'),
      event(msg(2), 'bounce', { type: 'bounce', reason: '550 5.1.1 unknown user', status: '5.1.1' }),
      event(msg(3), 'dropped', { reason: 'Bounced Address', status: '5.0.0' }),
      event(msg(4), 'processed'),
      event(msg(4), 'delivered', { response: '250 OK' }),
      event(msg(4), 'open', { useragent: 'Mozilla/5.0', ip: '192.0.2.1' }),
      event(msg(4), 'click', { url: 'https://school.example/news', useragent: 'Mozilla/5.0', ip: '192.0.2.1' }),
      event(msg(5), 'processed'),
      event(msg(5), 'delivered', { response: '250 OK' }),
    ];
    expect((await post(firstBatch)).status).toBe(200);

    // Retrying: the message was deferred by the receiving server.
    // Active Retries (Email only): the primary send is complete, but one or more messages are deferred.
    expect((await statusOf(outreach, campaignId))[mail(1)]?.status).toBe('retrying');
    expect((await outreach.getCampaign(campaignId)).status).toBe('active_retries');

    // Deferred again an hour later: still Retrying, and the 72-hour window still runs from the first deferral.
    await clock.advance('1h');
    expect(
      (await post([event(msg(1), 'deferred', { response: '451 4.7.1 try again later', attempt: '2' })])).status,
    ).toBe(200);
    const retrying = await outreach.getMessage(msg(1).messageId);
    expect(retrying.status).toBe('retrying');
    expect(
      (await outreach.listMessages(campaignId, { limit: 1000 })).find((m) => m.to === mail(1))?.context,
    ).toMatchObject({
      deferrals: 2,
      firstDeferredAt: t0,
    });
    expect((await outreach.getCampaign(campaignId)).status).toBe('active_retries');

    // SendGrid retries the first batch with new sg_event_ids but the same events: all duplicates, nothing changes.
    const beforeRetry = await snapshot(outreach, campaignId, 'email', addresses);
    const retried = firstBatch.map((e, i) => ({ ...e, sg_event_id: `retried${i}` }));
    expect((await post(retried)).status).toBe(200);
    expect(sink.results.at(-1)).toEqual({ applied: 0, duplicates: firstBatch.length, ignored: 0, unmatched: 0 });
    expect(await snapshot(outreach, campaignId, 'email', addresses)).toBe(beforeRetry);

    // Retrying → Delivered.
    expect((await post([event(msg(1), 'delivered', { response: '250 OK' })])).status).toBe(200);

    // Opted Out: the recipient clicked the unsubscribe link in the email.
    const link = unsubscribeUrl(msg(5));
    expect(new URL(link).origin).toBe(world.server.url);
    const unsubscribed = await oneClick(link);
    expect(unsubscribed.status).toBe(200);
    expect(unsubscribed.headers.get('location')).toBeNull();

    expect(await statusOf(outreach, campaignId)).toEqual({
      [mail(0)]: { status: 'delivered', reason: null },
      [mail(1)]: { status: 'delivered', reason: null },
      [mail(2)]: { status: 'failed', reason: 'bounced' },
      [mail(3)]: { status: 'failed', reason: 'dropped' },
      [mail(4)]: { status: 'delivered', reason: null },
      [mail(5)]: { status: 'opted_out', reason: 'opted_out' },
    });
    expect(await outreach.isSuppressed({ channel: 'email', address: mail(5) })).toBe(true);
    expect(await outreach.isSuppressed({ channel: 'email', address: mail(0) })).toBe(false);
    // Complete (with errors): all messages have reached a final state, but one or more messages failed.
    const stats = await outreach.getStats(campaignId);
    expect(stats.status).toBe('complete_with_errors');
    // The open and the click are counted once each, and changed no status.
    expect({ opens: stats.opens, clicks: stats.clicks }).toEqual({ opens: 1, clicks: 1 });

    // Every message was handed to SendGrid exactly once.
    const messageIds = (await outreach.listMessages(campaignId, { limit: 1000 })).map((m) => m.id).sort();
    expect(accepted.map((a) => a.messageId).sort()).toEqual(messageIds);
    expect(api.requests).toHaveLength(6);
    expect(world.errors).toEqual([]);
  });
});

describe('webhooks: forged SendGrid and unsubscribe requests over real HTTP', () => {
  it('should refuse forged, tampered, replayed and malformed requests with 401/400 and change nothing', async () => {
    const world = await emailWorld();
    const { outreach, clock, accepted, event, post, oneClick, server } = world;
    const addresses = [mail(0), mail(1)];
    const campaignId = await runCampaign(world, 2);
    const [a, b] = accepted as [Accepted, Accepted];
    const delivered = [event(a, 'delivered'), event(b, 'unsubscribe')];
    const before = await snapshot(outreach, campaignId, 'email', addresses);

    // Event Webhook: signed with another key; body changed after signing; timestamp changed; unsigned.
    expect((await post(delivered, { key: otherKey })).status).toBe(401);
    expect((await post(delivered, { tamper: (body) => body.replace('"delivered"', '"bounce"') })).status).toBe(401);
    expect((await post(delivered, { timestamp: String(Math.floor(clock.now() / 1000) + 1) })).status).toBe(401);
    const unsigned = await fetch(`${server.url}/sendgrid/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: frame(delivered),
    });
    expect(unsigned.status).toBe(401);
    // A genuine, signed request replayed eleven minutes later (the handler allows ten).
    const stamp = String(Math.floor(clock.now() / 1000));
    const body = frame(delivered);
    const signature = sign('sha256', Buffer.from(stamp + body), signing.privateKey).toString('base64');
    await clock.advance('11m');
    const replayed = await fetch(`${server.url}/sendgrid/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SENDGRID_SIGNATURE_HEADER]: signature,
        [SENDGRID_TIMESTAMP_HEADER]: stamp,
      },
      body,
    });
    expect(replayed.status).toBe(401);
    // Correctly signed, but not a JSON array of events.
    expect((await post([], { rawBody: 'not json' })).status).toBe(400);
    expect((await post([], { rawBody: '{"event":"delivered"}' })).status).toBe(400);

    // Unsubscribe link: tampered token, token signed with another secret, no token, no one-click body, and a GET.
    const link = unsubscribeUrl(b);
    const token = new URL(link).searchParams.get('token') as string;
    const tampered = new URL(link);
    const [payload, mac] = token.split('.') as [string, string];
    tampered.searchParams.set('token', `${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`);
    expect((await oneClick(tampered.toString())).status).toBe(400);
    const foreign = new URL(link);
    foreign.searchParams.set(
      'token',
      await createUnsubscribeToken({
        secret: 'another-secret-another-secret',
        messageId: b.messageId,
        campaignId,
        scope: 'default',
        channel: 'email',
        address: b.to,
      }),
    );
    expect((await oneClick(foreign.toString())).status).toBe(400);
    expect((await oneClick(`${server.url}/unsubscribe`)).status).toBe(400);
    expect((await oneClick(link, 'unsubscribe=yes')).status).toBe(400);
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post"');

    expect(await snapshot(outreach, campaignId, 'email', addresses)).toBe(before);

    // The same routes take genuine requests: the refusals above were about the forgeries.
    expect((await post([event(a, 'delivered')])).status).toBe(200);
    expect((await oneClick(link)).status).toBe(200);
    expect(await statusOf(outreach, campaignId)).toEqual({
      [mail(0)]: { status: 'delivered', reason: null },
      [mail(1)]: { status: 'opted_out', reason: 'opted_out' },
    });
  });
});
