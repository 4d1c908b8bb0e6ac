/**
 * Benchmark 5: webhook ingestion. Twilio status callbacks (one per request, as Twilio posts them:
 * `createTwilioVerifier` + `parseTwilioStatusCallback` + `outreach.ingest([event])`) and SendGrid
 * Event Webhook batches (`verifySendgridSignature` over a P-256 signature + `parseSendgridEvents`
 * + `outreach.ingest(events)`) per second, beside the bare parse alone (the baseline), on memory
 * storage. Signatures are made in setup (HMAC-SHA1 for Twilio, ECDSA P-256 from node:crypto for
 * SendGrid); the messages are dispatched first so every callback moves a real message.
 * Run: node --import tsx bench/webhook-ingest.bench.ts [messages=20000] [sendgridBatch=100]
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { createOutreach, type ProviderEvent } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { parseSendgridEvents, verifySendgridSignature } from 'campaign-lifecycle/sendgrid';
import { createFakeClock, simulatedEmailCarrier } from 'campaign-lifecycle/testing';
import {
  computeTwilioSignature,
  createTwilioVerifier,
  parseTwilioStatusCallback,
  verifyTwilioSignature,
} from 'campaign-lifecycle/twilio';
import { acceptingSmsTransport, savedCampaign } from './bench-fixtures.js';
import { fmt, msSince, printTable, profiled, type Row, writeResults } from './bench-report.js';

const M = Number(process.argv[2] ?? 20_000);
const SG_BATCH = Number(process.argv[3] ?? 100);
const AUTH_TOKEN = 'bench-auth-token-0123456789abcdef';
const ACCOUNT = `AC${'0'.repeat(32)}`;

function fail(what: string): never {
  throw new Error(`${what}: the benchmark did not do what it claims to measure`);
}

/** An engine whose campaign of `m` messages has been dispatched: every message is `sending`. */
async function dispatched(channel: 'sms' | 'email', m: number) {
  const clock = createFakeClock();
  const email = simulatedEmailCarrier({
    clock,
    latency: 0,
    receiptDelay: 0,
    decide: () => ({ kind: 'silent' }),
    limits: { concurrency: 5000 },
  });
  const outreach = createOutreach({
    storage: memoryStorage(),
    clock,
    transports: channel === 'sms' ? { sms: acceptingSmsTransport() } : { email },
    batchSize: 1000,
    onError: (e) => fail(String(e)),
  });
  const { id } = await savedCampaign(outreach, m, channel);
  await outreach.run(id);
  await outreach.worker.runOnce();
  const messages = await outreach.listMessages(id, { statuses: ['sending'], limit: m });
  if (messages.length !== m) fail(`${channel} setup`);
  return { outreach, id, messages };
}

async function rate(
  label: string,
  units: number,
  unit: string,
  fn: () => Promise<void>,
): Promise<Row & { perSecond: number }> {
  const start = process.hrtime.bigint();
  await fn();
  const ms = msSince(start);
  return {
    path: label,
    [`${unit}`]: units,
    'per second': units / (ms / 1000),
    'µs each': (ms * 1000) / units,
    perSecond: units / (ms / 1000),
  };
}

console.log(
  `webhook-ingest: ${fmt(M)} SMS and ${fmt(M)} email messages, SendGrid batches of ${SG_BATCH}, Node ${process.version}`,
);

