/**
 * Unknown outcomes reconciled with the provider (issue 15): before a send whose outcome is unknown is
 * declared Failed (Timed Out), the engine asks the transport's `lookup`. Found → the provider's id and
 * status are adopted; provably absent → Queued again and sent once more; undecidable → Failed (Timed
 * Out) as without a lookup. Transports without `lookup` behave as before.
 */
import { PGlite } from '@electric-sql/pglite';
import {
  createOutreach,
  emptyCounts,
  type LookupOptions,
  type LookupResult,
  type MessageCounts,
  type OutgoingSms,
  type SendResult,
  type SmsTransport,
  type Storage,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMessages, readyCampaign } from '../../support/harness.js';

type Lookup = (m: OutgoingSms, o: LookupOptions) => Promise<LookupResult>;

/**
 * A provider that never answers the first request of each message (the outcome is unknown) and accepts
 * every later one; `lookup` is whatever the test says, or absent.
 */
function unansweredSms(lookup?: Lookup) {
  const sends = new Map<string, number>();
  const asked: { message: OutgoingSms; options: LookupOptions }[] = [];
  const sms: SmsTransport = {
    name: 'unanswered',
    channel: 'sms',
    async send(m: OutgoingSms): Promise<SendResult> {
      const n = (sends.get(m.messageId) ?? 0) + 1;
      sends.set(m.messageId, n);
      if (n === 1) return { outcome: 'unknown', error: 'timeout after 15000 ms' };
      return { outcome: 'accepted', providerMessageId: `SMretry${m.messageId}` };
    },
    ...(lookup
      ? {
          lookup: (m: OutgoingSms, o: LookupOptions) => {
            asked.push({ message: m, options: o });
            return lookup(m, o);
          },
        }
      : {}),
  };
  return { sms, sends, asked };
}

async function setup(transport: SmsTransport, storage: Storage = memoryStorage(), n = 1) {
  const clock = createFakeClock();
  const errors: unknown[] = [];
  const outreach = createOutreach({ storage, clock, transports: { sms: transport }, onError: (e) => errors.push(e) });
  outreach.worker.start();
  const c = await readyCampaign(outreach, 'sms', n);
  await outreach.run(c.id);
  await clock.flush();
  return { clock, outreach, storage, campaignId: c.id, errors };
}

async function countersMatchRecount(storage: Storage, outreach: ReturnType<typeof createOutreach>, id: string) {
  const recount: MessageCounts = emptyCounts();
  for (const m of await allMessages(outreach, id)) recount[m.status]++;
  expect((await storage.transaction((t) => t.getCounters(id))).counts).toEqual(recount);
}

const found =
  (status: 'sending' | 'sent' | 'delivered' | 'failed', extra: Partial<LookupResult> = {}): Lookup =>
  async () =>
    ({ outcome: 'found', providerMessageId: 'SMfound0123456789', status, ...extra }) as LookupResult;

