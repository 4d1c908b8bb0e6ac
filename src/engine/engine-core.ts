/**
 * The engine's shared core: the resolved options, transactions that emit events after commit,
 * campaign moves that keep the channel claim in step, and message batches that feed the campaign
 * counters. Commands, ingestion, the worker and the queries are built on it.
 */
import * as z from 'zod';
import { OutreachError } from '../errors.js';
import { type CampaignEvent, holdsChannel, transitionCampaign } from '../machines/campaign.js';
import type { MessageEvent } from '../machines/message-events.js';
import { createMessageStepper, type MessageStepper } from '../machines/message-step.js';
import { type Policy, policyFromStored, resolvePolicy, storePolicy } from '../policy.js';
import { systemClock } from '../ports/clock.js';
import type { CounterDelta, StorageTransaction } from '../ports/storage.js';
import type { Transport } from '../ports/transport.js';
import type { CampaignRecord, MessageRecord } from '../records.js';
import {
  type CampaignStatus,
  type Channel,
  isFinalMessageStatus,
  type MessageCounts,
  type MessageStatus,
} from '../statuses.js';
import type { OutreachOptions } from './create-outreach.js';
import type { OutreachEvent, OutreachListener } from './events.js';
import { applyMessageChanges, type MessageChange } from './message-batch.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { defaultRenderer } from './render-message.js';
import { type CampaignAction, campaignView } from './views.js';

export const ACTION_HINT: Partial<Record<CampaignAction, string>> = {
  save: 'Only a draft can be saved.',
  run: 'A campaign runs from ready or scheduled; save a draft first.',
  edit: 'Only draft or ready campaigns can be edited; unschedule a scheduled campaign first.',
  addContacts: 'Contacts can only change while the campaign is a draft.',
  delete:
    'A campaign can be deleted when draft, ready, complete, complete with errors, failed, or stopped with nothing in flight.',
  retryFailed: 'Failed messages can be retried once the campaign is complete with errors.',
};

/** Where deadlines of campaigns (scheduled starts) are kept. */
export const startKey = (campaignId: string) => `${campaignId}|start`;

/** An `OutreachError('VALIDATION_FAILED')` that lists zod's issues. */
export function invalid(what: string, error: z.ZodError): OutreachError {
  return new OutreachError('VALIDATION_FAILED', `${what} is not valid:\n${z.prettifyError(error)}`, {
    details: { issues: error.issues },
  });
}

/** The engine's shared core (see the module comment). */
export type EngineCore = ReturnType<typeof createEngineCore>;