// ── Twilio: a `sent` then a `delivered` callback per message ─────────────
const sms = await dispatched('sms', M);
interface Callback {
  url: string;
  body: string;
  signature: string;
  token: string;
}
/** A signed `sent` then `delivered` callback for every message, as Twilio would post them. */
async function twilioCallbacks(messages: readonly { id: string; to: string }[]): Promise<Callback[]> {
  const out: Callback[] = [];
  for (const status of ['sent', 'delivered']) {
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as { id: string; to: string };
      const sid = `SM${i.toString(16).padStart(32, '0')}`;
      const url = `https://hooks.example.org/twilio/status?messageId=${m.id}`;
      const params = {
        AccountSid: ACCOUNT,
        ApiVersion: '2010-04-01',
        From: '+14155550100',
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: m.to,
      };
      out.push({
        url,
        body: new URLSearchParams(params).toString(),
        signature: await computeTwilioSignature(AUTH_TOKEN, url, params),
        token: `${sid}-${status}`,
      });
    }
  }
  return out;
}
const callbacks = await twilioCallbacks(sms.messages);
// A second dispatched campaign takes the same callbacks pre-parsed: the engine's share alone.
const smsAlone = await dispatched('sms', M);
const preParsed = (await twilioCallbacks(smsAlone.messages)).map((c) =>
  parseTwilioStatusCallback(new URLSearchParams(c.body), { url: c.url, idempotencyToken: c.token }),
);
const verify = createTwilioVerifier(AUTH_TOKEN);
const parseTwilio = (c: Callback) =>
  parseTwilioStatusCallback(new URLSearchParams(c.body), { url: c.url, idempotencyToken: c.token });
// Warm up the parse and the verifier on a slice (the ingest path is warmed by its own first requests).
for (const c of callbacks.slice(0, 2000)) {
  parseTwilio(c);
  await verify({ url: c.url, rawBody: c.body, signature: c.signature });
}
const twilioRows = [
  await rate('baseline: URLSearchParams + parseTwilioStatusCallback', callbacks.length, 'callbacks', async () => {
    let n = 0;
    for (const c of callbacks) if (parseTwilio(c).status) n++;
    if (n !== callbacks.length) fail('parse');
  }),
  await rate('createTwilioVerifier (key cached) alone', callbacks.length, 'callbacks', async () => {
    for (const c of callbacks)
      if (!(await verify({ url: c.url, rawBody: c.body, signature: c.signature }))) fail('verify');
  }),
  await rate('verifyTwilioSignature (key imported per call) alone', callbacks.length, 'callbacks', async () => {
    for (const c of callbacks) {
      if (
        !(await verifyTwilioSignature({ authToken: AUTH_TOKEN, url: c.url, rawBody: c.body, signature: c.signature }))
      )
        fail('verify');
    }
  }),
  await rate('ingest([event]) alone, pre-parsed, per callback', preParsed.length, 'callbacks', async () => {
    let applied = 0;
    for (const e of preParsed) applied += (await smsAlone.outreach.ingest([e])).applied;
    if (applied !== preParsed.length) fail(`Twilio ingest applied ${applied} of ${preParsed.length}`);
  }),
  await rate('verify + parse + ingest([event]) per callback', callbacks.length, 'callbacks', () =>
    profiled('webhook-twilio-full', async () => {
      let applied = 0;
      for (const c of callbacks) {
        if (!(await verify({ url: c.url, rawBody: c.body, signature: c.signature }))) fail('verify');
        applied += (await sms.outreach.ingest([parseTwilio(c)])).applied;
      }
      if (applied !== callbacks.length) fail(`Twilio ingest applied ${applied} of ${callbacks.length}`);
    }),
  ),
];
if ((await sms.outreach.getStats(sms.id)).counts.delivered !== M) fail('Twilio: not all delivered');
callbacks.length = 0;

