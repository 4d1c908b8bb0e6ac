/**
 * Batched email (issue 17): `sendBatch` puts the messages of one dispatch round that share content in
 * one v3 mail send, a personalization each (its recipient, custom_args naming our message, its own
 * headers and unsubscribe link), and maps the request's answer to every message in it. Real HTTP on
 * 127.0.0.1; request bodies are checked against SendGrid's OpenAPI schema
 * (tests/fixtures/providers/sendgrid-mail-send.json, from twilio/sendgrid-oai spec/json/tsg_mail_v3.json,
 * see SOURCE.md).
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { isOutreachError, type OutgoingEmail, type SendResult } from 'campaign-lifecycle';
import { renderEmail } from 'campaign-lifecycle/templates';
import { afterEach, describe, expect, it } from 'vitest';
import { SENDGRID_MESSAGE_ID_ARG, sendgridTransport } from '../../../adapters/sendgrid/index.js';
import { closedPortUrl, fakeProvider, json, type Loopback, type RecordedRequest } from '../../support/loopback-http.js';
import { checkSchema, type Schema } from '../../support/schema-check.js';

const mailSend = JSON.parse(
  readFileSync(new URL('../../fixtures/providers/sendgrid-mail-send.json', import.meta.url), 'utf8'),
) as { requestSchema: Schema };

interface Personalization {
  to: { email: string }[];
  custom_args: Record<string, string>;
  headers?: Record<string, string>;
  substitutions?: Record<string, string>;
}
interface MailBody {
  personalizations: Personalization[];
  subject: string;
  content: { type: string; value: string }[];
  headers?: Record<string, string>;
}

const CONTENT = {
  subject: 'Snow day',
  html: '<html><body><p>School is closed today.</p></body></html>',
  text: 'School is closed today.',
};

/** An email as the engine renders it: the same content, each with its own signed unsubscribe link. */
function rendered(i: number, content: Partial<typeof CONTENT> = {}, unsubscribe = true): OutgoingEmail {
  const url = `https://school.example/unsubscribe?token=tok${i}.sig${i}&lang=en`;
  const r = renderEmail({ ...CONTENT, ...content }, {}, unsubscribe ? { unsubscribeUrl: url } : {});
  return {
    channel: 'email',
    messageId: `msg_${i}`,
    campaignId: 'cmp_snow',
    to: `parent${i}@example.com`,
    subject: r.subject,
    html: r.html,
    ...(r.text === undefined ? {} : { text: r.text }),
    headers: r.headers,
    ...(unsubscribe ? { unsubscribeUrl: url } : {}),
    attempt: 1,
  };
}
const many = (n: number, content: Partial<typeof CONTENT> = {}) =>
  Array.from({ length: n }, (_, i) => rendered(i, content));

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

let ids = 0;
const accept = (_r: RecordedRequest, res: ServerResponse) => {
  res.writeHead(202, { 'x-message-id': `batch${++ids}` });
  res.end();
};

function transportFor(url: string, extra: Record<string, unknown> = {}) {
  return sendgridTransport({
    apiKey: 'SG.key',
    from: { email: 'news@school.example', name: 'School' },
    baseUrl: url,
    timeoutMs: 1_000,
    ...extra,
  });
}

async function sendBatch(url: string, messages: OutgoingEmail[], extra: Record<string, unknown> = {}) {
  const transport = transportFor(url, extra);
  expect(transport.sendBatch).toBeTypeOf('function');
  return (await transport.sendBatch?.(messages)) as readonly SendResult[];
}

const bodies = () => (server as Loopback).requests.map((r) => JSON.parse(r.body) as MailBody);

/** What SendGrid does with a personalization's substitutions. */
const substitute = (text: string, subs: Record<string, string> = {}) =>
  Object.entries(subs).reduce((t, [tag, value]) => t.split(tag).join(value), text);

