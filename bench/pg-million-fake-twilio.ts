/**
 * The fake Twilio of `postgres-million.bench.ts`, run as its own process (forked by the benchmark):
 * a Messages API on 127.0.0.1 that answers each create with 201 and a `sid` as Twilio does, then
 * posts the message's status callbacks (`sent`, then `delivered` once `sent` was answered), each signed with
 * `X-Twilio-Signature` over the exact `StatusCallback` URL the transport gave, to that URL over
 * loopback HTTP. Callbacks go out through one keep-alive agent per callback host with at most
 * `CALLBACK_SOCKETS` requests in flight each; a callback answered other than 200 is counted and
 * offered again after 100 ms (as Twilio retries), so the benchmark still ends and reports it.
 *
 * Environment: AUTH_TOKEN, ACCOUNT_SID, CALLBACK_SOCKETS (default 32).
 * IPC out: `{ type: 'ready', base }`, then on `{ type: 'stop' }`: `{ type: 'stopped', … }`.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rssSampler } from './bench-report.js';

const AUTH_TOKEN = process.env.AUTH_TOKEN ?? '';
const ACCOUNT_SID = process.env.ACCOUNT_SID ?? '';
const SOCKETS = Number(process.env.CALLBACK_SOCKETS ?? 32);
if (!AUTH_TOKEN || !ACCOUNT_SID) throw new Error('fake twilio: AUTH_TOKEN and ACCOUNT_SID are required');

/** What the fake Twilio tells its parent when it stops. */
export interface FakeTwilioReport {
  type: 'stopped';
  creates: number;
  callbacksPosted: number;
  callbacksOk: number;
  callbacksRefused: number;
  callbackErrors: number;
  firstRefusal?: string;
  peakRss: number;
  cpuMs: number;
}

/** Twilio's signature: HMAC-SHA1 (auth token) of the URL followed by every parameter's name and value, sorted by name. */
function sign(url: string, params: Record<string, string>): string {
  let data = url;
  for (const k of Object.keys(params).sort()) data += k + params[k];
  return createHmac('sha1', AUTH_TOKEN).update(data, 'utf8').digest('base64');
}

interface Callback {
  url: URL;
  href: string;
  body: string;
  signature: string;
  /** Queued once this callback is answered 200 (the message's next status). */
  then?: () => void;
}

const stats = { creates: 0, callbacksPosted: 0, callbacksOk: 0, callbacksRefused: 0, callbackErrors: 0 };
let firstRefusal: string | undefined;

/** One queue and agent per callback host (one per worker process). */
class Host {
  readonly queue: Callback[] = [];
  head = 0;
  inFlight = 0;
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS });
  push(c: Callback) {
    this.queue.push(c);
    this.pump();
  }
  pump() {
    while (this.inFlight < SOCKETS && this.head < this.queue.length) {
      const c = this.queue[this.head++] as Callback;
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.inFlight++;
      this.post(c);
    }
  }
  post(c: Callback) {
    const done = (ok: boolean, why?: string) => {
      this.inFlight--;
      if (ok) {
        stats.callbacksOk++;
        c.then?.();
      } else {
        firstRefusal ??= why;
        setTimeout(() => this.push(c), 100);
      }
      this.pump();
    };
    stats.callbacksPosted++;
    const req = http.request(
      c.url,
      {
        method: 'POST',
        agent: this.agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': c.signature,
          'content-length': Buffer.byteLength(c.body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          if (res.statusCode === 200) done(true);
          else {
            stats.callbacksRefused++;
            done(false, `HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`);
          }
        });
      },
    );
    req.on('error', (e) => {
      stats.callbackErrors++;
      done(false, String(e));
    });
    req.end(c.body);
  }
}
const hosts = new Map<string, Host>();

function callback(
  statusCallback: string,
  sid: string,
  to: string,
  from: string,
  status: 'sent' | 'delivered',
  then?: () => void,
) {
  const params: Record<string, string> = {
    AccountSid: ACCOUNT_SID,
    ApiVersion: '2010-04-01',
    From: from,
    MessageSid: sid,
    MessageStatus: status,
    SmsSid: sid,
    SmsStatus: status,
    To: to,
  };
  const url = new URL(statusCallback);
  let host = hosts.get(url.host);
  if (!host) {
    host = new Host();
    hosts.set(url.host, host);
  }
  host.push({
    url,
    href: statusCallback,
    body: new URLSearchParams(params).toString(),
    signature: sign(statusCallback, params),
    ...(then ? { then } : {}),
  });
}

let sidCounter = 0;
const messagesPath = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== messagesPath) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":20404,"message":"not found"}');
      return;
    }
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const to = form.get('To') ?? '';
    const from = form.get('From') ?? '';
    const statusCallback = form.get('StatusCallback');
    if (!to || !form.get('Body') || !statusCallback) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":21604,"message":"missing field"}');
      return;
    }
    stats.creates++;
    const sid = `SM${(++sidCounter).toString(16).padStart(32, '0')}`;
    const now = new Date().toUTCString();
    res.writeHead(201, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        sid,
        account_sid: ACCOUNT_SID,
        to,
        from,
        body: form.get('Body'),
        status: 'queued',
        date_created: now,
        date_updated: now,
        num_segments: '1',
        direction: 'outbound-api',
        api_version: '2010-04-01',
        uri: `${messagesPath.slice(0, -5)}/${sid}.json`,
      }),
    );
    // As Twilio does: the carrier's answers come later, each as its own signed callback.
    // `delivered` is posted once `sent` was answered, as the carrier's receipt follows the send.
    setImmediate(() => {
      callback(statusCallback, sid, to, from, 'sent', () => callback(statusCallback, sid, to, from, 'delivered'));
    });
  });
});
server.keepAliveTimeout = 120_000;
const rss = rssSampler(100);
const cpu = process.cpuUsage();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
process.send?.({ type: 'ready', base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
process.on('message', (m: { type?: string }) => {
  if (m?.type !== 'stop') return;
  const used = process.cpuUsage(cpu);
  const report: FakeTwilioReport = {
    type: 'stopped',
    ...stats,
    ...(firstRefusal ? { firstRefusal } : {}),
    peakRss: rss.stop(),
    cpuMs: (used.user + used.system) / 1000,
  };
  for (const h of hosts.values()) h.agent.destroy();
  server.closeAllConnections();
  server.close();
  process.send?.(report, () => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
