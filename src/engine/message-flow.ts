/**
 * The message flow: batches of message events stepped through the machines of each campaign's policy,
 * their counter moves fed to the campaigns (at once under the campaign lock, or deferred to one
 * derivation at a time), and the campaign work built on it (stepping a campaign's messages in bulk,
 * starting a campaign).
 */
import type { MessageStepper } from '../machines/message-step.js';
import { storePolicy } from '../policy.js';
import type { StorageTransaction } from '../ports/storage.js';
import type { CampaignRecord, MessageRecord } from '../records.js';
import type { Channel } from '../statuses.js';
import {
  type CampaignMoves,
  deadlineKey,
  type EngineContext,
  lastId,
  type MessageFlow,
  startKey,
  type TxEffects,
} from './context.js';
import { applyMessageChanges, type BatchOutcome, type MessageChange } from './message-batch.js';

/** What a batch of no changes did. */
const nothingChanged = (): BatchOutcome => ({
  messages: [],
  changed: 0,
  changedFlags: [],
  earliestTimer: undefined,
  counters: [],
  statusEvents: [],
});

/** How long a failed deferred derivation waits before it is tried again. */
const PROGRESS_RETRY_MS = 200;

/** Builds the message flow over the context and the campaign moves. */
export function createMessageFlow(ctx: EngineContext, moves: CampaignMoves): MessageFlow {
  const { clock, batchSize, listeners, onError, policy, steppers, steppersOf, tx } = ctx;
  const { moveCampaign, progressCampaigns, progressWouldMove, progressEvent } = moves;
  // Steppers per campaign whose policy is fixed (it never changes once the campaign runs).
  const campaignSteppers = new Map<string, Readonly<Record<Channel, MessageStepper>>>();

  /** The steppers of each campaign of the changes (read once per campaign and process). */
  const steppersByCampaign = async (t: StorageTransaction, changes: readonly MessageChange[]) => {
    const byCampaign = new Map<string, Readonly<Record<Channel, MessageStepper>>>();
    for (const change of changes) {
      const id = change.message.campaignId;
      if (byCampaign.has(id)) continue;
      let s = campaignSteppers.get(id);
      if (!s) {
        const c = await t.getCampaign(id);
        s = c ? steppersOf(c) : steppers;
        if (c?.policy) {
          if (campaignSteppers.size > 10_000) campaignSteppers.clear();
          campaignSteppers.set(id, s);
        }
      }
      byCampaign.set(id, s);
    }
    return byCampaign;
  };

  const applyChanges: MessageFlow['applyChanges'] = async (t, fx, changes, deferProgress = false) => {
    if (changes.length === 0) return nothingChanged();
    const byCampaign = await steppersByCampaign(t, changes);
    const stepperFor = (m: MessageRecord) => (byCampaign.get(m.campaignId) ?? steppers)[m.channel];
    const r = await applyMessageChanges(t, stepperFor, changes, listeners.size > 0);
    for (const e of r.statusEvents) fx.events.push(e);
    if (r.counters.length > 0 && deferProgress) {
      await t.addCounters(r.counters);
    } else if (r.counters.length > 0) {
      // One lock order everywhere: message rows, then campaign rows (sorted), then counters. The campaign
      // lock serialises the derivation of its status; taking it last keeps it held only briefly.
      const locked: CampaignRecord[] = [];
      for (const id of r.counters.map((d) => d.campaignId).sort()) {
        const c = await t.getCampaign(id, { forUpdate: true });
        if (c) locked.push(c);
      }
      await t.addCounters(r.counters);
      await progressCampaigns(t, fx, locked);
    }
    return r;
  };

  // Deferred progress: campaigns whose counters moved, derived together in one transaction at a time.
  let dirty = new Set<string>();
  let waiting: (() => void)[] = [];
  let progressing = false;

  /** Derives the dirty campaigns; the status of most stays as it is, and reading that needs no lock. */
  const deriveDirty = (ids: readonly string[]) =>
    tx(async (t, fx) => {
      // The counters read here include every commit this derivation was started after.
      const stale: string[] = [];
      for (const id of ids) {
        const c = await t.getCampaign(id);
        if (!c) continue;
        const counters = await t.getCounters(id);
        if (progressWouldMove(c, counters)) stale.push(id);
        else if (listeners.size) fx.events.push(progressEvent(c, counters.counts, clock.now()));
      }
      // The others under their row lock, which serialises the derivation of a campaign's status.
      const locked: CampaignRecord[] = [];
      for (const id of stale) {
        const c = await t.getCampaign(id, { forUpdate: true });
        if (c) locked.push(c);
      }
      await progressCampaigns(t, fx, locked);
    });

  const runProgress = () => {
    if (progressing || waiting.length === 0) return;
    progressing = true;
    const ids = [...dirty].sort();
    const done = waiting;
    dirty = new Set();
    waiting = [];
    deriveDirty(ids)
      .catch((error: unknown) => {
        // The counters are committed; the derivation is tried again (and the worker re-derives idle campaigns).
        onError(error);
        for (const id of ids) dirty.add(id);
        return new Promise<void>((resolve) => setTimeout(resolve, PROGRESS_RETRY_MS));
      })
      .finally(() => {
        progressing = false;
        for (const d of done) d();
        if (dirty.size > 0 && waiting.length === 0) waiting.push(() => {});
        runProgress();
      });
  };

  const progressAfter = (campaignIds: Iterable<string>): Promise<void> => {
    let any = false;
    for (const id of campaignIds) {
      dirty.add(id);
      any = true;
    }
    if (!any) return Promise.resolve();
    return new Promise<void>((resolve) => {
      waiting.push(resolve);
      runProgress();
    });
  };

  /**
   * Claims the messages of a campaign in a state, `batchSize` at a time, and applies `step` to each
   * batch. Each claim starts after the greatest id of the one before (a keyset claim: linear, where
   * claiming from the beginning each time stepped over every message already moved). A pass ends at an
   * empty claim; another pass from the beginning follows, for any message the first did not reach (a
   * storage that returns another order than by id), until a pass changes nothing.
   */
  const eachBatchIn = async (
    t: StorageTransaction,
    campaignId: string,
    state: string,
    step: (batch: MessageRecord[]) => Promise<number>,
  ) => {
    for (;;) {
      let changed = 0;
      let after: string | undefined;
      for (;;) {
        const batch = await t.claimMessages(campaignId, state, batchSize, after);
        if (batch.length === 0) break;
        changed += await step(batch);
        after = lastId(batch);
      }
      if (changed === 0) return;
    }
  };

  const forEachMessageIn: MessageFlow['forEachMessageIn'] = async (t, fx, campaignId, states, makeEvent) => {
    for (const state of states) {
      await eachBatchIn(t, campaignId, state, async (batch) => {
        const at = clock.now();
        const changes: MessageChange[] = [];
        for (const m of batch) {
          const event = makeEvent(m, at);
          if (event) changes.push({ message: m, event });
        }
        return (await applyChanges(t, fx, changes)).changed;
      });
    }
  };

  /** Puts every waiting message of a campaign in the queue (suppressed contacts opt out instead). */
  const queueWaiting = (t: StorageTransaction, fx: TxEffects, c: CampaignRecord) =>
    eachBatchIn(t, c.id, 'waiting', async (batch) => {
      const suppressed = await t.suppressedAmong(
        c.scope,
        c.channel,
        batch.map((m) => m.to),
      );
      const at = clock.now();
      const r = await applyChanges(
        t,
        fx,
        batch.map((m) => ({
          message: m,
          event: suppressed.has(m.to) ? { type: 'OPT_OUT', at, source: 'suppression_list' } : { type: 'QUEUE', at },
        })),
      );
      return r.changed;
    });

  const cancelQueuedIfStopped: MessageFlow['cancelQueuedIfStopped'] = async (t, fx, ids, at) => {
    if (ids.length === 0) return;
    const locked = await t.lockMessages(ids);
    const stopped = new Set<string>();
    for (const cid of new Set(locked.map((m) => m.campaignId)))
      if ((await t.getCampaign(cid))?.status === 'stopped') stopped.add(cid);
    await applyChanges(
      t,
      fx,
      locked
        .filter((m) => m.state === 'queued' && stopped.has(m.campaignId))
        .map((m) => ({ message: m, event: { type: 'CANCEL', at } })),
    );
  };

  const startCampaign: MessageFlow['startCampaign'] = async (t, fx, c) => {
    await t.deleteDeadlines([startKey(c.id)]);
    // The policy is fixed now, with the campaign: every process applies it to these messages.
    const fixed: CampaignRecord = c.policy ? c : { ...c, policy: storePolicy(policy) };
    const moved = await moveCampaign(t, fx, { campaign: fixed, event: { type: 'RUN' }, action: 'run' });
    if (typeof c.deadline === 'number') {
      // Durable like every timer: whichever process fires it cancels what is not handed over by then.
      await t.upsertDeadlines([
        {
          id: deadlineKey(c.id),
          kind: 'campaign',
          entityId: c.id,
          campaignId: c.id,
          fireAt: c.deadline,
          event: { type: 'DEADLINE' },
        },
      ]);
    }
    await queueWaiting(t, fx, moved);
    const { counts } = await t.getCounters(c.id);
    return moveCampaign(t, fx, { campaign: (await t.getCampaign(c.id)) ?? moved, event: { type: 'PROGRESS', counts } });
  };

  return { applyChanges, progressAfter, forEachMessageIn, cancelQueuedIfStopped, startCampaign };
}