describe('engine: unknown outcomes reconciled with the provider', () => {
  it('should adopt the SID and status the provider has (found, delivered): Delivered, never Failed', async () => {
    const { sms, sends, asked } = unansweredSms(found('delivered'));
    const { clock, outreach, storage, campaignId } = await setup(sms);
    const [before] = await allMessages(outreach, campaignId);
    expect(before?.status).toBe('sending');
    await clock.advance('10m');
    const m = await outreach.getMessage(before?.id as string);
    expect(m.status).toBe('delivered');
    expect(m.context.providerMessageId).toBe('SMfound0123456789');
    expect(m.log.map((e) => e.to)).not.toContain('failed');
    expect(sends.get(m.id)).toBe(1);
    // The lookup got the attempt's own payload and the window its request could have left in.
    expect(asked).toHaveLength(1);
    expect(asked[0]?.message.body).toBe('Hi Kid0, school is closed today.');
    expect(asked[0]?.options.dispatchedAt).toBe(before?.updatedAt);
    expect(asked[0]?.options.startedBy).toBeGreaterThan(asked[0]?.options.dispatchedAt as number);
    await countersMatchRecount(storage, outreach, campaignId);
  });

  it('should adopt a found message that is Sent and let its receipt rule run from there', async () => {
    const { sms, sends } = unansweredSms(found('sent'));
    const { clock, outreach, campaignId } = await setup(sms);
    await clock.advance('10m');
    const [m] = await allMessages(outreach, campaignId);
    expect(m?.status).toBe('sent');
    expect(m?.context.providerMessageId).toBe('SMfound0123456789');
    await clock.advance('2h');
    const [later] = await allMessages(outreach, campaignId);
    expect(later?.status).toBe('assumed_delivered');
    expect(sends.get(later?.id as string)).toBe(1);
  });

  it('should record what the provider failed with when the found message failed there', async () => {
    const { sms } = unansweredSms(found('failed', { reason: 'carrier_blocked', code: '30007' }));
    const { clock, outreach, campaignId } = await setup(sms);
    await clock.advance('10m');
    const [m] = await allMessages(outreach, campaignId);
    expect(m?.status).toBe('failed');
    expect(m?.context.reason).toBe('carrier_blocked');
    expect(m?.context.code).toBe('30007');
    expect(m?.context.providerMessageId).toBe('SMfound0123456789');
  });

  it('should queue a provably absent message again and send it exactly once more (the attempt counts)', async () => {
    const { sms, sends, asked } = unansweredSms(async () => ({ outcome: 'absent' }));
    const { clock, outreach, storage, campaignId, errors } = await setup(sms);
    await clock.advance('10m');
    const [m] = await allMessages(outreach, campaignId);
    expect(m?.status).toBe('queued'); // waiting out the pre-send backoff
    await clock.advance('5m');
    const after = await outreach.getMessage(m?.id as string);
    expect(after.status).toBe('sending');
    expect(after.context.providerMessageId).toBe(`SMretry${after.id}`);
    expect(after.context.attempts).toBe(2);
    expect(sends.get(after.id)).toBe(2);
    expect(after.log.some((e) => e.to === 'failed')).toBe(false);
    expect(asked).toHaveLength(1);
    await countersMatchRecount(storage, outreach, campaignId);
    expect(errors).toEqual([]);
  });

  it('should fail a provably absent message with pre_send_error once its automatic retries are spent', async () => {
    const clock = createFakeClock();
    const sends = new Map<string, number>();
    const sms: SmsTransport = {
      name: 'never-answers',
      channel: 'sms',
      async send(m) {
        sends.set(m.messageId, (sends.get(m.messageId) ?? 0) + 1);
        return { outcome: 'unknown', error: 'timeout' };
      },
      lookup: async () => ({ outcome: 'absent' }),
    };
    const outreach = createOutreach({
      storage: memoryStorage(),
      clock,
      transports: { sms },
      policy: { maxPresendRetries: 1 },
    });
    outreach.worker.start();
    const c = await readyCampaign(outreach, 'sms', 1);
    await outreach.run(c.id);
    await clock.advance('2h');
    const [m] = await allMessages(outreach, c.id);
    expect(m?.status).toBe('failed');
    expect(m?.context.reason).toBe('pre_send_error');
    expect(sends.get(m?.id as string)).toBe(2);
  });

  it.each([
    ['the lookup throws', async () => Promise.reject(new Error('lookup: connection reset'))],
    ['the lookup cannot decide (several matches)', async () => ({ outcome: 'undecidable', error: '2 matches' })],
    ['the lookup answers nonsense', async () => ({ outcome: 'maybe' }) as unknown as LookupResult],
  ] as [string, Lookup][])('should fail it with timed_out when %s, as without a lookup', async (_name, lookup) => {
    const { sms, sends } = unansweredSms(lookup);
    const { clock, outreach, storage, campaignId } = await setup(sms);
    await clock.advance('10m');
    const [m] = await allMessages(outreach, campaignId);
    expect(m?.status).toBe('failed');
    expect(m?.context.reason).toBe('timed_out');
    expect(sends.get(m?.id as string)).toBe(1);
    await countersMatchRecount(storage, outreach, campaignId);
  });

  it('should time out exactly as before with a transport that has no lookup', async () => {
    const { sms, sends } = unansweredSms();
    const { clock, outreach, campaignId } = await setup(sms);
    await clock.advance('9m');
    expect((await allMessages(outreach, campaignId))[0]?.status).toBe('sending');
    await clock.advance('1m');
    const [m] = await allMessages(outreach, campaignId);
    expect(m?.status).toBe('failed');
    expect(m?.context.reason).toBe('timed_out');
    expect(sends.get(m?.id as string)).toBe(1);
  });

  it('should time out a message the provider still only holds (found, queued) with its SID, and let the late callback correct it', async () => {
    const { sms } = unansweredSms(found('sending'));
    const { clock, outreach, storage, campaignId } = await setup(sms);
    await clock.advance('10m');
    const [m] = await allMessages(outreach, campaignId);
    expect(m?.status).toBe('failed');
    expect(m?.context.reason).toBe('timed_out');
    expect(m?.context.providerMessageId).toBe('SMfound0123456789');
    await outreach.ingest([
      { type: 'status', channel: 'sms', providerMessageId: 'SMfound0123456789', status: 'delivered' },
    ]);
    const [late] = await allMessages(outreach, campaignId);
    expect(late?.status).toBe('delivered');
    await countersMatchRecount(storage, outreach, campaignId);
  });

  it('should let a late callback that arrives after the decision (found, sent) move it on without counting twice', async () => {
    const { sms } = unansweredSms(found('sent'));
    const { clock, outreach, storage, campaignId } = await setup(sms);
    await clock.advance('10m');
    const [m] = await allMessages(outreach, campaignId);
    await outreach.ingest([{ type: 'status', channel: 'sms', messageId: m?.id as string, status: 'sent' }]);
    await outreach.ingest([{ type: 'status', channel: 'sms', messageId: m?.id as string, status: 'delivered' }]);
    const [late] = await allMessages(outreach, campaignId);
    expect(late?.status).toBe('delivered');
    await countersMatchRecount(storage, outreach, campaignId);
  });

  it('should let a callback that arrives while the lookup is asked win: its answer is dropped, nothing resent', async () => {
    let answer: (r: LookupResult) => void = () => {};
    let askedNow: () => void = () => {};
    const asking = new Promise<void>((r) => {
      askedNow = r;
    });
    const { sms, sends } = unansweredSms(
      () =>
        new Promise<LookupResult>((resolve) => {
          answer = resolve;
          askedNow();
        }),
    );
    const { clock, outreach, storage, campaignId, errors } = await setup(sms);
    const [m] = await allMessages(outreach, campaignId);
    const advancing = clock.advance('30m');
    await asking;
    await outreach.ingest([
      { type: 'status', channel: 'sms', messageId: m?.id as string, providerMessageId: 'SMlate', status: 'delivered' },
    ]);
    answer({ outcome: 'absent' }); // wrong by now: the callback proved the provider had it
    await advancing;
    const after = await outreach.getMessage(m?.id as string);
    expect(after.status).toBe('delivered');
    expect(sends.get(after.id)).toBe(1);
    expect(after.log.filter((e) => e.changed).map((e) => e.to)).toEqual(['queued', 'sending', 'delivered']);
    await countersMatchRecount(storage, outreach, campaignId);
    expect(errors).toEqual([]);
  });
});

