/**
 * Keyset claims (issue 18): the engine claims queued messages after the greatest id of its last claim
 * (`claimMessages`' `after`), so that a claim never steps over the messages already claimed, and
 * `run` queues a campaign's waiting messages in one linear pass. A message that comes back to Queued
 * with an id below the cursor (a retry, a released claim) must still be claimed.
 */
import {
  createOutreach,
  type OutgoingSms,
  type SendResult,
  type SmsTransport,
  type Storage,
  type StorageTransaction,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';
import { allMessages, readyCampaign } from '../../support/harness.js';

interface ClaimCall {
  readonly state: string;
  readonly limit: number;
  readonly after: string | undefined;
  readonly ids: string[];
}

/** The storage, with every `claimMessages` call recorded (arguments and the ids it returned). */
function recordingClaims(inner: Storage) {
  const calls: ClaimCall[] = [];
  const storage: Storage = {
    info: inner.info,
    transaction: (fn) =>
      inner.transaction((t) =>
        fn(
          new Proxy(t, {
            get(target, key, receiver) {
              if (key === 'claimMessages')
                return async (...args: Parameters<StorageTransaction['claimMessages']>) => {
                  const got = await target.claimMessages(...args);
                  calls.push({ state: args[1], limit: args[2], after: args[3], ids: got.map((m) => m.id) });
                  return got;
                };
              return Reflect.get(target, key, receiver);
            },
          }),
        ),
      ),
  };
  return { storage, calls };
}

/** Accepts every send; `refuseOnce` answers the first send of that message with a pre-send error. */
function smsTransport(concurrency: number, onSend: (m: OutgoingSms) => SendResult | undefined = () => undefined) {
  const sends = new Map<string, number>();
  const sms: SmsTransport = {
    name: 'counting',
    channel: 'sms',
    limits: { concurrency },
    async send(m: OutgoingSms): Promise<SendResult> {
      sends.set(m.messageId, (sends.get(m.messageId) ?? 0) + 1);
      return onSend(m) ?? { outcome: 'accepted', providerMessageId: `SM${m.messageId}` };
    },
  };
  return { sms, sends };
}

describe('keyset claims', () => {
  it('each claim of a campaign starts after the greatest id of the one before', async () => {
    const { storage, calls } = recordingClaims(memoryStorage());
    const { sms, sends } = smsTransport(2);
    const outreach = createOutreach({ storage, clock: createFakeClock(), transports: { sms } });
    const c = await readyCampaign(outreach, 'sms', 6);
    await outreach.run(c.id);
    await outreach.worker.runOnce();

    expect(sends.size).toBe(6);
    const queued = calls.filter((k) => k.state === 'queued' && k.ids.length > 0);
    expect(queued.map((k) => k.ids.length)).toEqual([2, 2, 2]);
    expect(queued[0]?.after).toBeUndefined();
    expect(queued[1]?.after).toBe(queued[0]?.ids.toSorted().at(-1));
    expect(queued[2]?.after).toBe(queued[1]?.ids.toSorted().at(-1));
  });

  it('run queues the waiting messages batch after batch, each claim after the last, every message once', async () => {
    const { storage, calls } = recordingClaims(memoryStorage());
    const outreach = createOutreach({ storage, clock: createFakeClock(), transports: {}, batchSize: 3 });
    const c = await readyCampaign(outreach, 'sms', 7);
    calls.length = 0;
    await outreach.run(c.id);

    const waiting = calls.filter((k) => k.state === 'waiting');
    // Three batches of the first pass (3, 3, 1), its empty end, and a second pass that finds nothing.
    expect(waiting.map((k) => k.ids.length)).toEqual([3, 3, 1, 0, 0]);
    expect(waiting.map((k) => k.after)).toEqual([
      undefined,
      waiting[0]?.ids.toSorted().at(-1),
      waiting[1]?.ids.toSorted().at(-1),
      waiting[2]?.ids.toSorted().at(-1),
      undefined,
    ]);
    const ids = waiting.flatMap((k) => k.ids);
    expect(new Set(ids).size).toBe(7);
    expect((await allMessages(outreach, c.id)).map((m) => m.status)).toEqual(Array(7).fill('queued'));
  });

  it('a message queued again below the cursor (a retry) is still claimed, and sent once more', async () => {
    const fake = createFakeClock();
    let skew = 0;
    // The retry's backoff (30 s) has passed by the second round: the clock jumps a minute at its first send.
    const clock = { ...fake, now: () => fake.now() + skew };
    const { storage, calls } = recordingClaims(memoryStorage());
    let first: string | undefined;
    let sent = 0;
    const { sms, sends } = smsTransport(2, (m) => {
      if (++sent === 3) skew = 60_000;
      if (first !== undefined) return undefined;
      first = m.messageId;
      return { outcome: 'presend', error: '503 before acceptance' };
    });
    const outreach = createOutreach({ storage, clock, transports: { sms } });
    const c = await readyCampaign(outreach, 'sms', 9);
    await outreach.run(c.id);
    await outreach.worker.runOnce();

    const after = await allMessages(outreach, c.id);
    expect(after.map((m) => m.status)).toEqual(Array(9).fill('sending'));
    expect(sends.size).toBe(9);
    expect(sends.get(first ?? '')).toBe(2);
    expect([...sends.values()].filter((n) => n === 1)).toHaveLength(8);
    // It was claimed again by a claim that started below the cursor of the claim before it.
    const again = calls.findLastIndex((k) => k.state === 'queued' && k.ids.includes(first ?? ''));
    const before = calls.slice(0, again).findLast((k) => k.state === 'queued' && k.ids.length > 0);
    expect(again).toBeGreaterThan(calls.findIndex((k) => k.ids.includes(first ?? '')));
    expect(
      before?.ids
        .toSorted()
        .at(-1)
        ?.localeCompare(first ?? ''),
    ).toBe(1);
  });
});
