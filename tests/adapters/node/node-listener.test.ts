/**
 * `toNodeListener` (campaign-lifecycle/node) on a real loopback server: our handlers answer through
 * their raw form with no Web `Request` or `Response` built per call; any other Web handler is served
 * the Web way; `origin`, a throwing handler and a refused body. (The handlers' own cases run through it
 * in handlers-through-node.test.ts.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventSink, IngestResult, ProviderEvent } from 'campaign-lifecycle';
import { type NodeListenerOptions, toNodeListener } from 'campaign-lifecycle/node';
import { computeTwilioSignature, twilioWebhookHandler } from 'campaign-lifecycle/twilio';
import { afterEach, describe, expect, it, vi } from 'vitest';

const TOKEN = 'auth-token-for-tests';
let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
  vi.unstubAllGlobals();
});

function sink(): EventSink & { batches: ProviderEvent[][] } {
  const batches: ProviderEvent[][] = [];
  return {
    batches,
    async ingest(events): Promise<IngestResult> {
      batches.push([...events]);
      return { applied: events.length, duplicates: 0, ignored: 0, unmatched: 0 };
    },
  };
}

async function serve(handler: (request: Request) => Promise<Response>, options?: NodeListenerOptions) {
  server = http.createServer(toNodeListener(handler, options));
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const params = { MessageSid: 'SM42', MessageStatus: 'delivered', AccountSid: 'AC1', To: '+14155550100' };

/** Counts `new Request` and `new Response` in this process while `run` runs. */
async function counting(run: () => Promise<void>): Promise<{ requests: number; responses: number }> {
  const counts = { requests: 0, responses: 0 };
  const count = <T extends abstract new (...args: never[]) => unknown>(Real: T, key: keyof typeof counts) =>
    new Proxy(Real, {
      construct(target, args, newTarget) {
        counts[key]++;
        return Reflect.construct(target, args, newTarget);
      },
    });
  vi.stubGlobal('Request', count(Request, 'requests'));
  vi.stubGlobal('Response', count(Response, 'responses'));
  try {
    await run();
  } finally {
    vi.unstubAllGlobals();
  }
  return counts;
}

/** A POST over node:http (not fetch, which builds Web objects of its own). */
function post(url: string, body: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('node: toNodeListener', () => {
  it('should answer our handlers through their raw form, building no Web Request or Response', async () => {
    const outreach = sink();
    const url = `${await serve(twilioWebhookHandler({ outreach, authToken: TOKEN }))}/twilio/status?messageId=msg_1`;
    const signature = await computeTwilioSignature(TOKEN, url, params);
    let answers: Awaited<ReturnType<typeof post>>[] = [];
    const counts = await counting(async () => {
      answers = [
        await post(url, new URLSearchParams(params).toString(), {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signature,
        }),
        await post(url, new URLSearchParams(params).toString(), {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': 'wrong',
        }),
      ];
    });
    expect(answers.map((a) => a.status)).toEqual([200, 401]);
    expect(outreach.batches).toHaveLength(1);
    expect(counts).toEqual({ requests: 0, responses: 0 });
  });

  it('should serve any other Web handler the Web way: method, URL, headers, body, status and each Set-Cookie', async () => {
    const url = await serve(async (request) => {
      const headers = new Headers({ 'x-echo': request.headers.get('x-in') ?? '' });
      headers.append('set-cookie', 'a=1');
      headers.append('set-cookie', 'b=2');
      return new Response(`${request.method} ${new URL(request.url).pathname} ${await request.text()}`, {
        status: 202,
        headers,
      });
    });
    const res = await post(`${url}/x`, 'hello', { 'x-in': 'yes' });
    expect(res).toMatchObject({ status: 202, body: 'POST /x hello' });
    expect(res.headers['x-echo']).toBe('yes');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('should give the handler the configured origin, so a signature made for the public URL holds', async () => {
    const outreach = sink();
    const publicUrl = 'https://hooks.example.com/twilio/status?messageId=msg_1';
    const url = await serve(twilioWebhookHandler({ outreach, authToken: TOKEN }), {
      origin: 'https://hooks.example.com',
    });
    const res = await post(`${url}/twilio/status?messageId=msg_1`, new URLSearchParams(params).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': await computeTwilioSignature(TOKEN, publicUrl, params),
    });
    expect(res.status).toBe(200);
    expect(outreach.batches).toHaveLength(1);
  });

  it('should answer 500 and tell onError when the handler throws', async () => {
    const onError = vi.fn();
    const url = await serve(
      async () => {
        throw new Error('boom');
      },
      { onError },
    );
    const res = await post(url, '', {});
    expect(res.status).toBe(500);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
  });

  it('should close the connection after refusing an oversize body with 413', async () => {
    const outreach = sink();
    const url = await serve(
      twilioWebhookHandler({ outreach, authToken: TOKEN, maxBodyBytes: 100, onReject: () => {} }),
    );
    const res = await post(url, 'x'.repeat(1000), {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': 'any',
    });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(outreach.batches).toEqual([]);
  });
});
