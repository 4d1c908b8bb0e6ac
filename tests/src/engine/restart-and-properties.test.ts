import {
  type CampaignStatus,
  createOutreach,
  emptyCounts,
  isOutreachError,
  type MessageCounts,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import {
  createFakeClock,
  type EmailOutcome,
  type SmsOutcome,
  simulatedEmailCarrier,
  simulatedSmsCarrier,
} from 'campaign-lifecycle/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveRunningStatus } from '../../../src/machines/campaign.js';
import { allMessages, harness, readyCampaign } from '../../support/harness.js';

const SMS_MIX: [number, SmsOutcome][] = [
  [5, { kind: 'delivered' }],
  [2, { kind: 'no_receipt' }],
  [1, { kind: 'silent' }],
  [1, { kind: 'undelivered', code: '30008' }],
  [1, { kind: 'undelivered', code: '30003' }],
  [1, { kind: 'presend_error', times: 2 }],
  [1, { kind: 'unknown', then: { kind: 'delivered' } }],
  [1, { kind: 'late', after: '15m', then: { kind: 'delivered' } }],
  [1, { kind: 'stop_reply' }],
];
const EMAIL_MIX: [number, EmailOutcome][] = [
  [5, { kind: 'delivered' }],
  [2, { kind: 'deferred', times: 2, every: '3h' }],
  [1, { kind: 'deferred', times: 50, every: '2h', then: 'expire' }],
  [1, { kind: 'bounce' }],
  [1, { kind: 'unsubscribe' }],
];

describe('engine: restart', () => {
  it('should carry on after a restart over the same storage: every message final, none sent twice', async () => {
    const clock = createFakeClock();
    const storage = memoryStorage();
    const sms = simulatedSmsCarrier({ clock, seed: 3, mix: SMS_MIX, limits: { ratePerSecond: 5 } });
    const first = createOutreach({ storage, clock, transports: { sms } });
    first.worker.start();
    const c = await readyCampaign(first, 'sms', 60);
    await first.run(c.id);
    await clock.advance('4s'); // about 20 of 60 handed over
    await first.worker.stop();
    const handed = sms.sendCalls;
    expect(handed).toBeGreaterThan(0);
    expect(handed).toBeLessThan(60);

    const second = createOutreach({ storage, clock, transports: { sms } });
    second.worker.start();
    await clock.advance('2h');
    const ms = await allMessages(second, c.id);
    expect(ms.every((m) => ['delivered', 'assumed_delivered', 'failed', 'opted_out'].includes(m.status))).toBe(true);
    expect(Math.max(...sms.sends.values())).toBe(1);
    expect(['complete', 'complete_with_errors']).toContain((await second.getCampaign(c.id)).status);
  });
});

function recount(ms: { status: keyof MessageCounts }[]): MessageCounts {
  const counts = emptyCounts();
  for (const m of ms) counts[m.status]++;
  return counts;
}

const RUNNING: CampaignStatus[] = ['in_progress', 'active_retries', 'complete', 'complete_with_errors'];

describe('engine: counters equal a recount (property)', () => {
  it('should keep counters equal to a recount and the status equal to the one derived from scratch, after any mix of commands and events', async () => {
    const command = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6 * 3_600_000 }) }),
      fc.record({ kind: fc.constantFrom('pause', 'resume', 'stop', 'close', 'retryFailed', 'archive', 'runOther') }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 1000 }),
        async (commands, seed) => {
          const clock = createFakeClock();
          const sms = simulatedSmsCarrier({ clock, seed, mix: SMS_MIX, limits: { ratePerSecond: 3 } });
          const email = simulatedEmailCarrier({ clock, seed, mix: EMAIL_MIX, limits: { ratePerSecond: 3 } });
          const h = createOutreach({ storage: memoryStorage(), clock, transports: { sms, email } });
          h.worker.start();
          const a = await readyCampaign(h, 'sms', 8);
          const e = await readyCampaign(h, 'email', 8);
          await h.run(a.id);
          await h.run(e.id);
          for (const cmd of commands) {
            try {
              if (cmd.kind === 'advance') await clock.advance(cmd.ms);
              else if (cmd.kind === 'runOther') await h.run(e.id);
              else
                for (const id of [a.id, e.id])
                  await h[cmd.kind](id).catch((err: unknown) => {
                    if (!isOutreachError(err)) throw err;
                  });
            } catch (err) {
              if (!isOutreachError(err)) throw err;
            }
            for (const id of [a.id, e.id]) {
              const c = await h.getCampaign(id);
              const counts = recount(await allMessages(h, id));
              expect(c.counts).toEqual(counts);
              if (RUNNING.includes(c.status)) expect(c.status).toBe(deriveRunningStatus(counts));
            }
          }
          expect(Math.max(0, ...sms.sends.values(), ...email.sends.values())).toBeLessThanOrEqual(
            1 + commands.filter((c) => c.kind === 'retryFailed').length,
          );
        },
      ),
      { numRuns: 25, seed: 20261123 },
    );
  });
});

describe('engine: rate limits', () => {
  it('should never send more than the limit in any one-second window', async () => {
    const { outreach, clock, sms } = harness({ sms: { limits: { ratePerSecond: 7, concurrency: 100 } } });
    const c = await readyCampaign(outreach, 'sms', 100);
    await outreach.run(c.id);
    await clock.advance('1m');
    const times = sms.log.map((l) => l.at).sort((x, y) => x - y);
    expect(times.length).toBe(100);
    let worst = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[i] as number) - (times[j] as number) >= 1000) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBe(7);
    const span = (times[times.length - 1] as number) - (times[0] as number);
    expect(100 / ((span + 1000) / 1000)).toBeGreaterThan(6.5);
  });
});

describe('engine: polling for work from other processes', () => {
  async function sharedRun(pollInterval: '1s' | false) {
    const clock = createFakeClock();
    const storage = memoryStorage();
    const sms = simulatedSmsCarrier({ clock });
    const commander = createOutreach({ storage, clock, transports: {} });
    const worker = createOutreach({ storage, clock, transports: { sms }, pollInterval });
    worker.worker.start();
    await clock.advance('5s'); // the worker finds nothing and goes idle
    const c = await readyCampaign(commander, 'sms', 3);
    await commander.run(c.id); // another engine's command: this worker was not kicked
    await clock.advance('2s');
    await worker.worker.stop();
    return sms.sendCalls;
  }

  it('should find messages another engine queued when pollInterval is set', async () => {
    expect(await sharedRun('1s')).toBe(3);
  });

  it('should stay idle without polling (the default for unshared storage)', async () => {
    expect(await sharedRun(false)).toBe(0);
  });
});
