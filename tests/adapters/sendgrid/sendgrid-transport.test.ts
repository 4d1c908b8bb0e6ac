import type { OutgoingEmail } from 'campaign-lifecycle';
import { afterEach, describe, expect, it } from 'vitest';
import { sendgridTransport } from '../../../adapters/sendgrid/index.js';
import { closedPortUrl, fakeProvider, json, type Loopback } from '../../support/loopback-http.js';

const email = (overrides: Partial<OutgoingEmail> = {}): OutgoingEmail => ({
  channel: 'email',
  messageId: 'msg_e1',
  campaignId: 'cmp_e',
  to: 'ada@example.com',
  subject: 'Term dates',
  html: '<p>Hello Ada</p>',
  headers: {},
  attempt: 1,
  ...overrides,
});

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function transportFor(url: string, extra: Record<string, unknown> = {}) {
  return sendgridTransport({
    apiKey: 'SG.key',
    from: { email: 'news@school.example', name: 'School' },
    baseUrl: url,
    timeoutMs: 2_000,
    ...extra,
  });
}

const accepted = (_r: unknown, res: import('node:http').ServerResponse) => {
  res.writeHead(202, { 'x-message-id': 'qNwBLgPQQjW6DJvKQwSAbw' });
  res.end();
};

describe('sendgrid: transport request', () => {
  it('should POST one personalization with our ids in custom_args, Bearer auth, and read X-Message-Id', async () => {
    server = await fakeProvider(accepted);
    const message = email({
      text: 'Hello Ada',
      replyTo: { email: 'office@school.example' },
      attachments: [{ filename: 'dates.pdf', content: 'JVBERi0=', type: 'application/pdf', disposition: 'attachment' }],
      headers: {
        'List-Unsubscribe': '<https://school.example/u/tok>, <mailto:unsub@school.example>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
    expect(await transportFor(server.url).send(message)).toEqual({
      outcome: 'accepted',
      providerMessageId: 'qNwBLgPQQjW6DJvKQwSAbw',
    });
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v3/mail/send');
    expect(req.headers.authorization).toBe('Bearer SG.key');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({
      personalizations: [
        { to: [{ email: 'ada@example.com' }], custom_args: { message_id: 'msg_e1', campaign_id: 'cmp_e' } },
      ],
      from: { email: 'news@school.example', name: 'School' },
      reply_to: { email: 'office@school.example' },
      subject: 'Term dates',
      content: [
        { type: 'text/plain', value: 'Hello Ada' },
        { type: 'text/html', value: '<p>Hello Ada</p>' },
      ],
      attachments: [{ content: 'JVBERi0=', filename: 'dates.pdf', type: 'application/pdf', disposition: 'attachment' }],
      headers: {
        'List-Unsubscribe': '<https://school.example/u/tok>, <mailto:unsub@school.example>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
  });

  it("should prefer the message's sender, send HTML only without text, and set sandbox mode", async () => {
    server = await fakeProvider(accepted);
    await transportFor(server.url, { sandboxMode: true }).send(email({ from: { email: 'head@school.example' } }));
    const body = JSON.parse(server.requests[0]!.body);
    expect(body.from).toEqual({ email: 'head@school.example' });
    expect(body.content).toEqual([{ type: 'text/html', value: '<p>Hello Ada</p>' }]);
    expect(body.mail_settings).toEqual({ sandbox_mode: { enable: true } });
    expect(body.headers).toBeUndefined();
  });

  it('should accept a 2xx without X-Message-Id (our id in custom_args still correlates)', async () => {
    server = await fakeProvider((_r, res) => {
      res.writeHead(200);
      res.end();
    });
    expect(await transportFor(server.url).send(email())).toEqual({ outcome: 'accepted', providerMessageId: undefined });
  });

  it('should refuse without a request when no sender is configured', async () => {
    server = await fakeProvider(accepted);
    const t = sendgridTransport({ apiKey: 'k', baseUrl: server.url });
    expect(await t.send(email())).toMatchObject({ outcome: 'rejected', reason: 'sender_config', fatal: true });
    expect(server.requests).toHaveLength(0);
    expect([t.channel, t.name]).toEqual(['email', 'sendgrid']);
    expect(() => sendgridTransport({ apiKey: '' })).toThrow(expect.objectContaining({ code: 'CONFIGURATION_ERROR' }));
  });
});

describe('sendgrid: transport outcome classification', () => {
  it('should report a 429 as pre-send with Retry-After honoured', async () => {
    server = await fakeProvider((_r, res) =>
      json(res, 429, { errors: [{ field: null, message: 'too many requests' }] }, { 'retry-after': '3' }),
    );
    expect(await transportFor(server.url).send(email())).toEqual({
      outcome: 'presend',
      error: expect.stringContaining('too many requests'),
      retryAfterMs: 3000,
    });
  });

  it('should fall back to X-RateLimit-Reset (epoch seconds) against the clock', async () => {
    const now = 1_700_000_000_000;
    server = await fakeProvider((_r, res) =>
      json(res, 429, { errors: [] }, { 'x-ratelimit-reset': String(now / 1000 + 12) }),
    );
    expect(await transportFor(server.url, { clock: { now: () => now } }).send(email())).toMatchObject({
      outcome: 'presend',
      retryAfterMs: 12_000,
    });
  });

  it.each([500, 503])('should report HTTP %i as pre-send', async (status) => {
    server = await fakeProvider((_r, res) => json(res, status, {}));
    expect(await transportFor(server.url).send(email())).toMatchObject({ outcome: 'presend' });
  });

  it('should report a hung response as unknown after timeoutMs, having sent exactly one request', async () => {
    server = await fakeProvider(() => 'hang');
    expect(await transportFor(server.url, { timeoutMs: 150 }).send(email())).toMatchObject({ outcome: 'unknown' });
    await server.received(1);
    expect(server.requests).toHaveLength(1);
  });

  it('should report a dropped connection as unknown', async () => {
    server = await fakeProvider(() => 'drop');
    expect(await transportFor(server.url).send(email())).toMatchObject({ outcome: 'unknown' });
  });

  it('should report a refused connection as pre-send', async () => {
    expect(await transportFor(await closedPortUrl()).send(email())).toMatchObject({ outcome: 'presend' });
  });

  it('should report a 400 about the recipient as invalid_address, keeping SendGrid’s text', async () => {
    server = await fakeProvider((_r, res) =>
      json(res, 400, {
        errors: [{ field: 'personalizations.0.to.0.email', message: 'Does not contain a valid address.' }],
      }),
    );
    expect(await transportFor(server.url).send(email())).toEqual({
      outcome: 'rejected',
      reason: 'invalid_address',
      code: '400',
      error: expect.stringContaining('Does not contain a valid address.'),
    });
  });

  it('should report another 400 as failed_to_create', async () => {
    server = await fakeProvider((_r, res) =>
      json(res, 400, { errors: [{ field: 'subject', message: 'The subject is required.' }] }),
    );
    expect(await transportFor(server.url).send(email())).toMatchObject({
      outcome: 'rejected',
      reason: 'failed_to_create',
      error: expect.stringContaining('The subject is required.'),
    });
  });

  it('should report a 413 as content_rejected', async () => {
    server = await fakeProvider((_r, res) => json(res, 413, { errors: [{ message: 'too large' }] }));
    expect(await transportFor(server.url).send(email())).toMatchObject({
      outcome: 'rejected',
      reason: 'content_rejected',
    });
  });

  it.each([401, 403])('should report HTTP %i as a fatal sender_config refusal', async (status) => {
    server = await fakeProvider((_r, res) =>
      json(res, status, { errors: [{ message: 'The provided authorization grant is invalid' }] }),
    );
    expect(await transportFor(server.url).send(email())).toMatchObject({
      outcome: 'rejected',
      reason: 'sender_config',
      fatal: true,
    });
  });
});