/** Builds the shared core from the engine's options. */
export function createEngineCore(options: OutreachOptions) {
  const storage = options.storage;
  const clock = options.clock ?? systemClock;
  const policy = resolvePolicy(options.policy);
  const defaultScope = options.defaultScope ?? 'default';
  const batchSize = options.batchSize ?? 500;
  const renderer = options.renderer ?? defaultRenderer;
  const onError = options.onError ?? ((e: unknown) => console.error('[campaign-lifecycle]', e));
  const steppers: Record<Channel, MessageStepper> = {
    sms: createMessageStepper('sms', policy),
    email: createMessageStepper('email', policy),
  };
  // Steppers per policy, and per campaign whose policy is fixed (it never changes once the campaign runs).
  const steppersByPolicy = new Map<string, Record<Channel, MessageStepper>>([
    [JSON.stringify(storePolicy(policy)), steppers],
  ]);
  const campaignSteppers = new Map<string, Record<Channel, MessageStepper>>();
  const steppersOf = (c: CampaignRecord): Record<Channel, MessageStepper> => {
    if (!c.policy) return steppers;
    const key = JSON.stringify(c.policy);
    let s = steppersByPolicy.get(key);
    if (!s) {
      const p = policyFromStored(c.policy);
      s = { sms: createMessageStepper('sms', p), email: createMessageStepper('email', p) };
      if (steppersByPolicy.size > 100) steppersByPolicy.clear();
      steppersByPolicy.set(key, s);
    }
    return s;
  };
  /** The policy a campaign runs with: its own once it has run, else this engine's. */
  const policyOf = (c: CampaignRecord): Policy => (c.policy ? policyFromStored(c.policy) : policy);
  const transports: Partial<Record<Channel, Transport>> = {};
  if (options.transports.sms) transports.sms = options.transports.sms;
  if (options.transports.email) transports.email = options.transports.email;
  const limiters: Record<Channel, RateLimiter> = {
    sms: createRateLimiter(options.transports.sms?.limits?.ratePerSecond),
    email: createRateLimiter(options.transports.email?.limits?.ratePerSecond),
  };
  const listeners = new Set<OutreachListener>();
  const phoneOptions = { defaultCountry: options.defaultCountry, allowedCountries: options.allowedCountries };
  const normalize = (channel: Channel, raw: string) => renderer.normalizeAddress(channel, raw, phoneOptions);

  const emit = (events: readonly OutreachEvent[]) => {
    if (listeners.size === 0) return;
    for (const e of events) {
      for (const l of listeners) {
        try {
          l(e);
        } catch (error) {
          onError(error);
        }
      }
    }
  };

  /** Runs a transaction and emits its events after the commit. */
  const tx = async <T>(fn: (t: StorageTransaction, out: OutreachEvent[]) => Promise<T>): Promise<T> => {
    const out: OutreachEvent[] = [];
    const result = await storage.transaction((t) => {
      out.length = 0; // the adapter may re-run fn after a conflict
      return fn(t, out);
    });
    emit(out);
    return result;
  };

  const mustGetCampaign = async (t: StorageTransaction, id: string): Promise<CampaignRecord> => {
    const c = await t.getCampaign(id, { forUpdate: true });
    if (!c) throw new OutreachError('NOT_FOUND', `Campaign ${id} does not exist.`, { details: { campaignId: id } });
    return c;
  };

  const refuse = (c: CampaignRecord, action: CampaignAction): never => {
    throw new OutreachError(
      'INVALID_STATE',
      `Cannot ${action} campaign "${c.name}" (${c.id}): it is ${c.status}. ${ACTION_HINT[action] ?? ''}`.trim(),
      { details: { campaignId: c.id, status: c.status, action } },
    );
  };

  /** Moves a campaign through its machine, keeps the channel claim in step, and records the change. */
  const moveCampaign = async (
    t: StorageTransaction,
    out: OutreachEvent[],
    c: CampaignRecord,
    event: CampaignEvent,
    action: CampaignAction | null,
    cause?: string,
  ): Promise<CampaignRecord> => {
    const next = transitionCampaign(c.state, event);
    if (!next) {
      if (action) refuse(c, action);
      return c;
    }
    const status = next.value as CampaignStatus;
    const now = clock.now();
    // Commands claim the channel; a derived move (a late receipt reopening a finished campaign) never
    // does, since it sends nothing new and must not fail for a channel another campaign now holds.
    if (event.type !== 'PROGRESS' && !holdsChannel(c.status) && holdsChannel(status)) {
      const holder = await t.claimChannel(c.scope, c.channel, c.id);
      if (holder !== c.id) {
        throw new OutreachError(
          'CHANNEL_BUSY',
          `Cannot run campaign "${c.name}": ${c.channel} campaign ${holder} is already running in scope "${c.scope}". Only one ${c.channel} campaign runs at a time per scope; wait for it to complete, or schedule this one.`,
          { details: { campaignId: c.id, runningCampaignId: holder, scope: c.scope, channel: c.channel } },
        );
      }
    }
    if (holdsChannel(c.status) && !holdsChannel(status)) await t.releaseChannel(c.scope, c.channel, c.id);
    const final =
      status === 'complete' || status === 'complete_with_errors' || status === 'stopped' || status === 'failed';
    const updated: CampaignRecord = {
      ...c,
      status,
      state: next,
      updatedAt: now,
      startedAt: c.startedAt ?? (status === 'in_progress' ? now : null),
      finishedAt: final ? (c.finishedAt ?? now) : status === 'in_progress' ? null : c.finishedAt,
    };
    await t.updateCampaign(updated);
    if (c.status !== status) {
      out.push({
        type: 'campaign.status',
        campaignId: c.id,
        from: c.status,
        to: status,
        at: now,
        ...(cause ? { cause } : {}),
      });
      if (holdsChannel(c.status) && !holdsChannel(status)) channelFreed.push([c.scope, c.channel]);
    }
    return updated;
  };

  /** Channels released by the last transactions: a due scheduled campaign may start there. */
  const channelFreed: [string, Channel][] = [];

  /** Whether the counters would change a campaign: its status or context, or its failure-rate pause. */
  const progressWouldMove = (c: CampaignRecord, counts: MessageCounts): boolean => {
    if (transitionCampaign(c.state, { type: 'PROGRESS', counts })) return true;
    const { autoPause } = policyOf(c);
    if (!autoPause || c.status !== 'in_progress' || c.state.context.autoPaused) return false;
    const done = counts.delivered + counts.assumed_delivered + counts.failed;
    return done >= autoPause.minSample && counts.failed / done > autoPause.threshold;
  };

  const progressEvent = (c: CampaignRecord, counts: MessageCounts, at: number): OutreachEvent => {
    let done = 0;
    for (const s of Object.keys(counts) as MessageStatus[]) {
      if (isFinalMessageStatus(s)) done += counts[s];
    }
    return { type: 'campaign.progress', campaignId: c.id, counts, total: c.messageCount, done, at };
  };

  /** Feeds counters to the campaigns whose messages moved, so their derived status follows. */
  const progressCampaigns = async (t: StorageTransaction, out: OutreachEvent[], locked: readonly CampaignRecord[]) => {
    const now = clock.now();
    for (const c of locked) {
      const id = c.id;
      const counters = await t.getCounters(id);
      let current = await moveCampaign(t, out, c, { type: 'PROGRESS', counts: counters.counts }, null);
      const { autoPause } = policyOf(current);
      if (autoPause && current.status === 'in_progress' && !current.state.context.autoPaused) {
        // Seed 002: "Pause if failure rate > 5%". Once only: after a resume the user has decided.
        const done = counters.counts.delivered + counters.counts.assumed_delivered + counters.counts.failed;
        if (done >= autoPause.minSample && counters.counts.failed / done > autoPause.threshold) {
          current = await moveCampaign(t, out, current, { type: 'PAUSE', auto: true }, null, 'failure_rate');
        }
      }
      if (listeners.size) out.push(progressEvent(current, counters.counts, now));
    }
  };

  /**
   * Steps messages and adds their counter moves. The campaigns' statuses are derived here too, under
   * their row lock, unless `deferProgress`: the caller then derives them in a later transaction
   * ({@link progressAfter}), so that concurrent callers never queue on the campaign row.
   */
  const applyChanges = async (
    t: StorageTransaction,
    out: OutreachEvent[],
    changes: MessageChange[],
    deferProgress = false,
  ) => {
    if (changes.length === 0)
      return {
        changed: 0,
        changedFlags: [] as boolean[],
        earliestTimer: undefined as number | undefined,
        counters: [] as CounterDelta[],
        messages: [] as MessageRecord[],
      };
    // Each message steps through the machines of its campaign's policy (read once per campaign and process).
    const byCampaign = new Map<string, Record<Channel, MessageStepper>>();
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
    const stepperFor = (m: MessageRecord) => (byCampaign.get(m.campaignId) ?? steppers)[m.channel];
    const r = await applyMessageChanges(t, stepperFor, changes, listeners.size > 0);
    for (const e of r.statusEvents) out.push(e);
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
      await progressCampaigns(t, out, locked);
    }
    return r;
  };

  // Deferred progress: campaigns whose counters moved, derived together in one transaction at a time.
  let dirty = new Set<string>();
  let waiting: (() => void)[] = [];
  let progressing = false;
  const runProgress = () => {
    if (progressing || waiting.length === 0) return;
    progressing = true;
    const ids = [...dirty].sort();
    const done = waiting;
    dirty = new Set();
    waiting = [];
    tx(async (t, out) => {
      // Without a lock first: most moves leave a campaign's status as it is, and reading that needs
      // no lock (the counters read here include every commit this derivation was started after).
      const stale: string[] = [];
      for (const id of ids) {
        const c = await t.getCampaign(id);
        if (!c) continue;
        const counters = await t.getCounters(id);
        if (progressWouldMove(c, counters.counts)) stale.push(id);
        else if (listeners.size) out.push(progressEvent(c, counters.counts, clock.now()));
      }
      // The others under their row lock, which serialises the derivation of a campaign's status.
      const locked: CampaignRecord[] = [];
      for (const id of stale) {
        const c = await t.getCampaign(id, { forUpdate: true });
        if (c) locked.push(c);
      }
      await progressCampaigns(t, out, locked);
    })
      .catch((error: unknown) => {
        // The counters are committed; the derivation is tried again (and the worker re-derives idle campaigns).
        onError(error);
        for (const id of ids) dirty.add(id);
        return new Promise<void>((resolve) => setTimeout(resolve, 200));
      })
      .finally(() => {
        progressing = false;
        for (const d of done) d();
        if (dirty.size > 0 && waiting.length === 0) waiting.push(() => {});
        runProgress();
      });
  };
  /**
   * Derives the status of campaigns whose counters a committed transaction moved without their lock;
   * resolves once a derivation that started after that commit has ended.
   */
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

  /** Steps every message of a campaign in the given machine states with one event, batch by batch. */
  const forEachMessageIn = async (
    campaignId: string,
    states: readonly string[],
    makeEvent: (m: MessageRecord, at: number) => MessageEvent | null,
    t: StorageTransaction,
    out: OutreachEvent[],
  ) => {
    for (const state of states) {
      for (;;) {
        const batch = await t.claimMessages(campaignId, state, batchSize);
        if (batch.length === 0) break;
        const at = clock.now();
        const changes: MessageChange[] = [];
        for (const m of batch) {
          const event = makeEvent(m, at);
          if (event) changes.push({ message: m, event });
        }
        const r = await applyChanges(t, out, changes);
        if (r.changed === 0) break; // nothing moved out of this state: stop, never loop for ever
      }
    }
  };

  const view = async (t: StorageTransaction, c: CampaignRecord) => campaignView(c, await t.getCounters(c.id));

  /** Puts every waiting message of a campaign in the queue (suppressed contacts opt out instead). */
  const queueWaiting = async (t: StorageTransaction, out: OutreachEvent[], c: CampaignRecord) => {
    for (;;) {
      const batch = await t.claimMessages(c.id, 'waiting', batchSize);
      if (batch.length === 0) break;
      const suppressed = await t.suppressedAmong(
        c.scope,
        c.channel,
        batch.map((m) => m.to),
      );
      const at = clock.now();
      const r = await applyChanges(
        t,
        out,
        batch.map((m) => ({
          message: m,
          event: suppressed.has(m.to) ? { type: 'OPT_OUT', at, source: 'suppression_list' } : { type: 'QUEUE', at },
        })),
      );
      if (r.changed === 0) break;
    }
  };

  const startCampaign = async (t: StorageTransaction, out: OutreachEvent[], c: CampaignRecord) => {
    await t.deleteDeadlines([startKey(c.id)]);
    // The policy is fixed now, with the campaign: every process applies it to these messages.
    const fixed: CampaignRecord = c.policy ? c : { ...c, policy: storePolicy(policy) };
    const moved = await moveCampaign(t, out, fixed, { type: 'RUN' }, 'run');
    await queueWaiting(t, out, moved);
    const counters = await t.getCounters(c.id);
    return moveCampaign(
      t,
      out,
      (await t.getCampaign(c.id)) ?? moved,
      { type: 'PROGRESS', counts: counters.counts },
      null,
    );
  };

  /** Re-derives a campaign's status from its counters (after a resume, messages may all be final). */
  const rederive = async (t: StorageTransaction, out: OutreachEvent[], c: CampaignRecord) => {
    await moveCampaign(t, out, c, { type: 'PROGRESS', counts: (await t.getCounters(c.id)).counts }, null);
  };

  return {
    options,
    storage,
    clock,
    policy,
    defaultScope,
    batchSize,
    renderer,
    onError,
    steppers,
    steppersOf,
    policyOf,
    transports,
    limiters,
    listeners,
    normalize,
    tx,
    mustGetCampaign,
    refuse,
    moveCampaign,
    channelFreed,
    applyChanges,
    progressAfter,
    forEachMessageIn,
    view,
    startCampaign,
    rederive,
  };
}
