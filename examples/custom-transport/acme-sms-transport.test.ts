import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sampleSms, transportConformanceSuite } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';
import { ACME_TEST_NUMBERS as N, startAcmeSmsApi } from './acme-sms-api.js';
import { acmeSmsTransport, runAcmeExample } from './acme-sms-transport.js';

const KEY = 'acme-test-key';

transportConformanceSuite(
  { describe, it },
  {
    name: 'Acme SMS',
    async create() {
      const api = await startAcmeSmsApi({ apiKey: KEY });
      // A short timeout only so that the "hang" scenario ends soon (2 s: a loaded machine still answers a
      // loopback request by then); it classifies, nothing is timed.
      const transport = acmeSmsTransport({ apiKey: KEY, baseUrl: api.url, timeoutMs: 2_000 });
      return {
        transport,
        dispose: () => api.close(),
        scenarios: [
          { message: sampleSms({ to: '+14155550101' }), expect: 'accepted' },
          { message: sampleSms({ to: N.invalid }), expect: 'rejected', reason: 'invalid_number' },
          { message: sampleSms({ to: N.blocked }), expect: 'rejected', reason: 'blocked_number' },
          { message: sampleSms({ to: N.optedOut }), expect: 'rejected', reason: 'opted_out' },
          { message: sampleSms({ to: N.busy }), expect: 'presend' },
          { message: sampleSms({ to: N.rateLimited }), expect: 'presend' },
          { message: sampleSms({ to: N.internalError }), expect: 'unknown' },
          { message: sampleSms({ to: N.hang }), expect: 'unknown' },
          { message: sampleSms({ to: N.drop }), expect: 'unknown' },
        ],
      };
    },
  },
);

describe('examples: Acme SMS transport', () => {
  it("should carry Retry-After on a 429 so the engine's backoff waits at least that long", async () => {
    const api = await startAcmeSmsApi({ apiKey: KEY });
    try {
      const r = await acmeSmsTransport({ apiKey: KEY, baseUrl: api.url }).send(sampleSms({ to: N.rateLimited }));
      expect(r).toMatchObject({ outcome: 'presend', retryAfterMs: 1000 });
    } finally {
      await api.close();
    }
  });

  it('should refuse the whole account (fatal) when the key is wrong', async () => {
    const api = await startAcmeSmsApi({ apiKey: KEY });
    try {
      const r = await acmeSmsTransport({ apiKey: 'wrong', baseUrl: api.url }).send(sampleSms());
      expect(r).toMatchObject({ outcome: 'rejected', reason: 'sender_config', fatal: true });
      expect(api.queued).toHaveLength(0);
    } finally {
      await api.close();
    }
  });

  it('should classify a refused connection as pre-send: the request provably never left', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const r = await acmeSmsTransport({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}` }).send(sampleSms());
    expect(r.outcome).toBe('presend');
  });

  it('should run a campaign through the engine: accepted, retried after a 503, and refused messages', async () => {
    const lines: string[] = [];
    const statuses = await runAcmeExample((line) => lines.push(line));
    expect(statuses).toEqual({
      '+14155550101': 'sending',
      [N.busyOnce]: 'sending',
      [N.invalid]: 'failed (invalid_number)',
      [N.optedOut]: 'opted_out (opted_out)',
    });
    expect(lines.find((l) => l.startsWith(N.busyOnce))).toContain('after 2 attempt(s)');
    expect(lines.at(-1)).toContain('Acme queued 2 message(s)');
  });
});
