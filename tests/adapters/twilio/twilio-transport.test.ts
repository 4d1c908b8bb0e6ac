import type { OutgoingSms } from 'campaign-lifecycle';
import { afterEach, describe, expect, it } from 'vitest';
import { twilioTransport } from '../../../adapters/twilio/index.js';
import { closedPortUrl, fakeProvider, json, type Loopback } from '../../support/loopback-http.js';

const sms = (overrides: Partial<OutgoingSms> = {}): OutgoingSms => ({
  channel: 'sms',
  messageId: 'msg_1',
  campaignId: 'cmp_1',
  to: '+14155550100',
  body: 'Hello Ada',
  encoding: 'GSM-7',
  segments: 1,
  attempt: 1,
  ...overrides,
});

const CALLBACK = 'https://hooks.example.com/twilio/status';
let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function transportFor(url: string, extra: Record<string, unknown> = {}) {
  return twilioTransport({
    accountSid: 'AC123',
    authToken: 'tok',
    from: '+15005550006',
    statusCallbackUrl: CALLBACK,
    baseUrl: url,
    timeoutMs: 2_000,
    ...extra,
  });
}

describe('twilio: transport request', () => {
  it('should POST a form to the Messages API with Basic auth and our id in the StatusCallback', async () => {
    server = await fakeProvider((_r, res) => json(res, 201, { sid: 'SM0001', status: 'queued' }));
    const result = await transportFor(server.url).send(sms());
    expect(result).toEqual({ outcome: 'accepted', providerMessageId: 'SM0001' });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/2010-04-01/Accounts/AC123/Messages.json');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('AC123:tok').toString('base64')}`);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = Object.fromEntries(new URLSearchParams(req.body));
    expect(form).toEqual({
      To: '+14155550100',
      From: '+15005550006',
      Body: 'Hello Ada',
      StatusCallback: `${CALLBACK}?messageId=msg_1`,
    });
  });

  it("should use the message's own sender, and an API key for auth", async () => {
    server = await fakeProvider((_r, res) => json(res, 201, { sid: 'SM0002' }));
    const transport = twilioTransport({
      accountSid: 'AC123',
      apiKeySid: 'SK999',
      apiKeySecret: 'secret',
      messagingServiceSid: 'MG555',
      statusCallbackUrl: 'https://hooks.example.com/t?tenant=a&x=1#rc=3',
      baseUrl: server.url,
    });
    await transport.send(sms({ from: 'SCHOOL', messageId: 'id with space&more' }));
    const req = server.requests[0]!;
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('SK999:secret').toString('base64')}`);
    const form = new URLSearchParams(req.body);
    expect(form.get('From')).toBe('SCHOOL');
    expect(form.get('MessagingServiceSid')).toBe('MG555');
    expect(form.get('StatusCallback')).toBe(
      'https://hooks.example.com/t?tenant=a&x=1&messageId=id%20with%20space%26more#rc=3',
    );
    expect(new URL(form.get('StatusCallback')!).searchParams.get('messageId')).toBe('id with space&more');
  });

  it('should send through the Messaging Service alone when no sender is set', async () => {
    server = await fakeProvider((_r, res) => json(res, 201, { sid: 'SM0003' }));
    const transport = twilioTransport({
      accountSid: 'AC123',
      authToken: 'tok',
      messagingServiceSid: 'MG555',
      statusCallbackUrl: CALLBACK,
      baseUrl: server.url,
    });
    expect(await transport.send(sms())).toEqual({ outcome: 'accepted', providerMessageId: 'SM0003' });
    const form = new URLSearchParams(server.requests[0]!.body);
    expect(form.has('From')).toBe(false);
    expect(form.get('MessagingServiceSid')).toBe('MG555');
  });

  it('should declare its channel, name and limits', () => {
    const t = transportFor('http://127.0.0.1:9', { limits: { ratePerSecond: 3, concurrency: 2 } });
    expect([t.channel, t.name, t.limits]).toEqual(['sms', 'twilio', { ratePerSecond: 3, concurrency: 2 }]);
  });

  it('should refuse a configuration without credentials or with a bad callback URL', () => {
    const base = { accountSid: 'AC1', authToken: 'tok', statusCallbackUrl: CALLBACK };
    expect(() => twilioTransport({ ...base, authToken: '' })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
    );
    expect(() => twilioTransport({ ...base, statusCallbackUrl: '/relative' })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
    );
    expect(() => twilioTransport({ ...base, statusCallbackUrl: `${CALLBACK}?messageId=x` })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
    );
  });
});

describe('twilio: transport outcome classification', () => {
  it('should report a 429 as a pre-send error with Retry-After seconds honoured', async () => {
    server = await fakeProvider((_r, res) =>
      json(res, 429, { code: 20429, message: 'Too Many Requests' }, { 'retry-after': '7' }),
    );
    expect(await transportFor(server.url).send(sms())).toEqual({
      outcome: 'presend',
      error: expect.stringContaining('429'),
      retryAfterMs: 7000,
    });
  });

  it('should read a Retry-After HTTP date against the clock', async () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    server = await fakeProvider((_r, res) => json(res, 503, {}, { 'retry-after': 'Sun, 01 Mar 2026 12:00:30 GMT' }));
    const result = await transportFor(server.url, { clock: { now: () => now } }).send(sms());
    expect(result).toMatchObject({ outcome: 'presend', retryAfterMs: 30_000 });
  });

  it('should report a 500 as a pre-send error', async () => {
    server = await fakeProvider((_r, res) => json(res, 500, { message: 'oops' }));
    expect(await transportFor(server.url).send(sms())).toEqual({
      outcome: 'presend',
      error: expect.stringContaining('500'),
      retryAfterMs: undefined,
    });
  });

  it('should report a hung response as unknown after timeoutMs, having sent exactly one request', async () => {
    server = await fakeProvider(() => 'hang');
    const result = await transportFor(server.url, { timeoutMs: 150 }).send(sms());
    expect(result).toEqual({ outcome: 'unknown', error: expect.stringContaining('outcome unknown') });
    await server.received(1);
    expect(server.requests).toHaveLength(1);
  });

  it('should report a connection dropped after the request as unknown', async () => {
    server = await fakeProvider(() => 'drop');
    expect(await transportFor(server.url).send(sms())).toMatchObject({ outcome: 'unknown' });
    expect(server.requests).toHaveLength(1);
  });

  it('should report a refused connection as a pre-send error', async () => {
    const result = await transportFor(await closedPortUrl()).send(sms());
    expect(result).toEqual({ outcome: 'presend', error: expect.stringContaining('ECONNREFUSED') });
  });

  it('should report a 201 with malformed JSON as unknown', async () => {
    server = await fakeProvider((_r, res) => json(res, 201, '{"sid": "SM1"'));
    expect(await transportFor(server.url).send(sms())).toMatchObject({ outcome: 'unknown' });
  });

  it('should report a 201 without a sid as unknown', async () => {
    server = await fakeProvider((_r, res) => json(res, 201, { status: 'queued' }));
    expect(await transportFor(server.url).send(sms())).toMatchObject({ outcome: 'unknown' });
  });

  it.each([
    [21211, 'invalid_number'],
    [21408, 'unsupported_country'],
    [21610, 'opted_out'],
    [21612, 'unsupported_country'],
    [21614, 'invalid_number'],
    [21635, 'landline_or_unreachable_carrier'],
    [21602, 'failed_to_create'],
  ])('should report a 400 with code %i as rejected %s, keeping the code', async (code, reason) => {
    server = await fakeProvider((_r, res) => json(res, 400, { code, message: `Twilio says ${code}`, status: 400 }));
    expect(await transportFor(server.url).send(sms())).toEqual({
      outcome: 'rejected',
      reason,
      code: String(code),
      error: expect.stringContaining(`Twilio says ${code}`),
    });
  });

  it('should report a 4xx without a Twilio code as failed_to_create', async () => {
    server = await fakeProvider((_r, res) => {
      res.writeHead(400, { 'content-type': 'text/html' });
      res.end('<h1>Bad Request</h1>');
    });
    expect(await transportFor(server.url).send(sms())).toMatchObject({
      outcome: 'rejected',
      reason: 'failed_to_create',
    });
  });

  it.each([
    [401, { code: 20003, message: 'Authenticate' }],
    [403, { message: 'Forbidden' }],
    [404, { code: 20404, message: 'The requested resource was not found' }],
    [400, { code: 20003, message: 'Authentication Error' }],
  ])('should report HTTP %i %j as a fatal sender_config refusal', async (status, body) => {
    server = await fakeProvider((_r, res) => json(res, status, body));
    expect(await transportFor(server.url).send(sms())).toMatchObject({
      outcome: 'rejected',
      reason: 'sender_config',
      fatal: true,
    });
  });

  it('should refuse without a request when no sender is configured anywhere', async () => {
    server = await fakeProvider((_r, res) => json(res, 201, { sid: 'SM1' }));
    const transport = twilioTransport({
      accountSid: 'AC1',
      authToken: 'tok',
      statusCallbackUrl: CALLBACK,
      baseUrl: server.url,
    });
    expect(await transport.send(sms())).toMatchObject({ outcome: 'rejected', reason: 'sender_config', fatal: true });
    expect(server.requests).toHaveLength(0);
  });

  it('should report a send aborted before it started as a pre-send error, without a request', async () => {
    server = await fakeProvider((_r, res) => json(res, 201, { sid: 'SM1' }));
    const controller = new AbortController();
    controller.abort();
    expect(await transportFor(server.url).send(sms(), { signal: controller.signal })).toMatchObject({
      outcome: 'presend',
    });
    expect(server.requests).toHaveLength(0);
  });

  it('should report a send aborted while in flight as unknown', async () => {
    server = await fakeProvider(() => 'hang');
    const controller = new AbortController();
    const pending = transportFor(server.url).send(sms(), { signal: controller.signal });
    await server.received(1);
    controller.abort();
    expect(await pending).toMatchObject({ outcome: 'unknown' });
  });
});
