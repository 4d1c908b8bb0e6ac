/**
 * Deadlines: durable timers in storage. Due message deadlines step their messages (timeouts, backoffs,
 * expired claim leases); sending timeouts of unknown outcome are looked up first; due campaign
 * deadlines start scheduled campaigns, which also start when their channel is freed.
 */
import type { StorageTransaction } from '../ports/storage.js';
import type { DeadlineRecord, MessageRecord } from '../records.js';
import type { Channel } from '../statuses.js';
import { type AfterCommitEffect, type EngineParts, NOT_HANDED_OVER, type TxEffects } from './context.js';
import type { Lookups, PendingLookup } from './lookups.js';
import type { MessageChange } from './message-batch.js';

/** Firing deadlines and starting scheduled campaigns. */
export interface Deadlines {
  /** Fires every deadline due now, batch by batch; returns how many fired. */
  fireDue(): Promise<number>;
  /** Starts scheduled campaigns that are due on channels that committed transactions freed. */
  startDueScheduled(): Promise<void>;
  /** Takes the after-commit work of a committed transaction (channels freed). */
  committed(effects: readonly AfterCommitEffect[]): void;
}

/** What one batch of due deadlines left to do after its transaction. */
interface FiredBatch {
  /** How many deadlines the batch took. */
  readonly fired: number;
  /** Campaigns whose scheduled start is due. */
  readonly startable: readonly string[];
  /** Sending timeouts whose transport is asked first. */
  readonly lookups: readonly PendingLookup[];
}

/** Builds the deadlines over the engine's parts and the lookups. */
export function createDeadlines(parts: EngineParts, lookups: Lookups): Deadlines {
  const {
    clock,
    batchSize,
    onError,
    tx,
    applyChanges,
    cancelQueuedIfStopped,
    forEachMessageIn,
    rederive,
    startCampaign,
  } = parts;
  /** Channels freed by committed transactions, not yet looked at. */
  const freed: [string, Channel][] = [];

  const tryStartScheduled = async (id: string) => {
    try {
      await tx(async (t, fx) => {
        const c = await t.getCampaign(id, { forUpdate: true });
        if (c?.status !== 'scheduled') return;
        const holder = await t.channelHolder(c.scope, c.channel);
        if (holder !== undefined && holder !== c.id) return; // starts when the channel is released
        await startCampaign(t, fx, c);
      });
    } catch (error) {
      onError(error);
    }
  };

  const startDueScheduled = async () => {
    for (let next = freed.shift(); next; next = freed.shift()) {
      const [scope, channel] = next;
      const now = clock.now();
      const due = (await tx((t) => t.listCampaigns({ scope, channel, statuses: ['scheduled'] }))).filter(
        (c) => (c.state.context.scheduledAt ?? Number.POSITIVE_INFINITY) <= now,
      );
      due.sort((a, b) => (a.state.context.scheduledAt ?? 0) - (b.state.context.scheduledAt ?? 0));
      const first = due[0];
      if (first) await tryStartScheduled(first.id);
    }
  };

  /** The campaigns of the messages that are archived (frozen) or stopped. */
  const campaignsAtRest = async (t: StorageTransaction, messages: readonly MessageRecord[]) => {
    const frozen = new Set<string>();
    const stopped = new Set<string>();
    for (const cid of new Set(messages.map((m) => m.campaignId))) {
      const status = (await t.getCampaign(cid))?.status;
      if (status === 'archived') frozen.add(cid);
      else if (status === 'stopped') stopped.add(cid);
    }
    return { frozen, stopped };
  };

  /**
   * A campaign's deadline passed: every message not handed to a transport yet ends Cancelled
   * (`deadline_passed`); what was handed over keeps its lifecycle, and the campaign completes as usual.
   */
  const deadlinePassed = async (t: StorageTransaction, fx: TxEffects, campaignId: string, at: number) => {
    const c = await t.getCampaign(campaignId, { forUpdate: true });
    if (!c || c.status === 'archived') return;
    await forEachMessageIn(t, fx, campaignId, NOT_HANDED_OVER, () => ({ type: 'DEADLINE_PASSED', at }));
    await rederive(t, fx, (await t.getCampaign(campaignId)) ?? c);
  };

  /** Takes one batch of due deadlines and applies what can be applied at once. */
  const fireBatch = async (t: StorageTransaction, fx: TxEffects, now: number): Promise<FiredBatch> => {
    const due = await t.takeDueDeadlines(now, batchSize);
    if (due.length === 0) return { fired: 0, startable: [], lookups: [] };
    const campaignDeadlines = due.filter((d) => d.kind === 'campaign');
    const startable = campaignDeadlines.filter((d) => d.event.type !== 'DEADLINE').map((d) => d.entityId);
    for (const d of campaignDeadlines)
      if (d.event.type === 'DEADLINE') await deadlinePassed(t, fx, d.entityId, d.fireAt);
    const messageDeadlines = due.filter((d) => d.kind === 'message');
    const locked = await t.lockMessages(messageDeadlines.map((d) => d.entityId));
    const byId = new Map(locked.map((m) => [m.id, m]));
    const { frozen, stopped } = await campaignsAtRest(t, locked);
    const changes: MessageChange[] = [];
    const pending: PendingLookup[] = [];
    const perMessage = new Map<string, number>();
    for (const d of messageDeadlines) perMessage.set(d.entityId, (perMessage.get(d.entityId) ?? 0) + 1);
    for (const d of messageDeadlines) {
      const m = byId.get(d.entityId);
      if (!m || frozen.has(m.campaignId)) continue;
      if (perMessage.get(m.id) === 1 && lookups.needsLookup(m, d)) {
        // Asked after this commit; the timeout stays stored (same id) as the lookup's lease, so a late
        // callback that settles the message deletes it, and a lookup whose worker dies is retried.
        pending.push({ message: m, deadline: d });
        continue;
      }
      changes.push({ message: m, event: deadlineEvent(d, m, stopped) });
    }
    await applyChanges(t, fx, changes);
    // A lease that expired gives its message back to the queue; in a stopped campaign nothing is sent
    // again, so it ends Cancelled instead of waiting in Queued for ever.
    await cancelQueuedIfStopped(
      t,
      fx,
      changes.filter((c) => c.event.type === 'RELEASE' && stopped.has(c.message.campaignId)).map((c) => c.message.id),
      now,
    );
    if (pending.length) await t.upsertDeadlines(lookups.leases(pending, now));
    return { fired: due.length, startable, lookups: pending };
  };

  const fireDue = async (): Promise<number> => {
    let fired = 0;
    for (;;) {
      const now = clock.now();
      const batch = await tx((t, fx) => fireBatch(t, fx, now));
      if (batch.lookups.length) await lookups.reconcile(batch.lookups);
      for (const id of batch.startable) await tryStartScheduled(id);
      fired += batch.fired;
      if (batch.fired < batchSize) break;
    }
    await startDueScheduled();
    return fired;
  };

  return {
    fireDue,
    startDueScheduled,
    committed(effects) {
      for (const e of effects) if (e.type === 'channel_freed') freed.push([e.scope, e.channel]);
    },
  };
}

/**
 * The event a due message deadline brings. A send that failed before hand-over after `stop` waited out
 * its backoff: nothing of a stopped campaign is sent again, so it ends Cancelled instead of Queued.
 */
function deadlineEvent(d: DeadlineRecord, m: MessageRecord, stopped: ReadonlySet<string>): MessageChange['event'] {
  if (stopped.has(m.campaignId) && m.state === 'backoff') return { type: 'CANCEL', at: d.fireAt };
  return { ...d.event, at: d.fireAt };
}