describe('engine on PGlite: unknown outcomes reconciled with the provider', () => {
  const db = new PGlite();
  // PGlite starts in a hook, so its start-up (seconds on a busy machine) is not the test's time.
  beforeAll(async () => {
    await db.query('select 1');
  });
  afterAll(() => db.close());

  it('should settle found, absent and undecidable sends on PGlite: none sent twice, counters equal a recount', async () => {
    const verdicts: Record<string, LookupResult> = {
      'Hi Kid0, school is closed today.': { outcome: 'found', providerMessageId: 'SMfoundPg', status: 'delivered' },
      'Hi Kid1, school is closed today.': { outcome: 'absent' },
      'Hi Kid2, school is closed today.': { outcome: 'undecidable', error: 'ambiguous' },
    };
    const { sms, sends } = unansweredSms(async (m) => verdicts[m.body] as LookupResult);
    const storage = postgresStorage({ pool: db, schema: 'unknown_outcome_lookup' });
    const { clock, outreach, campaignId, errors } = await setup(sms, storage, 3);
    await clock.advance('10m');
    await clock.advance('5m'); // Kid1's backoff, then its second send
    const retried = (await allMessages(outreach, campaignId)).find((m) => m.to.endsWith('1'));
    expect(retried?.status).toBe('sending');
    await outreach.ingest([{ type: 'status', channel: 'sms', messageId: retried?.id as string, status: 'delivered' }]);
    await outreach.worker.stop();
    const byBody = new Map<string, { status: string; sends: number; sid: string | null }>();
    for (const m of await allMessages(outreach, campaignId)) {
      const kid = Number(m.to.slice(-1));
      byBody.set(`Kid${kid}`, {
        status: m.status,
        sends: sends.get(m.id) ?? 0,
        sid: m.context.providerMessageId,
      });
    }
    expect(Object.fromEntries(byBody)).toEqual({
      Kid0: { status: 'delivered', sends: 1, sid: 'SMfoundPg' },
      Kid1: { status: 'delivered', sends: 2, sid: expect.stringMatching(/^SMretry/) },
      Kid2: { status: 'failed', sends: 1, sid: null },
    });
    await countersMatchRecount(storage, outreach, campaignId);
    expect(errors).toEqual([]);
  });
});

