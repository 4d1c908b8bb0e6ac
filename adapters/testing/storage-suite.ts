/**
 * The storage conformance suite: every behaviour the engine relies on, runnable against any
 * `Storage` implementation with any test runner that has `describe` and `it`.
 */
import {
  type CampaignRecord,
  type Channel,
  type ContactRecord,
  type DeadlineRecord,
  isOutreachError,
  type MessageRecord,
  type MessageStatus,
  type Storage,
} from 'campaign-lifecycle';

/** The parts of a test runner the suites need (vitest, jest, mocha and node:test all fit). */
export interface SuiteRunner {
  /** Groups tests (vitest's, jest's or mocha's `describe`). */
  describe: (name: string, fn: () => void) => void;
  /** Declares one test. */
  it: (name: string, fn: () => Promise<void> | void, timeout?: number) => void;
  /** Runs after each test (used to close storages). */
  afterEach?: ((fn: () => Promise<void> | void) => void) | undefined;
}

/** How to make (and clean up) the storage under test; each test gets a fresh one. */
export interface StorageSuiteOptions {
  /** Shown in test names. */
  name: string;
  /** Makes a fresh, empty storage for one test. */
  create: () => Storage | Promise<Storage>;
  /** Called after each test with the storage it made. @defaultValue storage.close() */
  destroy?: (storage: Storage) => Promise<void> | void;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`storage conformance: ${message}`);
}

function same(actual: unknown, expected: unknown, message: string) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`storage conformance: ${message}\n  expected ${e}\n  actual   ${a}`);
}

async function rejects(p: Promise<unknown>, code: string, message: string) {
  try {
    await p;
  } catch (error) {
    check(
      isOutreachError(error) && error.code === code,
      `${message}: expected OutreachError ${code}, got ${String(error)}`,
    );
    return;
  }
  throw new Error(`storage conformance: ${message}: expected a rejection with ${code}`);
}

