import { generateKeyPairSync, sign } from 'node:crypto';
import { type Channel, createOutreach, type Outreach } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER } from 'campaign-lifecycle/sendgrid';
import { createUnsubscribeToken } from 'campaign-lifecycle/templates';
import {
  createFakeClock,
  type FakeClock,
  simulatedEmailCarrier,
  simulatedSmsCarrier,
} from 'campaign-lifecycle/testing';
import { computeTwilioSignature } from 'campaign-lifecycle/twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookServer, type WebhookServer } from './webhook-server.js';

const TWILIO_TOKEN = 'test-twilio-auth-token';
const UNSUBSCRIBE_SECRET = 'test-unsubscribe-secret-0123456789abcdef';
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_PUBLIC_KEY = sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const strangerKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

let server: WebhookServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** An engine whose carriers accept every message and never report: only the webhooks can move a message on. */
async function engineWithOneMessageSending(
  channel: Channel,
): Promise<{ outreach: Outreach; clock: FakeClock; messageId: string }> {
  const clock = createFakeClock();
  const outreach = createOutreach({
    storage: memoryStorage(),
    clock,
    transports: {
      sms: simulatedSmsCarrier({ clock, mix: [[1, { kind: 'silent' }]] }),
      email: simulatedEmailCarrier({ clock, mix: [[1, { kind: 'silent' }]] }),
    },
    onError: (error) => {
      throw error;
    },
  });
  const content =
    channel === 'sms'
      ? { body: 'Hi {{first_name}}, school is closed today.' }
      : { subject: 'School is closed', html: '<p>Hi {{first_name}}</p>', from: { email: 'office@school.example' } };
  const { id } = await outreach.createCampaign({ name: 'Snow day', channel, content });
  const address = channel === 'sms' ? '+14155550101' : 'ada@example.com';
  await outreach.addContacts(id, [{ address, fields: { first_name: 'Ada' } }]);
  await outreach.save(id);
  await outreach.run(id);
  server = await startWebhookServer({
    outreach,
    port: 0,
    host: '127.0.0.1',
    twilioAuthToken: TWILIO_TOKEN,
    sendgridPublicKey: SENDGRID_PUBLIC_KEY,
    unsubscribeSecret: UNSUBSCRIBE_SECRET,
  });
  await clock.advance('1s'); // the worker hands the message to the carrier
  const [message] = await outreach.listMessages(id);
  expect(message?.status).toBe('sending');
  return { outreach, clock, messageId: message?.id as string };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

async function postTwilio(url: string, fields: Record<string, string>, signature: string) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: form(fields),
  });
}

function signSendgrid(timestamp: string, body: string, key = sendgridKeys.privateKey): string {
  return sign('sha256', Buffer.from(timestamp + body), key).toString('base64');
}

async function postSendgrid(url: string, body: string, timestamp: string, signature: string) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [SENDGRID_SIGNATURE_HEADER]: signature,
      [SENDGRID_TIMESTAMP_HEADER]: timestamp,
    },
    body,
  });
}

