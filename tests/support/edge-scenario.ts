/**
 * What the edge-runtime test runs inside `@edge-runtime/vm` (Vercel's edge runtime: web APIs only, no
 * `Buffer`, `process` or `setImmediate`). It is bundled by esbuild for `platform: 'neutral'` with nothing
 * external, as an IIFE that leaves its checks on `globalThis.edgeScenario`; each check answers JSON so
 * that no object crosses between the VM's realm and the test's.
 */
import { createOutreach, type EventSink, type IngestResult, type ProviderEvent } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridWebhookHandler,
} from 'campaign-lifecycle/sendgrid';
import { createFakeClock, simulatedEmailCarrier, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { computeTwilioSignature, twilioWebhookHandler } from 'campaign-lifecycle/twilio';

function recordingSink(): EventSink & { events: ProviderEvent[] } {
  const events: ProviderEvent[] = [];
  return {
    events,
    async ingest(batch): Promise<IngestResult> {
      events.push(...batch);
      return { applied: batch.length, duplicates: 0, ignored: 0, unmatched: 0 };
    },
  };
}

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

/** Web Crypto signs ECDSA as raw `r || s`; SendGrid sends DER. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    const padded = (trimmed[0] as number) & 0x80 ? [0, ...trimmed] : [...trimmed];
    return [0x02, padded.length, ...padded];
  };
  const body = [...integer(raw.subarray(0, 32)), ...integer(raw.subarray(32))];
  return new Uint8Array([0x30, body.length, ...body]);
}

async function twilio() {
  const authToken = 'edge-auth-token';
  const sink = recordingSink();
  const handle = twilioWebhookHandler({ outreach: sink, authToken });
  const url = 'https://hooks.example.com/twilio/status?messageId=msg_1';
  const params = { MessageSid: 'SM1', MessageStatus: 'delivered', AccountSid: 'AC1', To: '+14155550101' };
  const post = (signature: string) =>
    handle(
      new Request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        body: new URLSearchParams(params).toString(),
      }),
    );
  const signed = await post(await computeTwilioSignature(authToken, url, params));
  const forged = await post(await computeTwilioSignature('another-token', url, params));
  return JSON.stringify({ signed: signed.status, forged: forged.status, events: sink.events });
}

async function sendgrid() {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const other = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const publicKey = base64(new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey)));
  const sink = recordingSink();
  const handle = sendgridWebhookHandler({ outreach: sink, publicKey });
  const body = JSON.stringify([
    { event: 'delivered', email: 'ada@example.org', timestamp: 1767603600, sg_event_id: 'ev1', message_id: 'msg_1' },
  ]);
  const timestamp = '1767603600';
  const post = async (key: CryptoKey) => {
    const data = new TextEncoder().encode(timestamp + body);
    const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data));
    return handle(
      new Request('https://hooks.example.com/sendgrid/events', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SENDGRID_SIGNATURE_HEADER]: base64(rawToDer(raw)),
          [SENDGRID_TIMESTAMP_HEADER]: timestamp,
        },
        body,
      }),
    );
  };
  const signed = await post(keys.privateKey);
  const forged = await post(other.privateKey);
  return JSON.stringify({ signed: signed.status, forged: forged.status, events: sink.events.length });
}

/** The README quick start, plus an email campaign whose contacts come from a CSV in a web stream, then exported. */
async function campaign() {
  const clock = createFakeClock();
  const outreach = createOutreach({
    storage: memoryStorage(),
    clock,
    transports: {
      sms: simulatedSmsCarrier({ clock, byAddress: { '+14155550102': { kind: 'no_receipt' } } }),
      email: simulatedEmailCarrier({ clock }),
    },
  });
  const sms = await outreach.createCampaign({
    name: 'Snow day',
    channel: 'sms',
    content: { body: 'Hi {{first_name|there}}, school is closed today.' },
  });
  await outreach.addContacts(sms.id, [
    { address: '+14155550101', fields: { first_name: 'Ada' } },
    { address: '+14155550102', fields: { first_name: 'Grace' } },
    { address: '+14155550103' },
  ]);
  const email = await outreach.createCampaign({
    name: 'Newsletter',
    channel: 'email',
    content: { from: { email: 'office@school.example' }, subject: 'News', html: '<p>Hello {{first_name}}</p>' },
  });
  const csv = 'email,first_name\nada@example.org,Ada\nnot-an-email,Bob\ngrace@example.org,Grace\n';
  const bytes = new TextEncoder().encode(csv);
  const imported = await outreach.importContacts(
    email.id,
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 20));
        controller.enqueue(bytes.subarray(20));
        controller.close();
      },
    }),
  );
  for (const id of [sms.id, email.id]) {
    await outreach.save(id);
    await outreach.run(id);
  }
  outreach.worker.start();
  await clock.advance('15m');
  const done = await outreach.getCampaign(sms.id);
  const mailed = await outreach.getCampaign(email.id);
  await outreach.worker.stop();
  let exported = '';
  for await (const chunk of outreach.exportMessages(email.id, { fields: ['first_name'] })) exported += chunk;
  return JSON.stringify({
    sms: { status: done.status, delivered: done.counts.delivered, assumed: done.counts.assumed_delivered },
    email: {
      status: mailed.status,
      messages: mailed.messageCount,
      imported: imported.imported,
      rejected: imported.rejectedCount,
    },
    exported,
  });
}

const globals = () =>
  JSON.stringify({
    Buffer: typeof (globalThis as Record<string, unknown>).Buffer,
    process: typeof (globalThis as Record<string, unknown>).process,
    setImmediate: typeof (globalThis as Record<string, unknown>).setImmediate,
    require: typeof (globalThis as Record<string, unknown>).require,
  });

(globalThis as Record<string, unknown>).edgeScenario = { globals, twilio, sendgrid, campaign };
