/**
 * A `fetch`-compatible function over node:http and node:https with keep-alive agents, for the
 * `fetch` option of `twilioTransport` and `sendgridTransport`: it skips what undici's `fetch` builds
 * per call (a `Request`, an AbortSignal chain, web streams, the WASM parser).
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

/** Options of {@link nodeFetch}. */
export interface NodeFetchOptions {
  /** Sockets open at once per host (each agent, http and https). @defaultValue 256 */
  readonly maxSockets?: number | undefined;
  /** Idle sockets kept open per host. @defaultValue 256 */
  readonly maxFreeSockets?: number | undefined;
  /**
   * No whole answer (status, headers and body) within this many milliseconds: the call rejects with a
   * `TimeoutError` and its socket is closed. The transports also set their own timeout through `signal`.
   * @defaultValue 60000
   */
  readonly timeoutMs?: number | undefined;
  /** A larger answer body (as received, and once decompressed) rejects the call. @defaultValue 10485760 (10 MiB) */
  readonly maxResponseBytes?: number | undefined;
}

type Body = string | Uint8Array | undefined;

/** The request body as bytes or text, and the content type it implies. */
async function bodyOf(body: RequestInit['body']): Promise<{ body: Body; type?: string }> {
  if (body === null || body === undefined) return { body: undefined };
  if (typeof body === 'string') return { body, type: 'text/plain;charset=UTF-8' };
  if (body instanceof URLSearchParams) {
    return { body: body.toString(), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  if (body instanceof ArrayBuffer) return { body: new Uint8Array(body) };
  if (ArrayBuffer.isView(body)) return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
  // Blob, FormData, ReadableStream: the Web way (rare in the transports' calls).
  const response = new Response(body as BodyInit);
  const type = response.headers.get('content-type');
  return { body: new Uint8Array(await response.arrayBuffer()), ...(type ? { type } : {}) };
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function decompress(encoding: string | undefined, bytes: Buffer, max: number): Buffer {
  const options = { maxOutputLength: max };
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(bytes, options);
    case 'deflate':
      return zlib.inflateSync(bytes, options);
    case 'br':
      return zlib.brotliDecompressSync(bytes, options);
    default:
      return bytes;
  }
}

/**
 * A `fetch` over node:http / node:https with one keep-alive agent per scheme, for the transports'
 * `fetch` option (Node only). It reads the whole answer before resolving, within `timeoutMs` and
 * `maxResponseBytes`, and honours `init.signal`. Its failures look like `fetch`'s: a `TypeError`
 * ("fetch failed") whose `cause` is Node's socket error (`ECONNREFUSED`, `ENOTFOUND`… so a transport
 * still knows that the request never left), the signal's reason on abort, a `TimeoutError`
 * `DOMException` on timeout. Differences from `fetch`: redirects are answered as they are (never
 * followed), no cookies, no CORS; gzip, deflate and br bodies are decompressed.
 * @example
 * import { nodeFetch } from 'campaign-lifecycle/node';
 * const sms = twilioTransport({ accountSid, authToken, from, statusCallbackUrl, fetch: nodeFetch() });
 */
export function nodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 256,
    maxFreeSockets: options.maxFreeSockets ?? 256,
  };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;

  const call = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let url: URL;
    let method = init.method;
    let headersInit = init.headers;
    let rawBody = init.body;
    let signal = init.signal ?? undefined;
    if (input instanceof Request) {
      url = new URL(input.url);
      method ??= input.method;
      headersInit ??= input.headers;
      if (rawBody === undefined && input.body !== null) rawBody = new Uint8Array(await input.arrayBuffer());
      signal ??= input.signal;
    } else {
      try {
        url = new URL(input);
      } catch (error) {
        throw new TypeError(`nodeFetch: ${String(input)} is not a URL`, { cause: error });
      }
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`nodeFetch: only http: and https: URLs, got ${url.protocol}`);
    }
    if (signal?.aborted) throw abortReason(signal);
    const headers: Record<string, string> = {};
    if (headersInit !== undefined) {
      if (headersInit instanceof Headers || Array.isArray(headersInit)) {
        new Headers(headersInit).forEach((value, name) => {
          headers[name] = value;
        });
      } else {
        for (const [name, value] of Object.entries(headersInit)) headers[name.toLowerCase()] = String(value);
      }
    }
    const { body, type } = await bodyOf(rawBody);
    if (type !== undefined && headers['content-type'] === undefined) headers['content-type'] = type;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const verb = (method ?? 'GET').toUpperCase();
    const secure = url.protocol === 'https:';

    return new Promise<Response>((resolve, reject) => {
      let settled = false;
      const req = (secure ? https : http).request(url, {
        method: verb,
        headers,
        agent: secure ? httpsAgent : httpAgent,
      });
      const finish = (error: unknown, response?: Response) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (response) resolve(response);
        else {
          req.destroy();
          reject(error);
        }
      };
      const onAbort = () => finish(abortReason(signal as AbortSignal));
      const timer = setTimeout(
        () => finish(new DOMException(`nodeFetch: no whole answer within ${timeoutMs} ms`, 'TimeoutError')),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => finish(new TypeError('fetch failed', { cause: error })));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const declared = res.headers['content-length'];
        const tooLarge = () =>
          finish(new TypeError(`fetch failed: the answer body is over the ${maxBytes}-byte limit of nodeFetch`));
        if (declared !== undefined && Number(declared) > maxBytes) {
          tooLarge();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) tooLarge();
          else chunks.push(chunk);
        });
        res.on('error', (error) => finish(new TypeError('fetch failed', { cause: error })));
        res.on('aborted', () => finish(new TypeError('fetch failed: the connection closed mid-body')));
        res.on('end', () => {
          if (settled) return;
          if (status < 200 || status > 599) {
            finish(new TypeError(`fetch failed: HTTP status ${status}`));
            return;
          }
          const out = new Headers();
          const raw = res.rawHeaders;
          for (let i = 0; i < raw.length; i += 2) out.append(raw[i] as string, raw[i + 1] as string);
          let bytes: Buffer | null = null;
          if (verb !== 'HEAD' && !NULL_BODY_STATUSES.has(status)) {
            try {
              bytes = decompress(res.headers['content-encoding'], Buffer.concat(chunks, size), maxBytes);
            } catch (error) {
              finish(new TypeError('fetch failed: the answer body cannot be decompressed', { cause: error }));
              return;
            }
          }
          finish(
            undefined,
            new Response(
              bytes === null
                ? null
                : (new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) as BufferSource),
              {
                status,
                statusText: res.statusMessage ?? '',
                headers: out,
              },
            ),
          );
        });
      });
      req.end(body);
    });
  };
  return call as typeof fetch;
}
