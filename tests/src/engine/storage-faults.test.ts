/**
 * Storage that throws mid-transition: memory storage behind a proxy whose `updateMessages` or
 * `appendLog` throws once, on its Nth call. The transaction must roll back whole (no message,
 * counter or log half written), the worker must report the error through `onError`, and carry on:
 * no message lost, none sent twice, the campaign final.
 */
import type { Storage, StorageTransaction } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { describe, expect, it } from 'vitest';
import {
  callback,
  expectLogsMatch,
  expectNeverSentTwice,
  expectSettled,
  runningCampaign,
} from '../../support/fault-support.js';

type FaultyMethod = 'updateMessages' | 'appendLog';

/** Memory storage whose `method` throws once, on its `failOn`-th call (counted across transactions). */
function storageThatThrowsOnce(method: FaultyMethod, failOn: number): Storage & { failed: boolean } {
  const inner = memoryStorage();
  let calls = 0;
  const faulty: Storage & { failed: boolean } = {
    info: inner.info,
    failed: false,
    transaction: (fn) =>
      inner.transaction((tx) =>
        fn(
          new Proxy(tx, {
            get(target, prop, receiver) {
              const value = Reflect.get(target, prop, receiver);
              if (typeof value !== 'function') return value;
              if (prop !== method) return value.bind(target);
              return async (...args: unknown[]) => {
                calls++;
                if (calls === failOn) {
                  faulty.failed = true;
                  throw new Error(`disk full (injected: ${method} call ${calls})`);
                }
                return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
              };
            },
          }) as StorageTransaction,
        ),
      ),
  };
  return faulty;
}

const N = 4;

const SCENARIOS: [FaultyMethod, number, string][] = [
  ['updateMessages', 2, 'while handing messages to the transport'],
  ['appendLog', 2, 'while handing messages to the transport'],
  ['updateMessages', 3, "while recording the provider's acceptance"],
  ['appendLog', 3, "while recording the provider's acceptance"],
];

// Calls of either method, in order: 1 = run (waiting → queued), 2 = dispatch (queued → sending,
// before the transport is called), 3 = the transport's result (after the provider accepted).
describe.each(SCENARIOS)('faults: storage %s throws once (call %i, %s)', (method, failOn) => {
  const start = async () => {
    const storage = storageThatThrowsOnce(method, failOn);
    const run = await runningCampaign(
      N,
      (m) => ({ outcome: 'accepted', providerMessageId: `SM${m.messageId}` }),
      storage,
    );
    expect(storage.failed).toBe(true);
    return run;
  };

  it('should roll the transition back whole, report it through onError, and carry on at the next worker run to a final campaign with nothing sent twice', async () => {
    const { clock, sms, outreach, errors, campaignId } = await start();
    expect(errors).toEqual([expect.objectContaining({ message: expect.stringContaining('disk full') })]);
    // No half-applied transition: every log ends in its message's status, and counters equal a recount.
    await expectLogsMatch(outreach, campaignId);

    // The next worker run carries on: what was rolled back is dispatched now, and nothing is resent.
    await outreach.worker.runOnce();
    await clock.advance('1m');
    const sentTo = new Set(sms.calls.map((c) => c.messageId));
    expect(sentTo.size).toBe(N);
    expectNeverSentTwice(sms.calls);

    await outreach.ingest([...sentTo].map((id) => callback(id, 'delivered')));
    await clock.advance('1h');
    expectNeverSentTwice(sms.calls);
    const { stats } = await expectSettled(outreach, campaignId);
    expect(stats.status).toBe('complete');
    expect(stats.delivered).toBe(N);
  });

  // Regression test (found by fuzzing, fixed): when a storage call throws inside a worker run, `runOnce` rejects
  // before it re-arms the clock timer (`arm(next)` is skipped), so the worker never ticks again until
  // a command or a webhook kicks it: queued messages are never dispatched (call 2) and the 10-minute
  // deadlines never fire (call 3); the campaign stays In Progress for ever. Counterexample: this
  // test, `clock.advance('1h')` after the injected error → 0 of 4 messages sent, or all still Sending.
  // The worker now re-arms after a failed run.
  it('should schedule its own next tick after the error, so that the campaign finishes with no command or webhook to wake it', async () => {
    const { clock, sms, outreach, campaignId } = await start();
    await clock.advance('1h');
    expect(new Set(sms.calls.map((c) => c.messageId)).size).toBe(N);
    expectNeverSentTwice(sms.calls);
    // With no receipts, the 10-minute rule settles every message that reached the provider.
    await expectSettled(outreach, campaignId);
  });
});
