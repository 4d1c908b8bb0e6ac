/**
 * `record: false` on the simulated carriers: nothing kept per message (the million-message benchmark
 * runs the carrier in the measured process), while what it reports to the engine stays the same.
 */
import type { ProviderEvent } from 'campaign-lifecycle';
import { createFakeClock, sampleSms, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';

async function run(record: boolean | undefined) {
  const clock = createFakeClock();
  let draws = 0;
  const sms = simulatedSmsCarrier({
    clock,
    latency: 0,
    receiptDelay: 0,
    ...(record === undefined ? {} : { record }),
    decide: () => {
      draws++;
      return { kind: 'delivered' };
    },
  });
  const reported: ProviderEvent[] = [];
  sms.connect?.({
    ingest: async (events) => {
      reported.push(...events);
      return { applied: events.length, duplicates: 0, ignored: 0, unmatched: 0 };
    },
  });
  const results = [];
  for (const [messageId, attempt] of [
    ['msg_1', 1],
    ['msg_2', 1],
    ['msg_1', 2],
  ] as const)
    results.push(await sms.send(sampleSms({ messageId, attempt, to: '+14155550100' })));
  await clock.flush();
  return { sms, results, reported, draws };
}

describe('simulated carriers: record', () => {
  it('keeps the log, the send counts and each outcome by default', async () => {
    const { sms, draws } = await run(undefined);
    expect(sms.log.map((e) => [e.messageId, e.outcome])).toEqual([
      ['msg_1', 'accepted'],
      ['msg_2', 'accepted'],
      ['msg_1', 'accepted'],
    ]);
    expect([...sms.sends]).toEqual([
      ['msg_1', 2],
      ['msg_2', 1],
    ]);
    expect(draws).toBe(2);
  });

  it('keeps nothing per message with record: false, and reports the same events', async () => {
    const kept = await run(true);
    const slim = await run(false);
    expect(slim.sms.log).toEqual([]);
    expect(slim.sms.sends.size).toBe(0);
    expect(slim.sms.sendCalls).toBe(3);
    // The outcome is chosen again for a resend instead of remembered.
    expect(slim.draws).toBe(3);
    expect(slim.results).toEqual(kept.results);
    expect(slim.reported).toEqual(kept.reported);
    expect(slim.reported.length).toBe(6);
  });
});