// ── SendGrid: processed, delivered, open per message, posted in batches ──
const email = await dispatched('email', M);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const publicKeyBase64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const stream: Record<string, unknown>[] = [];
let timestamp = 1_767_603_600;
for (const event of ['processed', 'delivered', 'open']) {
  for (let i = 0; i < M; i++) {
    const m = email.messages[i] as (typeof email.messages)[number];
    stream.push({
      email: m.to,
      timestamp: timestamp++,
      event,
      sg_event_id: `evt-${event}-${i}`,
      sg_message_id: `${m.context.providerMessageId}.filterdrecv-5645d9c87f-2xzqq-1-65A1B2C3-4.0`,
      'smtp-id': `<${m.id}@example.org>`,
      message_id: m.id,
      campaign_id: email.id,
      category: ['bench'],
      ...(event === 'open' ? { useragent: 'Mozilla/5.0', ip: '192.0.2.1', sg_machine_open: false } : {}),
    });
  }
}
interface Post {
  body: string;
  signature: string;
  timestamp: string;
  events: number;
}
const posts: Post[] = [];
for (let i = 0; i < stream.length; i += SG_BATCH) {
  const batch = stream.slice(i, i + SG_BATCH);
  const body = `${JSON.stringify(batch)}\r\n`;
  const ts = String(1_767_603_600 + i);
  posts.push({
    body,
    timestamp: ts,
    signature: sign('sha256', Buffer.from(ts + body), privateKey).toString('base64'),
    events: batch.length,
  });
}
stream.length = 0;
const verifySg = (p: Post) =>
  verifySendgridSignature({
    publicKey: publicKeyBase64,
    rawBody: p.body,
    signature: p.signature,
    timestamp: p.timestamp,
  });
for (const p of posts.slice(0, 50)) {
  parseSendgridEvents(JSON.parse(p.body));
  if (!(await verifySg(p))) fail('SendGrid verify');
}
const events = posts.reduce((s, p) => s + p.events, 0);
const sendgridRows = [
  await rate('baseline: JSON.parse + parseSendgridEvents', events, 'events', async () => {
    let n = 0;
    for (const p of posts) n += parseSendgridEvents(JSON.parse(p.body)).events.length;
    if (n !== events) fail('SendGrid parse');
  }),
  await rate('verifySendgridSignature alone', events, 'events', async () => {
    for (const p of posts) if (!(await verifySg(p))) fail('SendGrid verify');
  }),
  await rate(`verify + parse + ingest (${SG_BATCH} events per POST)`, events, 'events', async () => {
    let seen = 0;
    for (const p of posts) {
      if (!(await verifySg(p))) fail('SendGrid verify');
      const parsed = parseSendgridEvents(JSON.parse(p.body)).events as ProviderEvent[];
      const r = await email.outreach.ingest(parsed);
      seen += r.applied + r.ignored;
    }
    if (seen !== events) fail(`SendGrid ingest saw ${seen} of ${events}`);
  }),
];
const sgStats = await email.outreach.getStats(email.id);
if (sgStats.counts.delivered !== M || sgStats.opens !== M) fail('SendGrid: not all delivered and opened');

const strip = (rows: (Row & { perSecond: number })[]) => rows.map(({ perSecond: _p, ...r }) => r);
printTable(`Twilio status callbacks (${fmt(M)} messages × sent, delivered)`, strip(twilioRows));
printTable(
  `SendGrid Event Webhook (${fmt(M)} messages × processed, delivered, open; ${fmt(posts.length)} POSTs)`,
  strip(sendgridRows),
);
const ratios = {
  twilioFullOverParse: (twilioRows[0]?.perSecond ?? 0) / (twilioRows[4]?.perSecond ?? 1),
  sendgridFullOverParse: (sendgridRows[0]?.perSecond ?? 0) / (sendgridRows[2]?.perSecond ?? 1),
};
printTable('Cost of the full path against the bare parse', [
  { provider: 'Twilio', 'full / parse (time per item)': ratios.twilioFullOverParse },
  { provider: 'SendGrid', 'full / parse (time per item)': ratios.sendgridFullOverParse },
]);
const toFigures = (rows: (Row & { perSecond: number })[]) => Object.fromEntries(rows.map((r) => [r.path, r.perSecond]));
await writeResults('webhook-ingest', {
  messages: M,
  sendgridBatch: SG_BATCH,
  twilioCallbacksPerSecond: toFigures(twilioRows),
  sendgridEventsPerSecond: toFigures(sendgridRows),
  ratios,
});