describe('engine: unknown outcomes of a worker that died after the hand-over', () => {
  it('should let another worker settle them with the provider: the one the provider got is adopted, the other sent once', async () => {
    // The provider: what it created, by our message id.
    const created = new Map<string, string>();
    const lookup = async (m: OutgoingSms): Promise<LookupResult> => {
      const sid = created.get(m.messageId);
      return sid ? { outcome: 'found', providerMessageId: sid, status: 'sent' } : { outcome: 'absent' };
    };
    let died = 0;
    let bothHandedOver = () => {};
    const handedOver = new Promise<void>((r) => {
      bothHandedOver = r;
    });
    const dying: SmsTransport = {
      name: 'dying',
      channel: 'sms',
      // The process dies during each send: after the provider created the first one, before the second.
      send: (m) => {
        if (died++ === 0) created.set(m.messageId, `SM${m.messageId}`);
        if (died === 2) bothHandedOver();
        return new Promise<SendResult>(() => {});
      },
      lookup,
    };
    const sends = new Map<string, number>();
    const survivor: SmsTransport = {
      name: 'survivor',
      channel: 'sms',
      async send(m) {
        sends.set(m.messageId, (sends.get(m.messageId) ?? 0) + 1);
        created.set(m.messageId, `SM${m.messageId}`);
        return { outcome: 'accepted', providerMessageId: `SM${m.messageId}` };
      },
      lookup,
    };
    const storage = memoryStorage();
    const deadClock = createFakeClock();
    const dead = createOutreach({ storage, clock: deadClock, transports: { sms: dying } });
    dead.worker.start();
    const c = await readyCampaign(dead, 'sms', 2);
    await dead.run(c.id);
    void deadClock.flush(); // its round never ends: the process never hears back, and is never advanced again
    await handedOver;
    expect((await allMessages(dead, c.id)).map((m) => m.status)).toEqual(['sending', 'sending']);

    const clock = createFakeClock();
    const errors: unknown[] = [];
    const other = createOutreach({ storage, clock, transports: { sms: survivor }, onError: (e) => errors.push(e) });
    other.worker.start();
    await clock.advance('15m');
    const [first, second] = await allMessages(other, c.id);
    expect(first?.status).toBe('sent');
    expect(first?.context.providerMessageId).toBe(`SM${first?.id}`);
    expect(sends.get(first?.id as string)).toBeUndefined();
    expect(second?.status).toBe('sending');
    expect(second?.context.providerMessageId).toBe(`SM${second?.id}`);
    expect(sends.get(second?.id as string)).toBe(1);
    await countersMatchRecount(storage, other, c.id);
    await other.worker.stop();
    expect(errors).toEqual([]);
  });

  it('should ask at most 8 lookups at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const { sms } = unansweredSms(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { outcome: 'undecidable', error: 'no' };
    });
    const { clock, outreach, campaignId } = await setup(sms, memoryStorage(), 30);
    await clock.advance('10m');
    const ms = await allMessages(outreach, campaignId);
    expect(ms.map((m) => m.context.reason)).toEqual(ms.map(() => 'timed_out'));
    expect(most).toBe(8);
  });
});

