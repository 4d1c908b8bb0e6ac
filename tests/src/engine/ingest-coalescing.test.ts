/**
 * Ingest that keeps pace: batches arriving together are applied in one transaction (so concurrent
 * webhooks of one campaign do not queue one by one on its row), and each caller still gets its own result.
 */
import {
  createOutreach,
  type ProviderEvent,
  type SendResult,
  type SmsTransport,
  type Storage,
  type StorageTransaction,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';
import { allMessages, readyCampaign } from '../../support/harness.js';

const accepting: SmsTransport = {
  name: 'accepting',
  channel: 'sms',
  async send(m): Promise<SendResult> {
    return { outcome: 'accepted', providerMessageId: `SM${m.messageId}` };
  },
};

/** Counts transactions and campaign row locks, and fails transactions that lock `poison`. */
function counting(inner: Storage, poison?: string) {
  let n = 0;
  let campaignLocks = 0;
  const storage: Storage = {
    info: inner.info,
    transaction<T>(fn: (t: StorageTransaction) => Promise<T>) {
      n++;
      return inner.transaction((t) =>
        fn({
          ...t,
          getCampaign: async (id, opts) => {
            if (opts?.forUpdate) campaignLocks++;
            return t.getCampaign(id, opts);
          },
          lockMessages: async (ids) => {
            if (poison && ids.includes(poison)) throw new Error('poisoned');
            return t.lockMessages(ids);
          },
        }),
      );
    },
  };
  return {
    storage,
    get transactions() {
      return n;
    },
    get campaignLocks() {
      return campaignLocks;
    },
  };
}

async function sentCampaign(storage: Storage, size: number) {
  const clock = createFakeClock();
  const outreach = createOutreach({ storage, clock, transports: { sms: accepting } });
  const c = await readyCampaign(outreach, 'sms', size);
  await outreach.run(c.id);
  await outreach.worker.runOnce();
  return { outreach, c, messages: await allMessages(outreach, c.id) };
}

const delivered = (id: string, eventId?: string): ProviderEvent => ({
  type: 'status',
  channel: 'sms',
  providerMessageId: `SM${id}`,
  status: 'delivered',
  ...(eventId ? { eventId } : {}),
});

describe('ingest: concurrent callbacks coalesce', () => {
  it('40 callbacks arriving together are applied in a few transactions, each caller told its own result', async () => {
    const s = counting(memoryStorage());
    const { outreach, c, messages } = await sentCampaign(s.storage, 30);
    const before = s.transactions;
    const calls = [
      ...messages.map((m) => [delivered(m.id, `ev-${m.id}`)]),
      // The same callback twice more (a provider retry, a second process): duplicates.
      [delivered(messages[0]?.id as string, `ev-${messages[0]?.id}`)],
      [delivered(messages[1]?.id as string, `ev-${messages[1]?.id}`)],
      // Unknown to us.
      ...Array.from({ length: 8 }, (_, i) => [delivered(`nobody${i}`)]),
    ];
    const results = await Promise.all(calls.map((events) => outreach.ingest(events)));
    // The first caller starts a transaction; another starts beside it only once 16 batches wait, and
    // takes them all; campaign statuses are derived once per round of them.
    expect(s.transactions - before).toBeLessThanOrEqual(6);
    expect(results.slice(0, 30)).toEqual(messages.map(() => ({ applied: 1, duplicates: 0, ignored: 0, unmatched: 0 })));
    expect(results.slice(30, 32)).toEqual([1, 2].map(() => ({ applied: 0, duplicates: 1, ignored: 0, unmatched: 0 })));
    expect(results.slice(32)).toEqual(
      calls.slice(32).map(() => ({ applied: 0, duplicates: 0, ignored: 0, unmatched: 1 })),
    );
    const counts = (await outreach.getCampaign(c.id)).counts;
    expect([counts.delivered, counts.sending]).toEqual([30, 0]);
  });

  it("one caller's failing batch fails only that caller: the others are applied on their own", async () => {
    const inner = memoryStorage();
    const { messages } = await sentCampaign(inner, 6);
    const poison = messages[2]?.id as string;
    const s = counting(inner, poison);
    const outreach = createOutreach({ storage: s.storage, clock: createFakeClock(), transports: {} });
    const calls = messages.map((m) =>
      outreach.ingest([{ ...(delivered(m.id) as Extract<ProviderEvent, { type: 'status' }>), messageId: m.id }]),
    );
    const settled = await Promise.allSettled(calls);
    expect(settled.map((r) => r.status)).toEqual(messages.map((m) => (m.id === poison ? 'rejected' : 'fulfilled')));
    const after = await allMessages(outreach, messages[0]?.campaignId as string);
    expect(after.filter((m) => m.status === 'delivered')).toHaveLength(5);
  });

  it('callbacks that leave the campaign status as it is never lock its row; the last one completes it before ingest returns', async () => {
    const s = counting(memoryStorage());
    const { outreach, c, messages } = await sentCampaign(s.storage, 3);
    const locks = s.campaignLocks;
    for (const m of messages.slice(0, 2)) await outreach.ingest([delivered(m.id)]);
    expect(s.campaignLocks - locks).toBe(0);
    expect((await outreach.getCampaign(c.id)).status).toBe('in_progress');
    await outreach.ingest([delivered(messages[2]?.id as string)]);
    expect(s.campaignLocks - locks).toBe(1);
    expect((await outreach.getCampaign(c.id)).status).toBe('complete');
  });
});
