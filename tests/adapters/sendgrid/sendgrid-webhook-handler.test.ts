import { generateKeyPairSync, sign } from 'node:crypto';
import type { EventSink, IngestResult, ProviderEvent } from 'campaign-lifecycle';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridWebhookHandler,
} from '../../../adapters/sendgrid/index.js';
import { serveWebHandler } from '../../support/loopback-http.js';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const NOW = 1_700_000_000_000;
const TS = String(NOW / 1000);

function recordingSink(): EventSink & { batches: ProviderEvent[][] } {
  const batches: ProviderEvent[][] = [];
  return {
    batches,
    async ingest(events): Promise<IngestResult> {
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

async function serve(options: Partial<Parameters<typeof sendgridWebhookHandler>[0]> = {}) {
  const outreach = recordingSink();
  const server = await serveWebHandler(
    sendgridWebhookHandler({ outreach, publicKey: PUBLIC_KEY, clock: { now: () => NOW }, ...options }),
  );
  close = server.close;
  return { outreach, url: `${server.url}/sendgrid/events` };
}

const batch = (events: object[]) => `${JSON.stringify(events).split('},{').join('},\r\n{')}\r\n`;
const signed = (body: string, timestamp = TS, key = privateKey) =>
  sign('sha256', Buffer.from(timestamp + body), key).toString('base64');

async function post(url: string, body: string, headers: Record<string, string>) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

const events = [
  {
    email: 'ada@example.com',
    event: 'processed',
    timestamp: 1_700_000_000,
    sg_event_id: 'e1',
    sg_message_id: 'abc.filter',
    message_id: 'msg_1',
  },
  {
    email: 'ada@example.com',
    event: 'delivered',
    timestamp: 1_700_000_001,
    sg_event_id: 'e2',
    sg_message_id: 'abc.filter',
    message_id: 'msg_1',
  },
  {
    email: 'ada@example.com',
    event: 'brand_new_event',
    timestamp: 1_700_000_002,
    sg_event_id: 'e3',
    message_id: 'msg_1',
  },
];

describe('sendgrid: webhook handler over HTTP', () => {
  it('should ingest a signed batch, skip unmapped types, and answer 200', async () => {
    const { outreach, url } = await serve();
    const body = batch(events);
    const res = await post(url, body, { [SENDGRID_SIGNATURE_HEADER]: signed(body), [SENDGRID_TIMESTAMP_HEADER]: TS });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: 2, skipped: 1 });
    expect(outreach.batches).toEqual([
      [
        expect.objectContaining({ status: 'sending', messageId: 'msg_1', providerMessageId: 'abc', eventId: 'e1' }),
        expect.objectContaining({ status: 'delivered', messageId: 'msg_1', eventId: 'e2' }),
      ],
    ]);
  });

  it.each([
    [
      'a forged signature',
      (body: string) => ({ [SENDGRID_SIGNATURE_HEADER]: signed(body, TS, other), [SENDGRID_TIMESTAMP_HEADER]: TS }),
    ],
    ['a missing signature', () => ({ [SENDGRID_TIMESTAMP_HEADER]: TS })],
    ['a missing timestamp', (body: string) => ({ [SENDGRID_SIGNATURE_HEADER]: signed(body) })],
    [
      'a signature over another timestamp',
      (body: string) => ({
        [SENDGRID_SIGNATURE_HEADER]: signed(body),
        [SENDGRID_TIMESTAMP_HEADER]: String(Number(TS) + 1),
      }),
    ],
    [
      'a signature over another body',
      (body: string) => ({ [SENDGRID_SIGNATURE_HEADER]: signed(body.trimEnd()), [SENDGRID_TIMESTAMP_HEADER]: TS }),
    ],
  ])('should answer 401 and ingest nothing for %s', async (_name, headersFor) => {
    const { outreach, url } = await serve();
    const body = batch(events);
    const res = await post(url, body, headersFor(body));
    expect(res.status).toBe(401);
    expect(outreach.batches).toEqual([]);
  });

  it('should refuse a correctly signed but stale request when maxAgeSeconds is set', async () => {
    const { outreach, url } = await serve({ maxAgeSeconds: 300 });
    const body = batch(events);
    const old = String(Number(TS) - 301);
    const res = await post(url, body, {
      [SENDGRID_SIGNATURE_HEADER]: signed(body, old),
      [SENDGRID_TIMESTAMP_HEADER]: old,
    });
    expect(res.status).toBe(401);
    expect(outreach.batches).toEqual([]);
  });

  it('should refuse a body over maxBodyBytes with 413', async () => {
    const { outreach, url } = await serve({ maxBodyBytes: 512 });
    const body = batch(Array.from({ length: 10 }, () => events[0]!));
    const res = await post(url, body, { [SENDGRID_SIGNATURE_HEADER]: signed(body), [SENDGRID_TIMESTAMP_HEADER]: TS });
    expect(res.status).toBe(413);
    expect(outreach.batches).toEqual([]);
  });

  it.each([
    ['not JSON', '[{"event":'],
    ['not an array', '{"event":"delivered"}\r\n'],
  ])('should answer 400 for a signed body that is %s', async (_name, body) => {
    const { outreach, url } = await serve();
    const res = await post(url, body, { [SENDGRID_SIGNATURE_HEADER]: signed(body), [SENDGRID_TIMESTAMP_HEADER]: TS });
    expect(res.status).toBe(400);
    expect(outreach.batches).toEqual([]);
  });
});
