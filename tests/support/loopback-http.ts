/**
 * Real HTTP servers on 127.0.0.1 for adapter tests: a scripted provider API that records every
 * request, a web `(Request) => Response` handler served over node:http, and a closed port.
 *
 * A web handler is served one of two ways: by default the node request is streamed into a Web
 * `Request` here (what any Node server in front of a fetch-style handler does); after
 * {@link useNodeListener}, by `toNodeListener` of `campaign-lifecycle/node`, which calls our handlers'
 * raw form. tests/adapters/node/handlers-through-node.test.ts runs the handler test files again that way.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { toNodeListener } from 'campaign-lifecycle/node';
import { afterAll } from 'vitest';

let nodeListener = false;

/** From now on (in this test file), web handlers are served by `toNodeListener`. */
export function useNodeListener(): void {
  nodeListener = true;
}

/** How web handlers are served in this test file. */
export function servedBy(): 'web' | 'node' {
  return nodeListener ? 'node' : 'web';
}

/** One request the fake provider received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the fake provider does with a request: answer it, or return `'hang'` (never answer) or `'drop'` (destroy the socket). */
export type Script = (request: RecordedRequest, res: ServerResponse) => unknown;

/** A running loopback server. */
export interface Loopback {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Resolves when the server has received `n` requests in all. */
  received(n: number): Promise<void>;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function shut(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Starts a fake provider API that answers each request with `script`. */
export async function fakeProvider(script: Script): Promise<Loopback> {
  const requests: RecordedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      for (const w of waiters.filter((x) => requests.length >= x.n)) w.resolve();
      const what = script(recorded, res);
      if (what === 'drop') req.socket.destroy();
    });
  });
  const url = await listen(server);
  return {
    url,
    requests,
    received: (n) =>
      requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: () => shut(server),
  };
}

/** Answers with a JSON body. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A port on 127.0.0.1 where nothing listens (a server was opened there and closed). */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  const url = await listen(server);
  await shut(server);
  return url;
}

/** Serves a web handler over real HTTP: the node request is streamed into a web `Request`. */
export async function serveWebHandler(
  handler: (request: Request) => Promise<Response>,
): Promise<{ url: string; close: () => Promise<void> }> {
  if (nodeListener) {
    const server = http.createServer(toNodeListener(handler));
    const url = await listen(server);
    return { url, close: () => shut(server) };
  }
  const server = http.createServer(async (req, res) => {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
    } as RequestInit);
    const response = await handler(request);
    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      out[name] = value;
    });
    res.writeHead(response.status, out);
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  const url = await listen(server);
  return { url, close: () => shut(server) };
}

const opened: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((close) => close()));
});

/**
 * The handler itself, or, after {@link useNodeListener}, the handler as reached over loopback HTTP
 * through `toNodeListener`: each `Request` is sent to the server (its path and query on the loopback
 * origin, its method, headers and body) and the answer comes back as a `Response`.
 */
export function asServed(handler: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
  if (!nodeListener) return handler;
  let server: Promise<{ url: string; close: () => Promise<void> }> | undefined;
  return async (request) => {
    if (server === undefined) {
      server = serveWebHandler(handler);
      opened.push(async () => (await server)?.close());
    }
    const { url } = await server;
    const target = new URL(request.url);
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    return fetch(`${url}${target.pathname}${target.search}`, {
      method: request.method,
      headers: request.headers,
      redirect: 'manual',
      ...(hasBody ? { body: await request.arrayBuffer() } : {}),
    });
  };
}
