/**
 * Benchmark: batched email (issue 17). 100,000 emails with the same content (each with its own signed
 * unsubscribe link, as the engine renders them) go through `sendgridTransport` to a loopback v3 mail
 * send on 127.0.0.1 that answers 202 after 20 ms, in dispatch rounds as the engine makes them (a round
 * takes as many messages as `limits.concurrency` allows, and the next starts when its sends have
 * returned):
 * - unbatched (the baseline): `send` per message, `concurrency` requests in flight (100, a generous
 *   setting for SendGrid; the engine's default is 16, which would take over two minutes here);
 * - batched: `sendBatch` per round, with rounds of 100 messages (the same `concurrency`) and of 1,000
 *   (SendGrid's most personalizations per request).
 * Figures: requests the fake received, emails it received (personalizations), wall time, emails per
 * second. Every mode must deliver every email exactly once, else the run fails.
 * Run: npx tsx bench/sendgrid-batching.bench.ts [emails=100000] [latencyMs=20]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutgoingEmail, SendResult } from 'campaign-lifecycle';
import { sendgridTransport } from 'campaign-lifecycle/sendgrid';
import { renderEmail } from 'campaign-lifecycle/templates';
import { fmt, printTable, type Row, writeResults } from './bench-report.js';

const EMAILS = Number(process.argv[2] ?? 100_000);
const LATENCY_MS = Number(process.argv[3] ?? 20);

/** A loopback mail send: answers 202 after the latency, counting requests and personalizations. */
async function fakeMailSend() {
  const seen = { requests: 0, emails: 0, ids: new Set<string>() };
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        personalizations: { custom_args: { message_id: string } }[];
      };
      seen.requests++;
      for (const p of body.personalizations) {
        seen.emails++;
        seen.ids.add(p.custom_args.message_id);
      }
      setTimeout(() => {
        res.writeHead(202, { 'x-message-id': `bench${++next}` });
        res.end();
      }, LATENCY_MS);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The campaign's emails as the engine renders them: one content, a signed link each. */
function emails(n: number): OutgoingEmail[] {
  return Array.from({ length: n }, (_, i) => {
    const unsubscribeUrl = `https://school.example/unsubscribe?token=${i.toString(36).padStart(8, '0')}.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg`;
    const r = renderEmail(
      {
        subject: 'Snow day: school is closed',
        html: '<html><body><h1>Snow day</h1><p>School is closed today. Stay warm.</p></body></html>',
        text: 'School is closed today. Stay warm.',
      },
      {},
      { unsubscribeUrl },
    );
    return {
      channel: 'email',
      messageId: `msg_${i}`,
      campaignId: 'cmp_bench',
      to: `parent${i}@example.com`,
      subject: r.subject,
      html: r.html,
      text: r.text,
      headers: r.headers,
      unsubscribeUrl,
      attempt: 1,
    };
  });
}

interface Mode {
  name: string;
  /** Messages per dispatch round (the engine's `limits.concurrency`). */
  round: number;
  batched: boolean;
}

async function run(mode: Mode, messages: readonly OutgoingEmail[]): Promise<Row> {
  const api = await fakeMailSend();
  const transport = sendgridTransport({
    apiKey: 'SG.bench',
    from: { email: 'news@school.example', name: 'School' },
    baseUrl: api.url,
    timeoutMs: 30_000,
  });
  let accepted = 0;
  const start = performance.now();
  for (let at = 0; at < messages.length; at += mode.round) {
    const round = messages.slice(at, at + mode.round);
    const results: readonly SendResult[] = mode.batched
      ? ((await transport.sendBatch?.(round)) ?? [])
      : await Promise.all(round.map((m) => transport.send(m)));
    for (const r of results) if (r.outcome === 'accepted') accepted++;
  }
  const seconds = (performance.now() - start) / 1000;
  await api.close();
  if (accepted !== messages.length || api.seen.emails !== messages.length || api.seen.ids.size !== messages.length) {
    throw new Error(
      `${mode.name}: ${accepted} accepted, ${api.seen.emails} received, ${api.seen.ids.size} distinct of ${messages.length}`,
    );
  }
  return {
    mode: mode.name,
    'messages per round': mode.round,
    requests: api.seen.requests,
    'emails received': api.seen.emails,
    'wall s': Number(seconds.toFixed(2)),
    'emails/s': Math.round(messages.length / seconds),
  };
}

const messages = emails(EMAILS);
console.log(
  `sendgrid-batching benchmark: ${fmt(EMAILS)} emails, loopback mail send answering after ${LATENCY_MS} ms, Node ${process.version}`,
);
const modes: Mode[] = [
  { name: 'unbatched: send per message (baseline)', round: 100, batched: false },
  { name: 'batched: sendBatch per round', round: 100, batched: true },
  { name: 'batched: sendBatch per round', round: 1000, batched: true },
];
const rows: Row[] = [];
for (const mode of modes) rows.push(await run(mode, messages));
const base = rows[0] as Row;
for (const r of rows) {
  r['requests vs baseline'] = `${((Number(r.requests) / Number(base.requests)) * 100).toFixed(2)} %`;
  r['speed-up'] = `${(Number(base['wall s']) / Number(r['wall s'])).toFixed(1)}×`;
}
printTable('Same emails, same fake, same run', rows);
await writeResults('sendgrid-batching', { emails: EMAILS, latencyMs: LATENCY_MS, rows });
