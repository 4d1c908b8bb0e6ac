/**
 * Claims as leases: a message a worker claimed but never handed to a transport is not lost when the
 * worker dies (its lease expires and another worker sends it), and `worker.stop()` gives unstarted
 * claims back at once and waits, within a bound, for the sends in flight.
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

/** A transport that accepts everything and counts sends per message; `hold` keeps sends pending. */
function countingSms(hold?: Promise<void>) {
  const sends = new Map<string, number>();
  let started = 0;
  const sms: SmsTransport = {
    name: 'counting',
    channel: 'sms',
    limits: { concurrency: 50 },
    async send(m: OutgoingSms): Promise<SendResult> {
      started++;
      sends.set(m.messageId, (sends.get(m.messageId) ?? 0) + 1);
      if (hold) await hold;
      return { outcome: 'accepted', providerMessageId: `SM${m.messageId}` };
    },
  };
  return {
    sms,
    sends,
    get started() {
      return started;
    },
  };
}

/**
 * The storage as one worker sees it: after a transaction that claimed messages (it wrote their
 * leases) commits, `afterClaim` decides when the worker learns of it (never: the process died).
 */
function pausedAfterClaim(inner: Storage, afterClaim: () => Promise<void>): Storage {
  return {
    info: inner.info,
    async transaction<T>(fn: (t: StorageTransaction) => Promise<T>): Promise<T> {
      let claimed = false;
      const result = await inner.transaction((t) =>
        fn(
          new Proxy(t, {
            get(target, key, receiver) {
              if (key === 'upsertDeadlines')
                return (rows: Parameters<StorageTransaction['upsertDeadlines']>[0]) => {
                  if (rows.some((d) => d.event.type === 'RELEASE')) claimed = true;
                  return target.upsertDeadlines(rows);
                };
              return Reflect.get(target, key, receiver);
            },
          }),
        ),
      );
      if (claimed) await afterClaim();
      return result;
    },
  };
}

