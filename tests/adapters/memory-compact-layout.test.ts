/**
 * The compact layout of memory storage (columns, interned names, a packed event log) against the
 * object layout it replaced: any sequence of transactions, some of them thrown half way (rolled
 * back), leaves both answering every read the same, in the same order.
 */
import type {
  Channel,
  ContactRecord,
  MessageLogEntry,
  MessageRecord,
  MessageStatus,
  Storage,
  StorageTransaction,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const CAMPAIGNS = ['cmp_a', 'cmp_b'];
const STATES: [string, MessageStatus][] = [
  ['waiting', 'waiting'],
  ['queued', 'queued'],
  ['backoff', 'queued'],
  ['sending', 'sending'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['failed', 'failed'],
];
/** The engine's id shape (packed by the compact layout) for `s`, or a near miss in lower case (kept as text). */
const engineId = (prefix: string, s: string) => `${prefix}_0${s.padStart(25, '0')}`;
/**
 * Ids from a small alphabet, so that inserts arrive out of id order and collide: short ones, and ones
 * of the engine's shape that the compact layout packs into numbers, mixed in one campaign.
 */
const idArb = (prefix: string) =>
  fc.oneof(
    fc.stringMatching(/^[0-9A-F]{1,3}$/).map((s) => `${prefix}_${s}`),
    fc.stringMatching(/^[0-9A-F]{1,3}$/).map((s) => engineId(prefix, s)),
    fc.stringMatching(/^[0-9a-f]{1,3}$/).map((s) => engineId(prefix, s)),
  );
/** A phone number: E.164 (packed by the compact layout) below 8, a national form (kept as text) from 8. */
const phone = (n: number) => (n < 8 ? `+1555000${n}` : `0555000${n}`);

const op = fc.oneof(
  fc.record({
    kind: fc.constant('insertContacts' as const),
    campaign: fc.constantFrom(...CAMPAIGNS),
    ids: fc.uniqueArray(idArb('ctc'), { minLength: 1, maxLength: 5 }),
    address: fc.integer({ min: 0, max: 9 }),
  }),
  fc.record({
    kind: fc.constant('deleteContacts' as const),
    campaign: fc.constantFrom(...CAMPAIGNS),
    ids: fc.option(fc.array(idArb('ctc'), { maxLength: 4 }), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('insertMessages' as const),
    campaign: fc.constantFrom(...CAMPAIGNS),
    ids: fc.uniqueArray(idArb('msg'), { minLength: 1, maxLength: 5 }),
    contact: idArb('ctc'),
    address: fc.integer({ min: 0, max: 9 }),
  }),
  fc.record({
    kind: fc.constant('updateMessages' as const),
    ids: fc.uniqueArray(idArb('msg'), { minLength: 1, maxLength: 4 }),
    state: fc.integer({ min: 0, max: STATES.length - 1 }),
    // Short ones, and Twilio's shape (SM + 32 hex digits), which the compact layout packs.
    pid: fc.option(
      fc.oneof(
        fc.stringMatching(/^SM[0-9]{1,2}$/),
        fc.stringMatching(/^[0-9a-f]{1,2}$/).map((s) => `SM${s.padStart(32, '0')}`),
      ),
      { nil: null },
    ),
    reason: fc.option(fc.constantFrom('timed_out', 'invalid_number'), { nil: null }),
    code: fc.option(fc.constantFrom('30003', '21211'), { nil: null }),
    deferredAt: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
    at: fc.integer({ min: 0, max: 1_000_000 }),
  }),
  fc.record({
    kind: fc.constant('appendLog' as const),
    ids: fc.array(idArb('msg'), { minLength: 1, maxLength: 4 }),
    event: fc.constantFrom('QUEUE', 'DISPATCH', 'PROVIDER_SENT'),
    detail: fc.option(fc.dictionary(fc.constantFrom('code', 'providerStatus'), fc.string({ maxLength: 3 })), {
      nil: undefined,
    }),
    at: fc.integer({ min: 0, max: 1_000_000 }),
  }),
  fc.record({ kind: fc.constant('deleteCampaign' as const), campaign: fc.constantFrom(...CAMPAIGNS) }),
);
const transaction = fc.record({ ops: fc.array(op, { minLength: 1, maxLength: 4 }), fails: fc.boolean() });

const campaign = (id: string) => ({
  id,
  scope: 's',
  channel: 'sms' as const,
  name: id,
  description: '',
  status: 'draft' as const,
  state: {
    value: 'draft',
    context: { channel: 'sms' as const, scheduledAt: null, failureCause: null, hasRun: false, autoPaused: false },
  },
  content: null,
  metadata: {},
  messageCount: 0,
  createdAt: 1,
  updatedAt: 1,
  startedAt: null,
  finishedAt: null,
});

/** Applies one operation; conflicts and not-found errors are part of what both must agree on. */
async function apply(t: StorageTransaction, o: Op): Promise<unknown> {
  switch (o.kind) {
    case 'insertContacts': {
      const rows: ContactRecord[] = o.ids.map((id, i) => ({
        id,
        campaignId: o.campaign,
        address: phone(o.address + i),
        fields: i % 2 ? { first_name: id, last_name: 'x' } : ({ first_name: id } as Record<string, string>),
        createdAt: 7,
      }));
      return t.insertContacts(rows);
    }
    case 'deleteContacts':
      return t.deleteContacts(o.campaign, o.ids);
    case 'insertMessages':
      return t.insertMessages(
        o.ids.map(
          (id): MessageRecord => ({
            id,
            campaignId: o.campaign,
            contactId: o.contact,
            scope: 's',
            channel: 'sms',
            to: phone(o.address),
            status: 'waiting',
            state: 'waiting',
            context: {
              channel: 'sms',
              attempts: 0,
              reason: null,
              code: null,
              providerMessageId: null,
              firstDeferredAt: null,
              deferrals: 0,
              updatedAt: 3,
            },
            createdAt: 3,
            updatedAt: 3,
          }),
        ),
      );
    case 'updateMessages': {
      const current = await t.lockMessages(o.ids);
      const [state, status] = STATES[o.state] as [string, MessageStatus];
      return t.updateMessages(
        current.map((m) => ({
          ...m,
          state,
          status,
          updatedAt: o.at,
          context: {
            ...m.context,
            attempts: m.context.attempts + 1,
            reason: o.reason,
            code: o.code,
            providerMessageId: o.pid,
            firstDeferredAt: o.deferredAt,
            deferrals: m.context.deferrals + 1,
            updatedAt: o.at,
          },
        })),
      );
    }
    case 'appendLog':
      return t.appendLog(
        o.ids.map(
          (messageId): MessageLogEntry => ({
            messageId,
            campaignId: 'cmp_a',
            at: o.at,
            event: o.event,
            from: 'queued',
            to: 'sending',
            changed: o.at % 2 === 0,
            detail: o.detail,
          }),
        ),
      );
    case 'deleteCampaign':
      await t.deleteCampaign(o.campaign);
      return t.insertCampaign(campaign(o.campaign));
  }
}
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** Everything a storage answers about the data the operations can touch, in the order it answers. */
async function dump(s: Storage, messageIds: string[], pids: string[]) {
  return s.transaction(async (t) => {
    const out: Record<string, unknown> = {};
    for (const c of CAMPAIGNS) {
      out[`${c} contacts`] = await t.listContacts(c, { limit: 1000 });
      out[`${c} contacts after`] = await t.listContacts(c, { after: 'ctc_8', limit: 2 });
      out[`${c} count`] = await t.countContacts(c);
      out[`${c} addresses`] = [...(await t.existingAddresses(c, ['+15550000', '+15550003', '05550009', '+15550009']))];
      out[`${c} contacts after engine id`] = await t.listContacts(c, { after: engineId('ctc', '8'), limit: 2 });
      out[`${c} messages`] = await t.listMessages(c, { limit: 1000 });
      out[`${c} sent after`] = await t.listMessages(c, { statuses: ['sent', 'queued'], after: 'msg_8', limit: 3 });
      out[`${c} after engine id`] = await t.listMessages(c, { after: engineId('msg', 'A'), limit: 3 });
      for (const [state] of STATES) out[`${c} ${state}`] = (await t.claimMessages(c, state, 1000)).map((m) => m.id);
    }
    for (const id of messageIds) {
      out[`${id} log`] = await t.listLog(id);
      out[`${id} get`] = (await t.getMessage(id)) ?? null;
    }
    out.byProvider = [...(await t.lockMessagesByProviderId('sms' as Channel, pids)).entries()];
    return JSON.parse(JSON.stringify(out)) as unknown;
  });
}

describe('memoryStorage: the compact layout', () => {
  it('answers every read as the object layout does, after any transactions, rolled back or kept', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(transaction, { minLength: 1, maxLength: 12 }), async (txs) => {
        const compact = memoryStorage();
        const objects = memoryStorage({ compact: false });
        for (const s of [compact, objects])
          await s.transaction(async (t) => {
            for (const c of CAMPAIGNS) await t.insertCampaign(campaign(c));
          });
        const messageIds = new Set<string>();
        const pids = new Set<string>();
        for (const { ops, fails } of txs) {
          for (const o of ops) {
            if ('ids' in o && o.ids && o.kind !== 'insertContacts' && o.kind !== 'deleteContacts')
              for (const id of o.ids) messageIds.add(id);
            if (o.kind === 'updateMessages' && o.pid) pids.add(o.pid);
          }
          const outcomes: unknown[] = [];
          for (const s of [compact, objects]) {
            const results: unknown[] = [];
            try {
              await s.transaction(async (t) => {
                for (const o of ops) results.push(await apply(t, o));
                if (fails) throw new Error('rolled back');
              });
              results.push('committed');
            } catch (error) {
              results.push(`error: ${(error as Error).message}`);
            }
            outcomes.push(results);
          }
          expect(outcomes[0]).toEqual(outcomes[1]);
          expect(await dump(compact, [...messageIds], [...pids])).toEqual(
            await dump(objects, [...messageIds], [...pids]),
          );
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('keeps every live log whole when the rows of a deleted campaign are reclaimed', async () => {
    const s = memoryStorage();
    const entry = (messageId: string, campaignId: string, at: number): MessageLogEntry => ({
      messageId,
      campaignId,
      at,
      event: 'QUEUE',
      from: 'waiting',
      to: 'queued',
      changed: true,
      detail: { n: at },
    });
    const message = (id: string, campaignId: string): MessageRecord => ({
      id,
      campaignId,
      contactId: `ctc_${id}`,
      scope: 's',
      channel: 'sms',
      to: '+15550000',
      status: 'waiting',
      state: 'waiting',
      context: {
        channel: 'sms',
        attempts: 0,
        reason: null,
        code: null,
        providerMessageId: null,
        firstDeferredAt: null,
        deferrals: 0,
        updatedAt: 1,
      },
      createdAt: 1,
      updatedAt: 1,
    });
    const big = Array.from({ length: 700 }, (_, i) => message(`msg_big_${String(i).padStart(4, '0')}`, 'cmp_a'));
    await s.transaction(async (t) => {
      for (const c of CAMPAIGNS) await t.insertCampaign(campaign(c));
      await t.insertMessages([...big, message('msg_live', 'cmp_b')]);
    });
    // Rows interleaved: the live message's entries sit between the doomed campaign's.
    for (let round = 0; round < 100; round++)
      await s.transaction((t) =>
        t.appendLog([
          ...big.map((m) => entry(m.id, 'cmp_a', round)),
          entry('msg_live', 'cmp_b', round),
          entry('msg_orphan', 'cmp_b', round),
        ]),
      );
    // 70,000 dead rows against 200 live ones: the delete's commit compacts the log.
    await s.transaction((t) => t.deleteCampaign('cmp_a'));
    const expected = Array.from({ length: 100 }, (_, round) => round);
    await s.transaction(async (t) => {
      expect((await t.listLog('msg_live')).map((e) => e.detail?.n)).toEqual(expected);
      expect((await t.listLog('msg_orphan')).map((e) => e.at)).toEqual(expected);
      expect(await t.listLog(big[0]?.id as string)).toEqual([]);
      await t.appendLog([entry('msg_live', 'cmp_b', 100)]);
      expect((await t.listLog('msg_live')).length).toBe(101);
    });
  }, 60_000);
});
