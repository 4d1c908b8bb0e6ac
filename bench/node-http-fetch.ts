/**
 * A `fetch` over `node:http` with one keep-alive agent, for the `fetch` option of a transport: what a
 * Node-specific path of the transport would cost instead of undici's `fetch` (Request objects, an
 * AbortSignal chain, a web-stream body and the WASM HTTP parser per call). It returns a real
 * `Response` built from the whole body. Plain http only; honours `init.signal`.
 */
import http from 'node:http';

export function nodeHttpFetch(maxSockets = 256): typeof fetch {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return ((input: string | URL | Request, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => {
        headers[k] = v;
      });
      const body = typeof init.body === 'string' ? init.body : init.body ? String(init.body) : undefined;
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = http.request(
        typeof input === 'string' || input instanceof URL ? input : input.url,
        { method: init.method ?? 'GET', headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', reject);
          res.on('end', () => {
            const out = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
            resolve(
              new Response(Buffer.concat(chunks).toString('utf8'), { status: res.statusCode ?? 0, headers: out }),
            );
          });
        },
      );
      const signal = init.signal;
      if (signal) {
        if (signal.aborted) {
          req.destroy(signal.reason as Error);
        } else {
          const onAbort = () => req.destroy(signal.reason as Error);
          signal.addEventListener('abort', onAbort, { once: true });
          req.on('close', () => signal.removeEventListener('abort', onAbort));
        }
      }
      req.on('error', reject);
      req.end(body);
    })) as typeof fetch;
}