describe('engine: a worker that dies during a lookup', () => {
  /** An engine on the shared storage whose lookups hang until the test answers them (it "died"). */
  function hungEngine(storage: Storage) {
    const clock = createFakeClock();
    const answers: ((r: LookupResult) => void)[] = [];
    let askedNow = () => {};
    const asked = new Promise<void>((r) => {
      askedNow = r;
    });
    const { sms, sends } = unansweredSms(
      () =>
        new Promise<LookupResult>((resolve) => {
          answers.push(resolve);
          askedNow();
        }),
    );
    const outreach = createOutreach({ storage, clock, transports: { sms } });
    outreach.worker.start();
    return {
      clock,
      outreach,
      sends,
      asked,
      answerAll: (r: LookupResult) => {
        for (const a of answers) a(r);
      },
    };
  }

  it('should let another worker ask again once the lookup lease expires; the dead one’s late answer is dropped', async () => {
    const storage = memoryStorage();
    const a = hungEngine(storage);
    const c = await readyCampaign(a.outreach, 'sms', 1);
    await a.outreach.run(c.id);
    await a.clock.flush();
    const dying = a.clock.advance('10m');
    await a.asked;

    const { sms, asked } = unansweredSms(found('sent'));
    const clock = createFakeClock();
    const b = createOutreach({ storage, clock, transports: { sms } });
    b.worker.start();
    await clock.advance('10m');
    expect(asked).toHaveLength(0); // the lease holds
    await clock.advance('1m');
    expect(asked).toHaveLength(1);
    a.answerAll({ outcome: 'absent' }); // too late: B decided
    await dying;
    const [m] = await allMessages(b, c.id);
    expect(m?.status).toBe('sent');
    expect(m?.context.providerMessageId).toBe('SMfound0123456789');
    expect(a.sends.get(m?.id as string)).toBe(1);
    await countersMatchRecount(storage, b, c.id);
    await b.worker.stop();
  });

  it('should stop asking after two lookups died: the third worker fails it with timed_out', async () => {
    const storage = memoryStorage();
    const a = hungEngine(storage);
    const c = await readyCampaign(a.outreach, 'sms', 1);
    await a.outreach.run(c.id);
    await a.clock.flush();
    const dyingA = a.clock.advance('10m');
    await a.asked;
    const b = hungEngine(storage);
    const dyingB = b.clock.advance('11m');
    await b.asked;

    const { sms, asked } = unansweredSms(found('sent'));
    const clock = createFakeClock();
    const third = createOutreach({ storage, clock, transports: { sms } });
    third.worker.start();
    await clock.advance('12m');
    a.answerAll({ outcome: 'absent' });
    b.answerAll({ outcome: 'absent' });
    await Promise.all([dyingA, dyingB]);
    const [m] = await allMessages(third, c.id);
    expect(asked).toHaveLength(0);
    expect(m?.status).toBe('failed');
    expect(m?.context.reason).toBe('timed_out');
    expect(a.sends.get(m?.id as string)).toBe(1);
    await countersMatchRecount(storage, third, c.id);
    await third.worker.stop();
  });
});
