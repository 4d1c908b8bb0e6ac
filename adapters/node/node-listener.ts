/**
 * Serves a Web `(Request) => Promise<Response>` handler from node:http / node:https. Our own
 * handlers (twilioWebhookHandler, sendgridWebhookHandler, unsubscribeHandler) are called through
 * their raw form, with no Web `Request` or `Response` built per call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  type RawHandler,
  type RawRequest,
  type RawResponse,
  rawHandlerOf,
  type WebHandler,
} from '../../src/internal/raw-handler.js';

/** Options of {@link toNodeListener}. */
export interface NodeListenerOptions {
  /**
   * The scheme, host and port the handler sees in `request.url`, e.g. `https://hooks.example.com`.
   * By default `http://` (`https://` on a TLS socket) and the request's `Host` header. (Behind a
   * proxy, `twilioWebhookHandler`'s `publicUrl` does the same for the signature check.)
   */
  readonly origin?: string | undefined;
  /** Told when the handler throws; the request is answered 500. @defaultValue a `console.error` line */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** A node:http request listener, as `http.createServer(listener)` and `server.on('request', listener)` take. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

function originOf(req: IncomingMessage): string {
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const host = req.headers.host ?? `${req.socket.localAddress ?? 'localhost'}:${req.socket.localPort ?? ''}`;
  return `${scheme}://${host}`;
}

function urlOf(req: IncomingMessage, origin: string | undefined): string {
  const path = req.url ?? '/';
  // An absolute-form target (a request to a proxy) is its own URL.
  if (!path.startsWith('/') && /^https?:\/\//i.test(path)) return path;
  return `${origin ?? originOf(req)}${path}`;
}

/**
 * Reads the body of `req` whole, or gives `null` as soon as it passes `maxBytes` (by `Content-Length`
 * first, then while reading), never buffering more than `maxBytes`.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array | null> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    return Promise.resolve(null);
  }
  if (req.complete && req.readableEnded) return Promise.resolve(new Uint8Array(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Drop the rest unread: the answer closes the connection.
        req.resume();
        resolve(null);
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('The client closed the connection before the whole body arrived.'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function send(res: ServerResponse, answer: RawResponse, close: boolean): void {
  const headers: Record<string, string> = { ...answer.headers };
  headers['content-length'] = String(answer.body === null ? 0 : Buffer.byteLength(answer.body));
  if (close) headers.connection = 'close';
  res.writeHead(answer.status, headers);
  res.end(answer.body ?? undefined);
}

function serveRaw(
  raw: RawHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: NodeListenerOptions,
): Promise<void> {
  let refused = false;
  const request: RawRequest = {
    method: req.method ?? 'GET',
    url: urlOf(req, options.origin),
    header(name) {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
    async body(maxBytes) {
      const body = await readBody(req, maxBytes);
      if (body === null) refused = true;
      return body;
    },
  };
  return raw(request).then((answer) => send(res, answer, refused));
}

/** Any other Web handler: a Web `Request` in, a Web `Response` out. */
async function serveWeb(handler: WebHandler, req: IncomingMessage, res: ServerResponse, options: NodeListenerOptions) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const request = new Request(urlOf(req, options.origin), {
    method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
  } as RequestInit);
  const response = await handler(request);
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') out[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, out);
  res.end(body);
}

/**
 * A node:http `(req, res)` listener over a Web `(Request) => Promise<Response>` handler (Node only).
 * For `twilioWebhookHandler`, `sendgridWebhookHandler` and `unsubscribeHandler` it calls the handler's
 * raw form, building no Web `Request` or `Response`: the same code answers, so the same status codes,
 * bodies and limits hold (the body is read up to the handler's `maxBodyBytes`, and a refused body
 * closes the connection). Any other handler is served the Web way. A handler that throws gets 500
 * and `onError`.
 * @example
 * import http from 'node:http';
 * import { toNodeListener } from 'campaign-lifecycle/node';
 * http.createServer(toNodeListener(twilioWebhookHandler({ outreach, authToken }))).listen(3000);
 */
export function toNodeListener(
  handler: (request: Request) => Promise<Response>,
  options: NodeListenerOptions = {},
): NodeListener {
  const raw = rawHandlerOf(handler);
  const onError =
    options.onError ?? ((error: unknown) => console.error('[campaign-lifecycle] a web handler threw:', error));
  return (req, res) => {
    const served = raw ? serveRaw(raw, req, res, options) : serveWeb(handler, req, res, options);
    served.catch((error: unknown) => {
      try {
        onError(error);
      } catch {}
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end('Internal Server Error');
      }
    });
  };
}
