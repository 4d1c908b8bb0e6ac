/**
 * Promises of the engine's context: what a transaction leaves for after its commit counts only when
 * it commits (a run the storage repeats after a conflict, or one that rolls back, leaves nothing), and
 * the signal sends are given is aborted when the worker stops.
 */
import {
  createOutreach,
  type OutgoingSms,
  type SendOptions,
  type SendResult,
  type SmsTransport,
  type Storage,
  type StorageTransaction,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';
import { harness, readyCampaign } from '../../support/harness.js';

/** Thrown inside a transaction to make the wrapper run its callback again, as an adapter does after a conflict. */
class Conflict extends Error {}

/**
 * Memory storage that (a) counts the looks for scheduled campaigns and (b) when armed, disturbs the next
 * transaction that releases a channel: `rerun` rolls it back and runs its callback again; `fail` rolls
 * it back for good.
 */
function disturbingStorage() {
  const inner = memoryStorage();
  let armed: 'rerun' | 'fail' | null = null;
  let scheduledLooks = 0;
  const storage: Storage = {
    info: inner.info,
    async transaction<T>(fn: (t: StorageTransaction) => Promise<T>): Promise<T> {
      const once = () =>
        inner.transaction(async (t) => {
          let released = false;
          const result = await fn(
            new Proxy(t, {
              get(target, key, receiver) {
                if (key === 'releaseChannel')
                  return (...args: Parameters<StorageTransaction['releaseChannel']>) => {
                    released = true;
                    return target.releaseChannel(...args);
                  };
                if (key === 'listCampaigns')
                  return (filter: Parameters<StorageTransaction['listCampaigns']>[0]) => {
                    if (filter?.statuses?.length === 1 && filter.statuses[0] === 'scheduled') scheduledLooks++;
                    return target.listCampaigns(filter);
                  };
                return Reflect.get(target, key, receiver);
              },
            }),
          );
          if (released && armed === 'rerun') {
            armed = null;
            throw new Conflict('serialization failure');
          }
          if (released && armed === 'fail') {
            armed = null;
            throw new Error('connection lost before commit');
          }
          return result;
        });
      try {
        return await once();
      } catch (error) {
        if (error instanceof Conflict) return once();
        throw error;
      }
    },
  };
  return {
    storage,
    arm: (how: 'rerun' | 'fail') => {
      armed = how;
    },
    looks: () => scheduledLooks,
  };
}

describe('transaction effects', () => {
  it('should report a channel freed by a transaction its storage ran twice once: one look for due scheduled campaigns', async () => {
    const s = disturbingStorage();
    const { outreach, clock } = harness({ storage: s.storage, start: false });
    const a = await readyCampaign(outreach, 'sms', 2, { name: 'A' });
    const b = await readyCampaign(outreach, 'sms', 2, { name: 'B' });
    await outreach.run(a.id);
    await outreach.schedule(b.id, clock.now() + 3_600_000);
    const before = s.looks();
    s.arm('rerun');
    expect((await outreach.stop(a.id)).status).toBe('stopped');
    expect(s.looks() - before).toBe(1);
  });

  it('should report nothing of a transaction that rolled back: a later release looks for scheduled campaigns once', async () => {
    const s = disturbingStorage();
    const { outreach, clock } = harness({ storage: s.storage, start: false });
    const a = await readyCampaign(outreach, 'sms', 2, { name: 'A' });
    const b = await readyCampaign(outreach, 'sms', 2, { name: 'B' });
    await outreach.run(a.id);
    await outreach.schedule(b.id, clock.now() + 3_600_000);
    s.arm('fail');
    await expect(outreach.stop(a.id)).rejects.toThrow('connection lost before commit');
    expect((await outreach.getCampaign(a.id)).status).toBe('in_progress');
    const before = s.looks();
    expect((await outreach.stop(a.id)).status).toBe('stopped');
    expect(s.looks() - before).toBe(1);
  });
});

describe('the send signal', () => {
  it('should abort the signal of a send in flight when the worker stops; its outcome is then unknown, and it times out as usual', async () => {
    const clock = createFakeClock();
    const signals: AbortSignal[] = [];
    const sms: SmsTransport = {
      channel: 'sms',
      name: 'hanging',
      send: (_m: OutgoingSms, options?: SendOptions) =>
        new Promise<SendResult>((_resolve, reject) => {
          const signal = options?.signal;
          if (!signal) return reject(new Error('no signal given'));
          signals.push(signal);
          signal.addEventListener('abort', () => reject(new Error('aborted: the worker stopped')));
        }),
    };
    const errors: unknown[] = [];
    const outreach = createOutreach({
      storage: memoryStorage(),
      clock,
      transports: { sms },
      onError: (e) => errors.push(e),
    });
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    outreach.worker.start();
    // The round waits for the send, so the flush that runs it ends only once the worker stops.
    const round = clock.flush();
    await waitUntil(() => signals.length === 1);
    expect(signals[0]?.aborted).toBe(false);
    await outreach.worker.stop({ timeoutMs: 5_000 });
    expect(signals[0]?.aborted).toBe(true);
    await round;
    const [m] = await outreach.listMessages(c.id);
    expect(m?.status).toBe('sending');
    const { log } = await outreach.getMessage(m?.id ?? '');
    expect(log.at(-1)?.event).toBe('SEND_UNKNOWN');
    expect(errors.map(String)).toContain('Error: aborted: the worker stopped');
    // The sending rule settles it: never sent again blindly.
    await clock.advance(outreach.policy.smsSendingTimeout);
    await outreach.worker.runOnce();
    const settled = await outreach.getMessage(m?.id ?? '');
    expect(settled.status).toBe('failed');
    expect(settled.context.reason).toBe('timed_out');
    expect(signals).toHaveLength(1);
  });
});

/** Waits (real time, a few seconds at most) until `ok` holds. */
async function waitUntil(ok: () => boolean) {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error('timed out waiting');
}
