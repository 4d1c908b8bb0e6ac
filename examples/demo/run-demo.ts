/**
 * The main job on the embedded defaults: an SMS and an email campaign from a bundled CSV of 3,000
 * synthetic contacts, run at once on memory storage, a fake clock and simulated carriers with
 * realistic mixes, with a live progress bar per campaign and a final report. Days of campaign time
 * run in seconds.
 *
 * Run: npm run demo
 */
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CAMPAIGN_STATUS_LABELS,
  type Campaign,
  createOutreach,
  FAILURE_REASONS,
  MESSAGE_STATUS_LABELS,
  type MessageStatus,
  messageStatusesFor,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, simulatedEmailCarrier, simulatedSmsCarrier } from 'campaign-lifecycle/testing';

/** One campaign's lines of the final report. */
export interface DemoCampaignReport {
  name: string;
  channel: 'sms' | 'email';
  status: string;
  total: number;
  byStatus: Partial<Record<MessageStatus, number>>;
  byReason: Record<string, number>;
  imported: number;
  duplicates: number;
  rejected: { line: number; reason: string }[];
}

/** What the demo returns (and prints). */
export interface DemoReport {
  simulatedHours: number;
  campaigns: DemoCampaignReport[];
  sendsPerMessageMax: number;
}

const CSV = fileURLToPath(new URL('./contacts.csv', import.meta.url));

function bar(c: Campaign, width = 28): string {
  const total = c.messageCount || 1;
  const filled = Math.round((c.done / total) * width);
  const pct = String(Math.floor((c.done / total) * 100)).padStart(3);
  return `${c.channel.toUpperCase().padEnd(5)} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${pct}% ${String(c.done).padStart(5)}/${total}  ${CAMPAIGN_STATUS_LABELS[c.status]}`;
}

/**
 * Runs the demo and returns its report. `write` receives the progress and report text.
 * @example await runDemo({ write: (s) => process.stdout.write(s) })
 */
