/**
 * `nodeFetch` (campaign-lifecycle/node) against real loopback servers: what the transports read of an
 * answer, keep-alive, the signal, its timeout and body limit, and failures shaped like `fetch`'s so
 * that a transport still tells "never sent" from "outcome unknown".
 */
import { gzipSync } from 'node:zlib';
import type { OutgoingSms } from 'campaign-lifecycle';
import { nodeFetch } from 'campaign-lifecycle/node';
import { twilioTransport } from 'campaign-lifecycle/twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPortUrl, fakeProvider, json, type Loopback } from '../../support/loopback-http.js';

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const sms: OutgoingSms = {
  channel: 'sms',
  messageId: 'msg_1',
  campaignId: 'cmp_1',
  to: '+14155550100',
  body: 'Hello Ada',
  encoding: 'GSM-7',
  segments: 1,
  attempt: 1,
};

describe('node: nodeFetch', () => {
  it('should send method, headers and a form body, and give status, headers (each Set-Cookie) and body', async () => {
    server = await fakeProvider((_r, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      json(res, 201, { sid: 'SM1' }, { 'x-answer': 'yes' });
    });
    const res = await nodeFetch()(`${server.url}/path?q=1`, {
      method: 'POST',
      headers: { Authorization: 'Basic xyz' },
      body: new URLSearchParams({ To: '+1 415', Body: 'é' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-answer')).toBe('yes');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ sid: 'SM1' });
    const req = server.requests[0]!;
    expect(req).toMatchObject({ method: 'POST', path: '/path?q=1', body: 'To=%2B1+415&Body=%C3%A9' });
    expect(req.headers).toMatchObject({
      authorization: 'Basic xyz',
      'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      'content-length': String(Buffer.byteLength('To=%2B1+415&Body=%C3%A9')),
    });
  });

  it('should keep the connection alive between calls', async () => {
    const ports = new Set<number>();
    server = await fakeProvider((_r, res) => {
      ports.add(res.socket?.remotePort ?? -1);
      json(res, 200, {});
    });
    const f = nodeFetch();
    for (let i = 0; i < 3; i++) await (await f(server.url)).text();
    expect(ports.size).toBe(1);
  });

  it('should answer no body for HEAD and 204, and decompress a gzip body', async () => {
    server = await fakeProvider((r, res) => {
      if (r.path === '/gz') {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync('hello'));
      } else res.writeHead(r.method === 'HEAD' ? 200 : 204).end();
    });
    const f = nodeFetch();
    expect((await f(server.url, { method: 'HEAD' })).body).toBeNull();
    expect((await f(server.url)).status).toBe(204);
    expect(await (await f(`${server.url}/gz`)).text()).toBe('hello');
  });

  it('should reject with the signal reason on abort, before sending when already aborted', async () => {
    server = await fakeProvider(() => 'hang');
    const f = nodeFetch();
    const controller = new AbortController();
    const pending = f(server.url, { signal: controller.signal });
    await server.received(1);
    controller.abort(new Error('stop now'));
    await expect(pending).rejects.toThrow('stop now');
    await expect(f(server.url, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toHaveLength(1);
  });

  it('should reject with a TimeoutError when no whole answer comes within timeoutMs', async () => {
    server = await fakeProvider(() => 'hang');
    await expect(nodeFetch({ timeoutMs: 100 })(server.url)).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('should refuse an answer body over maxResponseBytes, declared or streamed', async () => {
    server = await fakeProvider((r, res) => {
      if (r.path === '/declared') res.writeHead(200, { 'content-length': '101' }).end('x'.repeat(101));
      else {
        res.writeHead(200);
        res.write('x'.repeat(60));
        res.end('x'.repeat(60));
      }
    });
    const f = nodeFetch({ maxResponseBytes: 100 });
    await expect(f(`${server.url}/declared`)).rejects.toThrow(/100-byte limit/);
    await expect(f(`${server.url}/streamed`)).rejects.toThrow(/100-byte limit/);
  });

  it('should fail like fetch on a refused connection: a TypeError whose cause has the code', async () => {
    const error = await nodeFetch()(await closedPortUrl()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error & { cause: { code: string } }).cause.code).toBe('ECONNREFUSED');
  });

  it('should let twilioTransport send through it, and know a refused connection was never sent', async () => {
    server = await fakeProvider((_r, res) => json(res, 201, { sid: 'SM0001', status: 'queued' }));
    const options = {
      accountSid: 'AC123',
      authToken: 'tok',
      from: '+15005550006',
      statusCallbackUrl: 'https://hooks.example.com/twilio/status',
      fetch: nodeFetch(),
    };
    expect(await twilioTransport({ ...options, baseUrl: server.url }).send(sms)).toEqual({
      outcome: 'accepted',
      providerMessageId: 'SM0001',
    });
    const refused = await twilioTransport({ ...options, baseUrl: await closedPortUrl() }).send(sms);
    expect(refused).toMatchObject({ outcome: 'presend', error: expect.stringContaining('ECONNREFUSED') });
  });
});