describe('sendgrid batching: messages that share content go in one request', () => {
  it('should send a round of 300 emails with the same content in one request, a personalization per message', async () => {
    server = await fakeProvider(accept);
    const messages = many(300);
    const results = await sendBatch(server.url, messages);
    expect(server.requests).toHaveLength(1);
    const [body] = bodies();
    expect(body?.personalizations).toHaveLength(300);
    expect(checkSchema(mailSend.requestSchema, body, { strict: true })).toEqual([]);
    expect(body?.personalizations.map((p) => p.custom_args[SENDGRID_MESSAGE_ID_ARG])).toEqual(
      messages.map((m) => m.messageId),
    );
    expect(body?.personalizations.map((p) => p.to)).toEqual(messages.map((m) => [{ email: m.to }]));
    expect(results).toEqual(messages.map(() => ({ outcome: 'accepted', providerMessageId: `batch${ids}` })));
  });

  it('should give each recipient exactly the email send would have sent: its own unsubscribe link and headers', async () => {
    server = await fakeProvider(accept);
    const messages = many(5);
    await sendBatch(server.url, messages);
    const [body] = bodies();
    expect(body?.headers).toBeUndefined();
    body?.personalizations.forEach((p, i) => {
      const m = messages[i] as OutgoingEmail;
      expect(p.headers).toEqual(m.headers);
      expect(substitute(body.subject, p.substitutions)).toBe(m.subject);
      expect(substitute(body.content.find((c) => c.type === 'text/html')?.value ?? '', p.substitutions)).toBe(m.html);
      expect(substitute(body.content.find((c) => c.type === 'text/plain')?.value ?? '', p.substitutions)).toBe(m.text);
      // The link is the message's own, in the HTML escaped as the renderer escaped it.
      expect(m.html).toContain(`tok${i}.sig${i}&amp;lang=en`);
      expect(Object.values(p.substitutions ?? {})).toContain(m.unsubscribeUrl);
    });
  });

  it('should send messages whose content differs in requests of their own', async () => {
    server = await fakeProvider(accept);
    const messages = [
      ...many(3),
      rendered(3, { html: '<p>Ann: school is closed.</p>' }),
      ...many(2, { subject: 'Ice' }),
    ];
    const results = await sendBatch(server.url, messages);
    const sizes = bodies()
      .map((b) => b.personalizations.length)
      .sort();
    expect(sizes).toEqual([1, 2, 3]);
    expect(results.every((r) => r.outcome === 'accepted')).toBe(true);
    // A message alone is sent exactly as `send` sends it: its headers at the top level.
    const alone = bodies().find((b) => b.personalizations.length === 1);
    expect(alone?.headers).toEqual(messages[3]?.headers);
  });

  it('should cut a round into requests of at most 1,000 personalizations (SendGrid maxItems), or maxBatchSize', async () => {
    server = await fakeProvider(accept);
    const results = await sendBatch(server.url, many(2_300));
    expect(
      bodies()
        .map((b) => b.personalizations.length)
        .sort((a, b) => a - b),
    ).toEqual([300, 1000, 1000]);
    expect(results).toHaveLength(2_300);
    await server.close();
    server = await fakeProvider(accept);
    await sendBatch(server.url, many(25), { maxBatchSize: 10 });
    expect(bodies().map((b) => b.personalizations.length)).toEqual([10, 10, 5]);
  });

  it('should answer an empty round with no request', async () => {
    server = await fakeProvider(accept);
    expect(await sendBatch(server.url, [])).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('should refuse a message without a sender alone and batch the others', async () => {
    server = await fakeProvider(accept);
    const transport = sendgridTransport({ apiKey: 'SG.key', baseUrl: server.url });
    const messages = many(3).map((m, i) => (i === 1 ? m : { ...m, from: { email: 'news@school.example' } }));
    const results = (await transport.sendBatch?.(messages)) ?? [];
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(results[1]).toMatchObject({ reason: 'sender_config', fatal: true });
    expect(bodies().map((b) => b.personalizations.length)).toEqual([2]);
  });
});

describe('sendgrid batching: bounded requests', () => {
  it('should keep at most 16 requests in flight when the messages share nothing', async () => {
    let open = 0;
    let most = 0;
    server = await fakeProvider((request, res) => {
      open++;
      most = Math.max(most, open);
      setTimeout(() => {
        open--;
        accept(request, res);
      }, 50);
    });
    const personal = Array.from({ length: 40 }, (_, i) =>
      rendered(i, { html: `<p>Dear parent ${i}: school is closed.</p>` }),
    );
    const results = await sendBatch(server.url, personal);
    expect(server.requests).toHaveLength(40);
    // In parallel, never more than 16 at once (without the bound, all 40 would be open together).
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(16);
    expect(results.every((r) => r.outcome === 'accepted')).toBe(true);
  });
});

describe("sendgrid batching: the request's answer holds for every message in it", () => {
  it('should leave every message of a request that timed out unknown, and never resend it', async () => {
    server = await fakeProvider(() => 'hang');
    const results = await sendBatch(server.url, many(50), { timeoutMs: 200 });
    expect(results).toHaveLength(50);
    expect(results.every((r) => r.outcome === 'unknown')).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('should make every message pre-send on 429 or 5xx, with the Retry-After', async () => {
    server = await fakeProvider((_r, res) =>
      json(res, 429, { errors: [{ message: 'too many' }] }, { 'retry-after': '7' }),
    );
    const results = await sendBatch(server.url, many(4));
    expect(results).toEqual(
      Array.from({ length: 4 }, () => expect.objectContaining({ outcome: 'presend', retryAfterMs: 7_000 })),
    );
  });

  it('should make every message pre-send when the connection is refused', async () => {
    const results = await sendBatch(await closedPortUrl(), many(3));
    expect(results.map((r) => r.outcome)).toEqual(['presend', 'presend', 'presend']);
  });

  it('should refuse every message, fatally, when the account is refused', async () => {
    server = await fakeProvider((_r, res) => json(res, 401, { errors: [{ message: 'bad key' }] }));
    const results = await sendBatch(server.url, many(3));
    expect(results.every((r) => r.outcome === 'rejected' && r.reason === 'sender_config' && r.fatal)).toBe(true);
  });

  it('should refuse only the message a 400 names, and send the others again without it', async () => {
    let calls = 0;
    server = await fakeProvider((request, res) => {
      calls++;
      const body = JSON.parse(request.body) as MailBody;
      const bad = body.personalizations.findIndex((p) => p.to[0]?.email === 'parent1@example.com');
      if (bad >= 0) {
        return json(res, 400, {
          errors: [{ message: 'Does not contain a valid address.', field: `personalizations.${bad}.to.0.email` }],
        });
      }
      return accept(request, res);
    });
    const results = await sendBatch(server.url, many(4));
    expect(results.map((r) => r.outcome)).toEqual(['accepted', 'rejected', 'accepted', 'accepted']);
    expect(results[1]).toMatchObject({ reason: 'invalid_address', code: '400' });
    expect(calls).toBe(2);
    expect(bodies()[1]?.personalizations.map((p) => p.to[0]?.email)).toEqual([
      'parent0@example.com',
      'parent2@example.com',
      'parent3@example.com',
    ]);
  });

  it('should refuse every message when a 400 is about the shared content', async () => {
    server = await fakeProvider((_r, res) =>
      json(res, 400, {
        errors: [{ message: 'The from address does not match a verified Sender Identity.', field: 'from' }],
      }),
    );
    const results = await sendBatch(server.url, many(3));
    expect(results.every((r) => r.outcome === 'rejected' && r.reason === 'failed_to_create')).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('should split a request SendGrid finds too large (413) in two', async () => {
    server = await fakeProvider((request, res) => {
      const n = (JSON.parse(request.body) as MailBody).personalizations.length;
      if (n > 2) return json(res, 413, { errors: [{ message: 'too large' }] });
      return accept(request, res);
    });
    const results = await sendBatch(server.url, many(8));
    expect(results.every((r) => r.outcome === 'accepted')).toBe(true);
    expect(bodies().map((b) => b.personalizations.length)).toEqual([8, 4, 4, 2, 2, 2, 2]);
  });
});

describe('sendgrid batching: options', () => {
  it('should have no sendBatch when maxBatchSize is 1', () => {
    expect(sendgridTransport({ apiKey: 'SG.key', maxBatchSize: 1 }).sendBatch).toBeUndefined();
  });

  it.each([0, 1001, 2.5, Number.NaN])('should refuse maxBatchSize %s with CONFIGURATION_ERROR', (maxBatchSize) => {
    try {
      sendgridTransport({ apiKey: 'SG.key', maxBatchSize });
      expect.unreachable();
    } catch (error) {
      expect(isOutreachError(error) && error.code).toBe('CONFIGURATION_ERROR');
    }
  });
});