export async function runDemo(options: { write?: (text: string) => void; tty?: boolean } = {}): Promise<DemoReport> {
  const write = options.write ?? (() => {});
  const tty = options.tty ?? false;
  const clock = createFakeClock({ start: '2026-01-05T07:00:00Z' });
  const started = clock.now();
  const storage = memoryStorage();
  const sms = simulatedSmsCarrier({
    clock,
    seed: 7,
    limits: { ratePerSecond: 30, concurrency: 30 },
    mix: [
      [80, { kind: 'delivered' }],
      [7, { kind: 'no_receipt' }], // carriers that never report: Assumed Delivered after 10 min
      [3, { kind: 'silent' }], // no callback at all: Failed (Timed Out) after 10 min
      [2, { kind: 'late', after: '25m', then: { kind: 'delivered' } }], // timed out, then corrected to Delivered
      [3, { kind: 'undelivered', code: '30003' }], // Unreachable Number
      [1, { kind: 'undelivered', code: '30007' }], // Blocked by carrier
      [1, { kind: 'undelivered', code: '30005' }], // Unknown number
      [2, { kind: 'stop_reply' }], // STOP: Opted Out
      [1, { kind: 'presend_error', times: 2, then: { kind: 'delivered' } }], // two 503s, then delivered
    ],
  });
  const email = simulatedEmailCarrier({
    clock,
    seed: 8,
    limits: { ratePerSecond: 100, concurrency: 50 },
    mix: [
      [78, { kind: 'delivered' }],
      [3, { kind: 'engaged' }],
      [2, { kind: 'engaged', click: true }],
      [8, { kind: 'deferred', times: 3, every: '2h' }], // Retrying, then Delivered
      [3, { kind: 'deferred', times: 40, every: '2h', then: 'expire' }], // Failed (Expired) after 72 h
      [3, { kind: 'bounce', type: 'bounce' }],
      [1, { kind: 'bounce', type: 'blocked' }],
      [2, { kind: 'unsubscribe' }],
    ],
  });
  const outreach = createOutreach({
    storage,
    clock,
    transports: { sms, email },
    defaultCountry: 'US',
    unsubscribe: { baseUrl: 'https://lincoln-high.example/unsubscribe', secret: 'demo-secret-change-me-0123456789' },
    onError: (e) => write(`error: ${String(e)}\n`),
  });

  // Two families opted out of texts before this campaign.
  await outreach.optOut({ channel: 'sms', address: '(303) 612-6820', scope: 'lincoln-high', source: 'STOP' });

  const setups = [
    {
      channel: 'sms' as const,
      name: 'Snow day closure (SMS)',
      content: {
        body: 'Hi {{first_name}}, Lincoln High is closed today because of snow. Stay safe! Reply STOP to opt out.',
      },
    },
    {
      channel: 'email' as const,
      name: 'Snow day closure (email)',
      content: {
        subject: 'Lincoln High is closed today',
        html: '<p>Dear {{first_name}} {{last_name}},</p><p>Lincoln High is closed today because of snow. Grade {{grade}} classes resume tomorrow.</p>',
        from: { email: 'office@lincoln-high.example', name: 'Lincoln High Office' },
      },
    },
  ];
  const reports: DemoCampaignReport[] = [];
  const ids: string[] = [];
  for (const s of setups) {
    const c = await outreach.createCampaign({
      name: s.name,
      channel: s.channel,
      scope: 'lincoln-high',
      content: s.content,
    });
    const imported = await outreach.importContacts(c.id, createReadStream(CSV));
    await outreach.save(c.id);
    ids.push(c.id);
    reports.push({
      name: s.name,
      channel: s.channel,
      status: '',
      total: 0,
      byStatus: {},
      byReason: {},
      imported: imported.imported,
      duplicates: imported.duplicates,
      rejected: imported.rejected.map((r) => ({ line: r.line, reason: r.reason })),
    });
    write(
      `${s.name}: imported ${imported.imported} contacts, ${imported.duplicates} duplicate(s) dropped, ${imported.rejectedCount} row(s) rejected${imported.rejected
        .filter((r) => r.code !== 'duplicate')
        .map((r) => `\n  line ${r.line}: ${r.reason}`)
        .join('')}\n`,
    );
  }
  write('\n');
  for (const id of ids) await outreach.run(id);
  outreach.worker.start();

  const draw = async (first: boolean) => {
    const lines = await Promise.all(ids.map(async (id) => bar(await outreach.getCampaign(id))));
    const hours = ((clock.now() - started) / 3_600_000).toFixed(1).padStart(5);
    const text = lines.map((l) => `${l}  (t+${hours}h)`).join('\n');
    if (tty) write(`${first ? '' : `\x1b[${lines.length}A`}\x1b[2K${text.replace(/\n/g, '\n\x1b[2K')}\n`);
    else write(`${text}\n`);
  };

  await draw(true);
  const steps: [every: number, until: number][] = [
    [15_000, 15 * 60_000], // every 15 s for the first 15 minutes
    [5 * 60_000, 2 * 3_600_000], // every 5 min until 2 h
    [4 * 3_600_000, 80 * 3_600_000], // every 4 h until 80 h (past the 72 h deferral window)
  ];
  // On a terminal the bars redraw in place; in a log, a line is printed when a status or a quarter changes.
  let lastDrawn = '';
  for (const [every, until] of steps) {
    while (clock.now() - started < until) {
      await clock.advance(every);
      const all = await Promise.all(ids.map((id) => outreach.getCampaign(id)));
      const states = all.map((c) => `${c.status}:${Math.floor((c.done / (c.messageCount || 1)) * 4)}`).join();
      if (tty || states !== lastDrawn) await draw(false);
      lastDrawn = states;
      if (all.every((c) => c.status === 'complete' || c.status === 'complete_with_errors')) break;
    }
  }
  await outreach.worker.stop();

  write('\nReport\n');
  for (let i = 0; i < ids.length; i++) {
    const c = await outreach.getCampaign(ids[i] as string);
    const r = reports[i] as DemoCampaignReport;
    r.status = c.status;
    r.total = c.messageCount;
    for (const s of messageStatusesFor(c.channel)) if (c.counts[s]) r.byStatus[s] = c.counts[s];
    for (const m of await outreach.listMessages(c.id, { limit: 1_000_000 })) {
      if (m.context.reason) {
        const label = `${FAILURE_REASONS[m.context.reason].label} (${m.context.reason})`;
        r.byReason[label] = (r.byReason[label] ?? 0) + 1;
      }
    }
    write(`\n${r.name}: ${CAMPAIGN_STATUS_LABELS[c.status]} — ${c.messageCount} messages\n`);
    for (const [s, n] of Object.entries(r.byStatus))
      write(`  ${MESSAGE_STATUS_LABELS[s as MessageStatus].padEnd(20)} ${String(n).padStart(5)}\n`);
    write('  failure / cancel reasons:\n');
    for (const [label, n] of Object.entries(r.byReason).sort((a, b) => b[1] - a[1]))
      write(`    ${label.padEnd(40)} ${String(n).padStart(5)}\n`);
    if (c.channel === 'email') write(`  opens ${c.opens}, clicks ${c.clicks}\n`);
  }
  const sendsPerMessageMax = Math.max(...sms.sends.values(), ...email.sends.values());
  const simulatedHours = (clock.now() - started) / 3_600_000;
  write(
    `\nSimulated ${simulatedHours.toFixed(1)} hours; no message was sent twice (max sends per message: ${sendsPerMessageMax}).\n`,
  );
  return { simulatedHours, campaigns: reports, sendsPerMessageMax };
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const t0 = performance.now();
  runDemo({ write: (s) => process.stdout.write(s), tty: process.stdout.isTTY === true })
    .then(() => process.stdout.write(`Finished in ${((performance.now() - t0) / 1000).toFixed(1)} s of wall time.\n`))
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    });
}