describe('examples: webhook server', () => {
  it('should apply a correctly signed Twilio status callback (200) and refuse a forged one (401) without change', async () => {
    const { outreach, messageId } = await engineWithOneMessageSending('sms');
    const url = `${server?.url}/webhooks/twilio?messageId=${messageId}`;
    const delivered = { MessageSid: 'SM00000000000000000000000000000001', MessageStatus: 'delivered' };

    const forgedSignature = await computeTwilioSignature('not-the-auth-token', url, delivered);
    const forged = await postTwilio(url, delivered, forgedSignature);
    expect(forged.status).toBe(401);
    expect((await outreach.getMessage(messageId)).status).toBe('sending');

    // A signature for other parameters does not carry over to a tampered body.
    const sent = { MessageSid: delivered.MessageSid, MessageStatus: 'sent' };
    const tampered = await postTwilio(url, delivered, await computeTwilioSignature(TWILIO_TOKEN, url, sent));
    expect(tampered.status).toBe(401);
    expect((await outreach.getMessage(messageId)).status).toBe('sending');

    const ok = await postTwilio(url, delivered, await computeTwilioSignature(TWILIO_TOKEN, url, delivered));
    expect(ok.status).toBe(200);
    expect((await outreach.getMessage(messageId)).status).toBe('delivered');
  });

  it('should record a signed inbound STOP as an opt-out and ignore a forged one', async () => {
    const { outreach } = await engineWithOneMessageSending('sms');
    const url = `${server?.url}/webhooks/twilio`;
    const stop = { MessageSid: 'SM00000000000000000000000000000002', From: '+14155550199', Body: 'STOP' };
    const suppressed = () => outreach.isSuppressed({ channel: 'sms', address: '+14155550199' });

    const forged = await postTwilio(url, stop, await computeTwilioSignature('not-the-auth-token', url, stop));
    expect(forged.status).toBe(401);
    expect(await suppressed()).toBe(false);

    const ok = await postTwilio(url, stop, await computeTwilioSignature(TWILIO_TOKEN, url, stop));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<Response/>');
    expect(await suppressed()).toBe(true);
  });

  it('should apply a correctly signed SendGrid batch (200) and refuse forged ones (401) without change', async () => {
    const { outreach, clock, messageId } = await engineWithOneMessageSending('email');
    const url = `${server?.url}/webhooks/sendgrid`;
    const timestamp = String(Math.floor(clock.now() / 1000));
    const body = `${JSON.stringify([
      {
        email: 'ada@example.com',
        event: 'delivered',
        timestamp: Number(timestamp),
        sg_event_id: 'evt-1',
        sg_message_id: 'sg1.filter',
        message_id: messageId,
      },
    ])}\r\n`;

    const wrongKey = await postSendgrid(url, body, timestamp, signSendgrid(timestamp, body, strangerKey));
    expect(wrongKey.status).toBe(401);
    const tamperedBody = body.replace('delivered', 'bounce');
    const tampered = await postSendgrid(url, tamperedBody, timestamp, signSendgrid(timestamp, body));
    expect(tampered.status).toBe(401);
    expect((await outreach.getMessage(messageId)).status).toBe('sending');

    const ok = await postSendgrid(url, body, timestamp, signSendgrid(timestamp, body));
    expect(ok.status).toBe(200);
    expect((await outreach.getMessage(messageId)).status).toBe('delivered');
  });

  it('should opt out the recipient of a signed unsubscribe link and refuse a forged token', async () => {
    const { outreach, messageId } = await engineWithOneMessageSending('email');
    const message = await outreach.getMessage(messageId);
    const payload = {
      messageId,
      campaignId: message.campaignId,
      scope: message.scope,
      channel: 'email' as const,
      address: message.to,
    };
    const oneClick = (token: string) =>
      fetch(`${server?.url}/unsubscribe?token=${encodeURIComponent(token)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });

    const forgedToken = await createUnsubscribeToken({ ...payload, secret: 'not-the-secret-0123456789abcdefghij' });
    const forged = await oneClick(forgedToken);
    expect(forged.status).toBe(400);
    expect((await outreach.getMessage(messageId)).status).toBe('sending');

    const ok = await oneClick(await createUnsubscribeToken({ ...payload, secret: UNSUBSCRIBE_SECRET }));
    expect(ok.status).toBe(200);
    expect((await outreach.getMessage(messageId)).status).toBe('opted_out');
    expect(await outreach.isSuppressed({ channel: 'email', address: 'ada@example.com' })).toBe(true);
  });

  it('should answer 404 for an unknown route and report the worker on /health', async () => {
    await engineWithOneMessageSending('sms');
    expect((await fetch(`${server?.url}/nope`, { method: 'POST' })).status).toBe(404);
    const health = await fetch(`${server?.url}/health`);
    expect(await health.json()).toEqual({ ok: true, worker: true });
  });
});