describe('claims as leases', () => {
  it('a message claimed by a worker that dies before handing it over goes back to Queued when the lease expires, and another worker sends it once', async () => {
    const clock = createFakeClock();
    const storage = memoryStorage();
    const dead = countingSms();
    const alive = countingSms();
    const errors: unknown[] = [];
    // The victim claims, commits, and never runs another line (kill -9 right after the claim).
    const victim = createOutreach({
      storage: pausedAfterClaim(storage, () => new Promise<void>(() => {})),
      clock,
      transports: { sms: dead.sms },
      claimLease: '30s',
      onError: (e) => errors.push(e),
    });
    const c = await readyCampaign(victim, 'sms', 20);
    await victim.run(c.id);
    void victim.worker.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const claimedNow = await allMessages(victim, c.id);
    expect(claimedNow.filter((m) => m.status === 'sending')).toHaveLength(20);

    const survivor = createOutreach({ storage, clock, transports: { sms: alive.sms }, onError: (e) => errors.push(e) });
    // Before the lease expires, nobody else may touch them.
    await clock.advance('29s');
    await survivor.worker.runOnce();
    expect(alive.started).toBe(0);
    await clock.advance('2s');
    await survivor.worker.runOnce();

    expect(dead.started).toBe(0);
    expect(alive.sends.size).toBe(20);
    expect(Math.max(...alive.sends.values())).toBe(1);
    const after = await allMessages(survivor, c.id);
    expect(after.map((m) => [m.status, m.context.providerMessageId])).toEqual(
      after.map((m) => ['sending', `SM${m.id}`]),
    );
    // The lost claim counts no attempt: each message was attempted once, by the survivor.
    expect(after.map((m) => m.context.attempts)).toEqual(after.map(() => 1));
    expect((await survivor.getCampaign(c.id)).counts.sending).toBe(20);
    expect(errors).toEqual([]);
  });

  it('after stop, nothing of that campaign is sent again: a claim its lease gives back in a stopped campaign ends Cancelled', async () => {
    const clock = createFakeClock();
    const storage = memoryStorage();
    const dead = countingSms();
    const alive = countingSms();
    const victim = createOutreach({
      storage: pausedAfterClaim(storage, () => new Promise<void>(() => {})),
      clock,
      transports: { sms: dead.sms },
      claimLease: '30s',
    });
    const c = await readyCampaign(victim, 'sms', 5);
    await victim.run(c.id);
    void victim.worker.runOnce();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const survivor = createOutreach({ storage, clock, transports: { sms: alive.sms } });
    expect((await survivor.stop(c.id)).status).toBe('stopped');
    await clock.advance('31s');
    await survivor.worker.runOnce();
    await clock.advance('20m');
    await survivor.worker.runOnce();

    expect(alive.started + dead.started).toBe(0);
    const after = await allMessages(survivor, c.id);
    expect(after.map((m) => m.status)).toEqual(after.map(() => 'cancelled'));
    expect((await survivor.getCampaign(c.id)).counts.queued).toBe(0);
  });

  it('a hand-over that comes after the lease ran out sends nothing (a lookup trusts that bound): the messages go back to Queued and are sent once', async () => {
    const fake = createFakeClock();
    let stall = 0;
    // A worker that stalls between its claim and its hand-over: its clock has moved past the lease when
    // it takes the leases back.
    const clock = { ...fake, now: () => fake.now() + stall };
    const inner = memoryStorage();
    const storage: Storage = {
      info: inner.info,
      transaction: (fn) =>
        inner.transaction((t) =>
          fn(
            new Proxy(t, {
              get(target, key, receiver) {
                if (key === 'takeDeadlines')
                  return (ids: readonly string[]) => {
                    if (stall === 0) stall = 31_000;
                    return target.takeDeadlines(ids);
                  };
                return Reflect.get(target, key, receiver);
              },
            }),
          ),
        ),
    };
    const sms = countingSms();
    const outreach = createOutreach({ storage, clock, transports: { sms: sms.sms }, claimLease: '30s' });
    const c = await readyCampaign(outreach, 'sms', 4);
    await outreach.run(c.id);
    await outreach.worker.runOnce();
    const released = await allMessages(outreach, c.id);
    expect(released.map((m) => [m.status, m.context.attempts])).toEqual(released.map(() => ['queued', 0]));
    await outreach.worker.runOnce();

    expect(sms.sends.size).toBe(4);
    expect(Math.max(...sms.sends.values())).toBe(1);
    const after = await allMessages(outreach, c.id);
    expect(after.map((m) => m.status)).toEqual(after.map(() => 'sending'));
  });

  it('worker.stop() gives claims not yet handed over back to Queued at once', async () => {
    const clock = createFakeClock();
    const storage = memoryStorage();
    const t = countingSms();
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let claimedSignal!: () => void;
    const claimed = new Promise<void>((resolve) => {
      claimedSignal = resolve;
    });
    const outreach = createOutreach({
      storage: pausedAfterClaim(storage, () => {
        claimedSignal();
        return paused;
      }),
      clock,
      transports: { sms: t.sms },
    });
    const c = await readyCampaign(outreach, 'sms', 10);
    await outreach.run(c.id);
    void outreach.worker.runOnce();
    await claimed;
    const stopped = outreach.worker.stop();
    resume();
    await stopped;

    expect(t.started).toBe(0);
    const ms = await allMessages(outreach, c.id);
    expect(ms.map((m) => [m.status, m.context.attempts])).toEqual(ms.map(() => ['queued', 0]));
    expect((await outreach.getCampaign(c.id)).counts.queued).toBe(10);
    // Nothing is left to release them a second time.
    await clock.advance('1m');
    expect((await allMessages(outreach, c.id)).every((m) => m.status === 'queued')).toBe(true);
  });

  it('worker.stop() waits for sends in flight and records them, and gives up waiting after its bound', async () => {
    const clock = createFakeClock();
    let finish!: () => void;
    const hold = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const t = countingSms(hold);
    const outreach = createOutreach({ storage: memoryStorage(), clock, transports: { sms: t.sms } });
    const c = await readyCampaign(outreach, 'sms', 5);
    await outreach.run(c.id);
    void outreach.worker.runOnce();
    while (t.started < 5) await new Promise((resolve) => setTimeout(resolve, 5));

    const began = Date.now();
    await outreach.worker.stop({ timeoutMs: 100 });
    expect(Date.now() - began).toBeGreaterThanOrEqual(90);
    expect((await allMessages(outreach, c.id)).every((m) => m.context.providerMessageId === null)).toBe(true);

    // A stop without a bound waits until the sends end and their outcome is stored.
    const stopped = outreach.worker.stop();
    finish();
    await stopped;
    const ms = await allMessages(outreach, c.id);
    expect(ms.map((m) => m.context.providerMessageId)).toEqual(ms.map((m) => `SM${m.id}`));
  });
});
