/**
 * "Acme SMS", a made-up provider, as a tiny HTTP API on 127.0.0.1 so that the custom-transport
 * example runs without an account. Its contract (what the transport relies on):
 *
 * `POST /v1/messages` with `Authorization: Bearer <key>` and JSON `{ to, text, ref }` answers
 * - `201 { id }`: queued for delivery;
 * - `400 { code: 'invalid_number' }`, `403 { code: 'blocked' }`, `409 { code: 'opted_out' }`,
 *   `422 { code: <other> }`: refused for good;
 * - `401`: the key is wrong (the whole account is refused);
 * - `429` / `503` with `Retry-After`: nothing was queued, try again later;
 * - `500`: an internal error, after which the message may or may not have been queued.
 *
 * Test numbers, like a real provider's magic numbers, drive each answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Recipients that make the Acme API answer something else than 201. */
export const ACME_TEST_NUMBERS = {
  invalid: '+14155550111',
  blocked: '+14155550112',
  optedOut: '+14155550113',
  /** 503 on the first try of each message, then 201. */
  busyOnce: '+14155550120',
  /** 503 every time. */
  busy: '+14155550121',
  /** 429 every time. */
  rateLimited: '+14155550122',
  /** 500 every time. */
  internalError: '+14155550123',
  /** Reads the request and never answers. */
  hang: '+14155550130',
  /** Reads the request and drops the connection. */
  drop: '+14155550131',
} as const;

/** A running Acme SMS API. */
export interface AcmeSmsApi {
  readonly url: string;
  /** Every message it queued (201), in order. */
  readonly queued: readonly { id: string; to: string; text: string; ref: string }[];
  close(): Promise<void>;
}

/**
 * Starts the Acme SMS API on a free loopback port.
 * @example
 * const api = await startAcmeSmsApi({ apiKey: 'acme-test-key' });
 */
export async function startAcmeSmsApi(options: { apiKey: string }): Promise<AcmeSmsApi> {
  const queued: { id: string; to: string; text: string; ref: string }[] = [];
  const tries = new Map<string, number>();
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/messages') return json(res, 404, { code: 'not_found' });
      if (req.headers.authorization !== `Bearer ${options.apiKey}`) return json(res, 401, { code: 'unauthorized' });
      let body: { to?: unknown; text?: unknown; ref?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return json(res, 422, { code: 'malformed' });
      }
      const to = String(body.to ?? '');
      const ref = String(body.ref ?? '');
      const attempt = (tries.get(ref) ?? 0) + 1;
      tries.set(ref, attempt);
      const n = ACME_TEST_NUMBERS;
      if (to === n.hang) return; // the socket stays open until the client gives up or the server closes
      if (to === n.drop) return req.socket.destroy();
      if (to === n.invalid || !/^\+[1-9]\d{6,14}$/.test(to)) return json(res, 400, { code: 'invalid_number' });
      if (to === n.blocked) return json(res, 403, { code: 'blocked' });
      if (to === n.optedOut) return json(res, 409, { code: 'opted_out' });
      if (to === n.busy || (to === n.busyOnce && attempt === 1))
        return json(res, 503, { code: 'busy' }, { 'retry-after': '2' });
      if (to === n.rateLimited) return json(res, 429, { code: 'rate_limited' }, { 'retry-after': '1' });
      if (to === n.internalError) return json(res, 500, { code: 'internal' });
      const id = `acme_${queued.length + 1}`;
      queued.push({ id, to, text: String(body.text ?? ''), ref });
      return json(res, 201, { id });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    queued,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