let serial = 0;
const uid = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(serial++).toString(36).padStart(6, '0')}`;

/** A campaign record fit for storage tests. */
export function sampleCampaign(overrides: Partial<CampaignRecord> = {}): CampaignRecord {
  return {
    id: uid('cmp'),
    scope: 'school-1',
    channel: 'sms',
    name: 'Snow day',
    description: '',
    status: 'draft',
    state: {
      value: 'draft',
      context: { channel: 'sms', scheduledAt: null, failureCause: null, hasRun: false, autoPaused: false },
    },
    content: { body: 'Hello {{first_name}}' },
    metadata: {},
    messageCount: 0,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

/** A contact record fit for storage tests. */
export function sampleContact(
  campaignId: string,
  address: string,
  overrides: Partial<ContactRecord> = {},
): ContactRecord {
  return {
    id: uid('ctc'),
    campaignId,
    address,
    fields: { first_name: 'Ada' },
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}

/** A message record fit for storage tests. */
export function sampleMessage(
  campaignId: string,
  overrides: Partial<MessageRecord> & { status?: MessageStatus; state?: string } = {},
): MessageRecord {
  const channel: Channel = overrides.channel ?? 'sms';
  return {
    id: uid('msg'),
    campaignId,
    contactId: uid('ctc'),
    scope: 'school-1',
    channel,
    to: '+14155550100',
    status: 'queued',
    state: 'queued',
    context: {
      channel,
      attempts: 0,
      reason: null,
      code: null,
      providerMessageId: null,
      firstDeferredAt: null,
      deferrals: 0,
      updatedAt: 1_700_000_000_000,
    },
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

const deadline = (campaignId: string, entityId: string, name: string, fireAt: number): DeadlineRecord => ({
  id: `${entityId}|${name}`,
  kind: 'message',
  entityId,
  campaignId,
  fireAt,
  event: { type: `xstate.after.${name}` },
});

/**
 * Registers the storage conformance tests.
 * @example
 * import { describe, it } from 'vitest';
 * import { storageConformanceSuite } from 'campaign-lifecycle/testing';
 * storageConformanceSuite({ describe, it }, { name: 'my storage', create: () => myStorage() });
 */
export function storageConformanceSuite(runner: SuiteRunner, options: StorageSuiteOptions): void {
  const { describe, it } = runner;
  const made: Storage[] = [];
  const fresh = async () => {
    const s = await options.create();
    made.push(s);
    return s;
  };
  runner.afterEach?.(async () => {
    for (const s of made.splice(0)) await (options.destroy ? options.destroy(s) : s.close?.());
  });

  describe(`storage conformance: ${options.name}`, () => {
    it('should insert, read, update and list campaigns by scope, channel, status and id page', async () => {
      const s = await fresh();
      const a = sampleCampaign({ scope: 'A' });
      const b = sampleCampaign({ scope: 'A', channel: 'email', status: 'ready' });
      const c = sampleCampaign({ scope: 'B' });
      await s.transaction(async (t) => {
        await t.insertCampaign(a);
        await t.insertCampaign(b);
        await t.insertCampaign(c);
      });
      await s.transaction(async (t) => {
        same((await t.getCampaign(a.id))?.name, 'Snow day', 'getCampaign returns the record');
        check((await t.getCampaign('cmp_missing')) === undefined, 'a missing campaign is undefined');
        await t.updateCampaign({ ...a, name: 'Renamed', status: 'ready' });
        same((await t.getCampaign(a.id))?.name, 'Renamed', 'updateCampaign replaces the record');
        same(
          (await t.listCampaigns({ scope: 'A' })).map((x) => x.id),
          [a.id, b.id],
          'list by scope, ordered by id',
        );
        same(
          (await t.listCampaigns({ channel: 'email' })).map((x) => x.id),
          [b.id],
          'list by channel',
        );
        same(
          (await t.listCampaigns({ statuses: ['ready'], scope: 'A' })).map((x) => x.id),
          [a.id, b.id],
          'list by status',
        );
        same(
          (await t.listCampaigns({ after: a.id, limit: 1 })).map((x) => x.id),
          [b.id],
          'page after an id',
        );
      });
      await rejects(
        s.transaction((t) => t.insertCampaign(a)),
        'CONFLICT',
        'a duplicate campaign id',
      );
    });

    it('should keep none of the writes of a transaction that throws', async () => {
      const s = await fresh();
      const a = sampleCampaign();
      const m = sampleMessage(a.id);
      await s.transaction(async (t) => {
        await t.insertCampaign(a);
        await t.insertMessages([m]);
      });
      const boom = new Error('boom');
      let caught: unknown;
      try {
        await s.transaction(async (t) => {
          await t.updateCampaign({ ...a, name: 'changed' });
          await t.addCounters([{ campaignId: a.id, counts: { queued: 5 } }]);
          await t.updateMessages([{ ...m, status: 'sending', state: 'sending' }]);
          await t.upsertDeadlines([deadline(a.id, m.id, 'x', 10)]);
          await t.addSuppressions([{ scope: 's', channel: 'sms', address: '+1', source: 't', at: 1 }]);
          await t.markSeen(['k1']);
          await t.claimChannel('s', 'sms', a.id);
          await t.appendLog([
            { messageId: m.id, campaignId: a.id, at: 1, event: 'E', from: 'queued', to: 'sending', changed: true },
          ]);
          throw boom;
        });
      } catch (error) {
        caught = error;
      }
      check(caught === boom, 'the error is rethrown after rollback');
      await s.transaction(async (t) => {
        same((await t.getCampaign(a.id))?.name, 'Snow day', 'campaign update rolled back');
        same((await t.getCounters(a.id)).counts.queued, 0, 'counters rolled back');
        same((await t.getMessage(m.id))?.state, 'queued', 'message update rolled back');
        same(
          (await t.claimMessages(a.id, 'queued', 10)).map((x) => x.id),
          [m.id],
          'state index rolled back',
        );
        same(await t.nextDeadlineAt(), undefined, 'deadline rolled back');
        same([...(await t.suppressedAmong('s', 'sms', ['+1']))], [], 'suppression rolled back');
        same(await t.markSeen(['k1']), [true], 'seen keys rolled back');
        same(await t.channelHolder('s', 'sms'), undefined, 'channel claim rolled back');
        same((await t.listLog(m.id)).length, 0, 'log rolled back');
      });
    });

    it('should add counters and read them back, zero when none', async () => {
      const s = await fresh();
      await s.transaction(async (t) => {
        same((await t.getCounters('cmp_x')).counts.delivered, 0, 'zero by default');
        await t.addCounters([{ campaignId: 'cmp_x', counts: { waiting: 3 } }]);
        await t.addCounters([{ campaignId: 'cmp_x', counts: { waiting: -1, queued: 1 }, opens: 2, clicks: 1 }]);
        const c = await t.getCounters('cmp_x');
        same([c.counts.waiting, c.counts.queued, c.opens, c.clicks], [2, 1, 2, 1], 'deltas add up');
      });
    });

    it('should count reads beside opens and clicks: zero by default, deltas add up, a rolled-back delta leaves none', async () => {
      const s = await fresh();
      await s.transaction(async (t) => {
        same((await t.getCounters('cmp_r')).reads ?? 0, 0, 'zero reads by default');
        await t.addCounters([{ campaignId: 'cmp_r', reads: 2 }]);
        await t.addCounters([
          { campaignId: 'cmp_r', reads: 1, opens: 1 },
          { campaignId: 'cmp_q', reads: 4 },
        ]);
      });
      await s
        .transaction(async (t) => {
          await t.addCounters([{ campaignId: 'cmp_r', reads: 10 }]);
          throw new Error('roll back');
        })
        .catch(() => {});
      await s.transaction(async (t) => {
        const r = await t.getCounters('cmp_r');
        same([r.reads, r.opens, r.clicks], [3, 1, 0], 'reads add up, apart from opens and clicks');
        same((await t.getCounters('cmp_q')).reads, 4, 'per campaign');
      });
    });

    it('should let exactly one campaign hold a channel of a scope', async () => {
      const s = await fresh();
      await s.transaction(async (t) => {
        same(await t.claimChannel('school', 'sms', 'c1'), 'c1', 'first claim wins');
        same(await t.claimChannel('school', 'sms', 'c2'), 'c1', 'second claim sees the holder');
        same(await t.claimChannel('school', 'sms', 'c1'), 'c1', 'claiming again is idempotent');
        same(await t.claimChannel('school', 'email', 'c3'), 'c3', 'the other channel is free');
        same(await t.claimChannel('other', 'sms', 'c4'), 'c4', 'another scope is free');
        await t.releaseChannel('school', 'sms', 'c2');
        same(await t.channelHolder('school', 'sms'), 'c1', 'a non-holder cannot release');
        await t.releaseChannel('school', 'sms', 'c1');
        same(await t.channelHolder('school', 'sms'), undefined, 'the holder releases');
      });
      const results = await Promise.all(
        ['r1', 'r2', 'r3', 'r4'].map((id) => s.transaction((t) => t.claimChannel('race', 'sms', id))),
      );
      same(new Set(results).size, 1, 'concurrent claims agree on one holder');
    });

    it('should store contacts, page them by id and find known addresses', async () => {
      const s = await fresh();
      const cid = uid('cmp');
      const rows = ['+14155550101', '+14155550102', '+14155550103'].map((a) => sampleContact(cid, a));
      await s.transaction((t) => t.insertContacts(rows));
      await s.transaction(async (t) => {
        same(
          (await t.listContacts(cid, { limit: 2 })).map((c) => c.id),
          rows.slice(0, 2).map((c) => c.id),
          'first page',
        );
        same(
          (await t.listContacts(cid, { after: rows[1]?.id, limit: 2 })).map((c) => c.id),
          [rows[2]?.id],
          'next page',
        );
        same(await t.countContacts(cid), 3, 'count');
        same(
          [...(await t.existingAddresses(cid, ['+14155550102', '+14155550199']))],
          ['+14155550102'],
          'existing addresses',
        );
        same(
          [...(await t.getContacts([rows[0]?.id as string, 'ctc_missing'])).keys()],
          [rows[0]?.id],
          'getContacts skips missing',
        );
        same(
          await t.deleteContacts(cid, [rows[0]?.id as string, rows[0]?.id as string]),
          1,
          'delete one (named twice, counted once)',
        );
        same(await t.countContacts(cid), 2, 'count after delete');
      });
      await rejects(
        s.transaction((t) => t.insertContacts([rows[1] as ContactRecord])),
        'CONFLICT',
        'a duplicate contact id',
      );
    });

    it('should still know an address after rolling back another contact with the same address', async () => {
      const s = await fresh();
      const c = sampleCampaign();
      await s.transaction(async (t) => {
        await t.insertCampaign(c);
        await t.insertContacts([sampleContact(c.id, '+14155550111')]);
      });
      await s
        .transaction(async (t) => {
          await t.insertContacts([sampleContact(c.id, '+14155550111')]);
          throw new Error('rolled back');
        })
        .catch(() => undefined);
      await s.transaction(async (t) =>
        same([...(await t.existingAddresses(c.id, ['+14155550111']))], ['+14155550111'], 'address still known'),
      );
    });

    it('should claim messages by machine state, oldest first, and move them between states', async () => {
      const s = await fresh();
      const cid = uid('cmp');
      const ms = [0, 1, 2, 3].map(() => sampleMessage(cid));
      await s.transaction((t) => t.insertMessages(ms));
      await s.transaction(async (t) => {
        const first = await t.claimMessages(cid, 'queued', 2);
        same(
          first.map((m) => m.id),
          ms.slice(0, 2).map((m) => m.id),
          'oldest first, up to the limit',
        );
        await t.updateMessages(first.map((m) => ({ ...m, status: 'sending' as const, state: 'sending' })));
      });
      await s.transaction(async (t) => {
        same(
          (await t.claimMessages(cid, 'queued', 10)).map((m) => m.id),
          ms.slice(2).map((m) => m.id),
          'moved messages leave the state',
        );
        same((await t.claimMessages(cid, 'sending', 10)).length, 2, 'and join the new one');
        same((await t.listMessages(cid, { statuses: ['sending'], limit: 10 })).length, 2, 'list by status');
        same(
          (await t.listMessages(cid, { after: ms[0]?.id, limit: 2 })).map((m) => m.id),
          ms.slice(1, 3).map((m) => m.id),
          'page by id',
        );
      });
    });

    it('should claim only messages after the id given as `after` (the keyset claim)', async () => {
      const s = await fresh();
      const cid = uid('cmp');
      const ms = [0, 1, 2, 3, 4].map(() => sampleMessage(cid));
      await s.transaction((t) => t.insertMessages(ms));
      await s.transaction(async (t) => {
        same(
          (await t.claimMessages(cid, 'queued', 2, ms[1]?.id)).map((m) => m.id),
          ms.slice(2, 4).map((m) => m.id),
          'after the given id, oldest first, up to the limit',
        );
        same((await t.claimMessages(cid, 'queued', 10, ms[4]?.id)).length, 0, 'nothing after the last');
      });
      // A message that leaves the state and comes back keeps its id: a claim after a later id skips it,
      // a claim from the beginning finds it.
      await s.transaction(async (t) => {
        const [first] = await t.claimMessages(cid, 'queued', 1);
        if (!first) throw new Error('no message claimed');
        await t.updateMessages([{ ...first, status: 'sending', state: 'sending' }]);
        await t.updateMessages([{ ...first, status: 'queued', state: 'queued' }]);
      });
      await s.transaction(async (t) => {
        same(
          (await t.claimMessages(cid, 'queued', 10, ms[2]?.id)).map((m) => m.id),
          ms.slice(3).map((m) => m.id),
          'after skips the lower ids',
        );
        same(
          (await t.claimMessages(cid, 'queued', 10)).map((m) => m.id).sort(),
          ms.map((m) => m.id).sort(),
          'without after, every message in the state',
        );
      });
    });

    it('should never hand the same message to two transactions claiming at once', async () => {
      const s = await fresh();
      const cid = uid('cmp');
      await s.transaction((t) => t.insertMessages(Array.from({ length: 40 }, () => sampleMessage(cid))));
      const claimOnce = () =>
        s.transaction(async (t) => {
          const got = await t.claimMessages(cid, 'queued', 10);
          await t.updateMessages(got.map((m) => ({ ...m, status: 'sending' as const, state: 'sending' })));
          return got.map((m) => m.id);
        });
      const claims = (await Promise.all([claimOnce(), claimOnce(), claimOnce(), claimOnce()])).flat();
      same(claims.length, new Set(claims).size, 'no message claimed twice');
      same(claims.length, 40, 'every message claimed once');
    });

    it('should find messages by provider id once it is set', async () => {
      const s = await fresh();
      const cid = uid('cmp');
      const m = sampleMessage(cid);
      await s.transaction((t) => t.insertMessages([m]));
      await s.transaction(async (t) => {
        same((await t.lockMessagesByProviderId('sms', ['SM1'])).size, 0, 'unknown before');
        await t.updateMessages([{ ...m, context: { ...m.context, providerMessageId: 'SM1' } }]);
      });
      await s.transaction(async (t) => {
        same((await t.lockMessagesByProviderId('sms', ['SM1'])).get('SM1')?.id, m.id, 'found by provider id');
        same((await t.lockMessagesByProviderId('email', ['SM1'])).size, 0, 'per channel');
        same(
          (await t.lockMessages([m.id, 'msg_missing'])).map((x) => x.id),
          [m.id],
          'lockMessages skips missing',
        );
      });
      await rejects(
        s.transaction((t) => t.insertMessages([m])),
        'CONFLICT',
        'a duplicate message id',
      );
    });

    it('should keep every field of a message context, the time a held message is due included', async () => {
      const s = await fresh();
      const cid = uid('cmp');
      const m = sampleMessage(cid);
      const held = { ...m, state: 'outside_window', context: { ...m.context, dueAt: 1_767_618_000_000 } };
      await s.transaction((t) => t.insertMessages([held]));
      same((await s.transaction((t) => t.getMessage(m.id)))?.context.dueAt, 1_767_618_000_000, 'dueAt kept');
      await s.transaction((t) =>
        t.updateMessages([{ ...held, state: 'queued', context: { ...held.context, dueAt: null } }]),
      );
      same((await s.transaction((t) => t.getMessage(m.id)))?.context.dueAt ?? null, null, 'dueAt cleared');
    });

    it('should append to the message log in order', async () => {
      const s = await fresh();
      const entries = ['QUEUE', 'DISPATCH', 'SEND_ACCEPTED'].map((event, i) => ({
        messageId: 'msg_1',
        campaignId: 'cmp_1',
        at: i,
        event,
        from: 'waiting' as const,
        to: 'queued' as const,
        changed: true,
      }));
      await s.transaction((t) => t.appendLog(entries.slice(0, 2)));
      await s.transaction((t) => t.appendLog(entries.slice(2)));
      await s.transaction(async (t) =>
        same(
          (await t.listLog('msg_1')).map((e) => e.event),
          ['QUEUE', 'DISPATCH', 'SEND_ACCEPTED'],
          'log order',
        ),
      );
    });

    it('should upsert deadlines by id and take the due ones earliest first', async () => {
      const s = await fresh();
      await s.transaction((t) =>
        t.upsertDeadlines([
          deadline('c', 'm1', 'a', 300),
          deadline('c', 'm2', 'a', 100),
          deadline('c', 'm3', 'a', 200),
          deadline('c', 'm4', 'a', 900),
        ]),
      );
      await s.transaction(async (t) => {
        await t.upsertDeadlines([deadline('c', 'm1', 'a', 50)]); // re-armed earlier
        await t.deleteDeadlines(['m3|a', 'nope|a']);
        same(await t.nextDeadlineAt(), 50, 'next deadline');
      });
      const due = await s.transaction((t) => t.takeDueDeadlines(300, 10));
      same(
        due.map((d) => d.id),
        ['m1|a', 'm2|a'],
        'due ones, earliest first; replaced and deleted ones gone',
      );
      same(due[0]?.fireAt, 50, 'the replaced fire time');
      await s.transaction(async (t) => {
        same((await t.takeDueDeadlines(300, 10)).length, 0, 'taken deadlines are gone');
        same(await t.nextDeadlineAt(), 900, 'the later one remains');
        same((await t.takeDueDeadlines(1000, 0)).length, 0, 'limit 0 takes none');
      });
    });

    it('should take named deadlines once: a claim lease goes to its claimant or to its expiry, never both', async () => {
      const s = await fresh();
      await s.transaction((t) =>
        t.upsertDeadlines([deadline('c', 'm1', 'lease', 100), deadline('c', 'm2', 'lease', 100)]),
      );
      // A take that rolls back keeps them.
      await s
        .transaction(async (t) => {
          same((await t.takeDeadlines(['m1|lease'])).length, 1, 'taken inside the transaction');
          throw new Error('roll back');
        })
        .catch(() => {});
      const took = await s.transaction((t) => t.takeDeadlines(['m1|lease', 'nope|lease', 'm1|lease']));
      same(took, ['m1|lease'], 'only the ids that exist, once each');
      await s.transaction(async (t) => {
        same(await t.takeDeadlines(['m1|lease']), [], 'a taken deadline is gone');
        same(await t.takeDeadlines([]), [], 'no ids, nothing taken');
      });
      // Claimants and the expiry race for the same leases: each goes to exactly one of them.
      const ids = Array.from({ length: 30 }, (_, i) => `r${i}|lease`);
      await s.transaction((t) =>
        t.upsertDeadlines(ids.map((id) => deadline('c', id.split('|')[0] as string, 'lease', 10))),
      );
      const [a, b, due] = await Promise.all([
        s.transaction((t) => t.takeDeadlines(ids.slice(0, 20))),
        s.transaction((t) => t.takeDeadlines(ids.slice(10))),
        s.transaction(async (t) => (await t.takeDueDeadlines(1000, 100)).map((d) => d.id)),
      ]);
      const all = [...a, ...b, ...due].filter((id) => id.startsWith('r'));
      same(all.length, new Set(all).size, 'no lease taken twice');
      same(new Set(all).size, ids.length, 'every lease taken once');
    });

    it('should keep suppression lists per scope and channel', async () => {
      const s = await fresh();
      await s.transaction(async (t) => {
        await t.addSuppressions([
          { scope: 'A', channel: 'sms', address: '+1', source: 'STOP', at: 1 },
          { scope: 'A', channel: 'sms', address: '+1', source: 'again', at: 2 },
        ]);
        same([...(await t.suppressedAmong('A', 'sms', ['+1', '+2']))], ['+1'], 'suppressed');
        same([...(await t.suppressedAmong('B', 'sms', ['+1']))], [], 'other scope');
        same([...(await t.suppressedAmong('A', 'email', ['+1']))], [], 'other channel');
        same(await t.removeSuppression('A', 'sms', '+1'), true, 'removed');
        same(await t.removeSuppression('A', 'sms', '+1'), false, 'already gone');
      });
    });

    it('should append to the opt-out record in order, list it by channel, address and scope in id pages, keep it after deleteCampaign and drop it on rollback', async () => {
      const s = await fresh();
      const c = sampleCampaign();
      await s.transaction((t) => t.insertCampaign(c));
      const entry = (
        scope: string,
        channel: 'sms' | 'email',
        address: string,
        change: 'opt_out' | 'opt_in',
        at: number,
      ) => ({
        at,
        scope,
        channel,
        address,
        change,
        source: 'manual',
      });
      await s.transaction((t) =>
        t.appendOptOutLog([
          {
            ...entry('A', 'sms', '+1', 'opt_out', 1),
            source: 'inbound',
            text: 'STOP',
            campaignId: c.id,
            messageId: 'm1',
          },
          entry('A', 'email', 'a@x.io', 'opt_out', 2),
        ]),
      );
      await s.transaction((t) =>
        t.appendOptOutLog([entry('B', 'sms', '+1', 'opt_out', 3), entry('A', 'sms', '+1', 'opt_in', 4)]),
      );
      const boom = new Error('boom');
      let caught: unknown;
      try {
        await s.transaction(async (t) => {
          await t.appendOptOutLog([entry('A', 'sms', '+9', 'opt_out', 5)]);
          throw boom;
        });
      } catch (error) {
        caught = error;
      }
      check(caught === boom, 'the rolled-back append rethrows');
      await s.transaction((t) => t.deleteCampaign(c.id));
      await s.transaction(async (t) => {
        const all = await t.listOptOutLog({ limit: 10 });
        same(
          all.map((r) => [r.scope, r.channel, r.address, r.change, r.at]),
          [
            ['A', 'sms', '+1', 'opt_out', 1],
            ['A', 'email', 'a@x.io', 'opt_out', 2],
            ['B', 'sms', '+1', 'opt_out', 3],
            ['A', 'sms', '+1', 'opt_in', 4],
          ],
          'every entry in order, the rolled-back one absent, none deleted with the campaign',
        );
        const first = all[0] as (typeof all)[number];
        same(
          [first.source, first.text, first.campaignId, first.messageId],
          ['inbound', 'STOP', c.id, 'm1'],
          'optional fields kept',
        );
        same((all[1] as (typeof all)[number]).text, undefined, 'absent text stays absent');
        same(
          all.every((r, i) => i === 0 || r.id > (all[i - 1] as (typeof all)[number]).id),
          true,
          'ids ascend',
        );
        same(
          (await t.listOptOutLog({ channel: 'email', limit: 10 })).map((r) => r.address),
          ['a@x.io'],
          'by channel',
        );
        same(
          (await t.listOptOutLog({ address: '+1', scope: 'A', limit: 10 })).map((r) => r.change),
          ['opt_out', 'opt_in'],
          'by address and scope',
        );
        const page1 = await t.listOptOutLog({ channel: 'sms', limit: 2 });
        same(
          page1.map((r) => r.at),
          [1, 3],
          'first page',
        );
        const page2 = await t.listOptOutLog({
          channel: 'sms',
          limit: 2,
          after: (page1[1] as (typeof page1)[number]).id,
        });
        same(
          page2.map((r) => r.at),
          [4],
          'next page',
        );
      });
    });

    it('should tell new provider-event keys from repeated ones', async () => {
      const s = await fresh();
      same(await s.transaction((t) => t.markSeen(['a', 'b'])), [true, true], 'new keys');
      same(
        await s.transaction((t) => t.markSeen(['b', 'c', 'c'])),
        [false, true, false],
        'repeats, also within one call',
      );
    });

    it('should delete the event keys of a campaign with it, and keep keys of no campaign', async () => {
      const s = await fresh();
      const c = sampleCampaign();
      await s.transaction((t) => t.insertCampaign(c));
      same(
        await s.transaction((t) => t.markSeen([{ key: 'a', campaignId: c.id }, 'b', { key: 'c', campaignId: null }])),
        [true, true, true],
        'new keys of a campaign and of none',
      );
      await s.transaction((t) => t.deleteCampaign(c.id));
      same(
        await s.transaction((t) => t.markSeen(['a', 'b', 'c'])),
        [true, false, false],
        "the campaign's key went with it",
      );
    });

    it('should delete a campaign with everything it owns', async () => {
      const s = await fresh();
      const c = sampleCampaign();
      const m = sampleMessage(c.id);
      await s.transaction(async (t) => {
        await t.insertCampaign(c);
        await t.insertContacts([sampleContact(c.id, '+14155550101')]);
        await t.insertMessages([m]);
        await t.addCounters([{ campaignId: c.id, counts: { queued: 1 } }]);
        await t.upsertDeadlines([deadline(c.id, m.id, 'a', 10)]);
      });
      await s.transaction((t) => t.deleteCampaign(c.id));
      await s.transaction(async (t) => {
        same(await t.getCampaign(c.id), undefined, 'campaign gone');
        same(await t.getMessage(m.id), undefined, 'messages gone');
        same(await t.countContacts(c.id), 0, 'contacts gone');
        same((await t.getCounters(c.id)).counts.queued, 0, 'counters gone');
        same(await t.nextDeadlineAt(), undefined, 'deadlines gone');
      });
    });
  });
}
