/**
 * Provider-event ingestion: validates a batch whole, drops duplicates by event id and content key,
 * finds each message by our id or the provider's, and applies the events in one transaction.
 * Batches that arrive while a transaction is running are coalesced into the next one (each caller
 * still gets its own result), so concurrent webhooks of one campaign never queue one by one on its row.
 */
import * as z from 'zod';
import { LIMITS } from '../limits.js';
import type { MessageEvent } from '../machines/message-events.js';
import type { SeenKey, StorageTransaction } from '../ports/storage.js';
import {
  type IngestResult,
  type ProviderEvent,
  ProviderEventSchema,
  type StatusEvent,
  type SuppressionEvent,
} from '../provider-events.js';
import type { CampaignRecord, MessageRecord } from '../records.js';
import type { Channel } from '../statuses.js';
import type { EngineParts } from './context.js';
import type { MessageChange } from './message-batch.js';
import { invalid } from './refusals.js';
import type { EngineWorker } from './worker.js';

/** At most 10,000 events a call: a webhook batch is far smaller (SendGrid posts up to 768 KB). */
const BatchSchema = z.array(ProviderEventSchema).max(LIMITS.eventsPerIngest);
/** Most events coalesced into one transaction. */
const MAX_COALESCED_EVENTS = 2_000;
/** Batches that must be waiting before another transaction starts beside running ones (per running one). */
const MIN_EXTRA_GROUP = 16;
/** Ingest transactions in flight at once per engine (they share no row once campaigns are out of them). */
const MAX_IN_FLIGHT = 4;

/** What one caller's batch did, and the campaigns whose status must be derived before it returns. */
interface Applied {
  readonly result: IngestResult;
  readonly moved: readonly string[];
}

/** What the log keeps of a status event besides its status. */
function logDetail(e: StatusEvent): Record<string, unknown> {
  const detail: Record<string, unknown> = {};
  if (e.providerStatus) detail.providerStatus = e.providerStatus;
  if (e.code) detail.code = e.code;
  if (e.occurredAt !== undefined) detail.occurredAt = e.occurredAt;
  if (e.detail) detail.detail = e.detail;
  return detail;
}

/** Counts per caller: which batch each event of the flattened list came from, and what became of it. */
class Tally {
  private readonly owner: number[] = [];
  private readonly counts: Record<keyof IngestResult, number>[];
  constructor(batches: readonly (readonly ProviderEvent[])[]) {
    batches.forEach((b, k) => {
      for (let n = 0; n < b.length; n++) this.owner.push(k);
    });
    this.counts = batches.map(() => ({ applied: 0, duplicates: 0, ignored: 0, unmatched: 0 }));
  }
  /** Counts the event at index `i` of the flattened list. */
  count(what: keyof IngestResult, i: number) {
    (this.counts[this.owner[i] as number] as Record<keyof IngestResult, number>)[what]++;
  }
  results(): IngestResult[] {
    return this.counts.map((c) => ({ ...c }));
  }
}

/** One caller's batch waiting for the next transaction. */
interface Pending {
  readonly list: ProviderEvent[];
  readonly resolve: (r: Applied) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Builds `ingest` over the core. Provider events never make work for the dispatcher, so the worker is
 * only told of the deadlines they set (a full worker round per webhook would compete with ingest).
 */
export function createIngest(parts: EngineParts, worker: Pick<EngineWorker, 'wakeBy' | 'startDueScheduled'>) {
  const { clock, defaultScope, normalize, tx, applyChanges, progressAfter } = parts;
  const { startDueScheduled } = worker;

  const toMessageEvent = (e: StatusEvent, at: number): MessageEvent | null => {
    switch (e.status) {
      case 'sending':
        return {
          type: 'PROVIDER_SENDING',
          at,
          ...(e.providerMessageId ? { providerMessageId: e.providerMessageId } : {}),
        };
      case 'sent':
        return {
          type: 'PROVIDER_SENT',
          at,
          ...(e.providerMessageId ? { providerMessageId: e.providerMessageId } : {}),
        };
      case 'delivered':
        return { type: 'PROVIDER_DELIVERED', at };
      case 'failed':
        return { type: 'PROVIDER_FAILED', at, reason: e.reason ?? 'unknown', ...(e.code ? { code: e.code } : {}) };
      case 'deferred':
        return { type: 'PROVIDER_DEFERRED', at, ...(e.attempt !== undefined ? { attempt: e.attempt } : {}) };
      case 'opted_out':
        return { type: 'OPT_OUT', at, source: e.providerStatus ?? 'provider' };
      default:
        return null;
    }
  };

  /** Finds the messages the status events name, by our id or else the provider's (locked). */
  const findMessages = async (t: StorageTransaction, statusList: readonly StatusEvent[]) => {
    const byId = await t.lockMessages(statusList.flatMap((e) => (e.messageId ? [e.messageId] : [])));
    const messages = new Map(byId.map((m) => [m.id, m]));
    const needProvider = statusList.filter((e) => !(e.messageId && messages.has(e.messageId)) && e.providerMessageId);
    const byProvider = new Map<string, MessageRecord>();
    for (const channel of ['sms', 'email'] as const) {
      const ids = needProvider.filter((e) => e.channel === channel).map((e) => e.providerMessageId as string);
      if (ids.length)
        for (const [k, v] of await t.lockMessagesByProviderId(channel, ids)) byProvider.set(`${channel}|${k}`, v);
    }
    return (e: StatusEvent): MessageRecord | undefined => {
      const m =
        (e.messageId ? messages.get(e.messageId) : undefined) ??
        (e.providerMessageId ? byProvider.get(`${e.channel}|${e.providerMessageId}`) : undefined);
      return m && m.channel === e.channel ? m : undefined;
    };
  };

  /**
   * The indexes of events seen before (by event id or content key). The keys are stored with the
   * campaign of their message and deleted with it; an unknown message changes nothing, so its keys
   * are not worth keeping.
   */
  const seenBefore = async (
    t: StorageTransaction,
    list: readonly ProviderEvent[],
    messageOf: (e: StatusEvent) => MessageRecord | undefined,
  ): Promise<Set<number>> => {
    const keys: SeenKey[] = [];
    const keyOwner: number[] = [];
    list.forEach((e, i) => {
      const campaignId = e.type === 'status' ? (messageOf(e)?.campaignId ?? undefined) : null;
      if (campaignId === undefined) return;
      if (e.eventId) {
        keys.push({ key: `id:${e.eventId}`, campaignId });
        keyOwner.push(i);
      }
      if (e.type === 'status' && e.dedupeKey) {
        keys.push({ key: `key:${e.dedupeKey}`, campaignId });
        keyOwner.push(i);
      }
    });
    const fresh = keys.length ? await t.markSeen(keys) : [];
    const dup = new Set<number>();
    fresh.forEach((isNew, k) => {
      if (!isNew) dup.add(keyOwner[k] as number);
    });
    return dup;
  };

  /** Applies one suppression event (opt-out or opt-in); returns whether it changed anything. */
  const applySuppression = async (t: StorageTransaction, s: SuppressionEvent, at: number): Promise<boolean> => {
    const r = normalize(s.channel, s.address);
    if (!r.ok) return false;
    const scope = s.scope ?? defaultScope;
    const source = s.source ?? 'inbound';
    const entry = { at, scope, channel: s.channel, address: r.address, source, text: s.text };
    if (s.action === 'opt_out') {
      await t.addSuppressions([{ scope, channel: s.channel, address: r.address, source, at }]);
      await t.appendOptOutLog([{ ...entry, change: 'opt_out' }]);
      return true;
    }
    const removed = await t.removeSuppression(scope, s.channel, r.address);
    if (removed) await t.appendOptOutLog([{ ...entry, change: 'opt_in' }]);
    return removed;
  };

  /**
   * Turns status events into message changes; engagement is summed per campaign, opt-outs reported by
   * the provider are collected for the suppression list, and events of archived campaigns are ignored.
   */
  const statusChanges = async (
    t: StorageTransaction,
    statusEvents: readonly [StatusEvent, number][],
    messageOf: (e: StatusEvent) => MessageRecord | undefined,
    tally: Tally,
    at: number,
  ) => {
    const changes: MessageChange[] = [];
    const changeOwner: number[] = [];
    const campaigns = new Map<string, CampaignRecord | undefined>();
    const engagement = new Map<string, { opens: number; clicks: number; spamReports: number }>();
    const suppress: {
      scope: string;
      channel: Channel;
      address: string;
      source: string;
      at: number;
      campaignId: string;
      messageId: string;
    }[] = [];
    /** Messages a read receipt names, with the event's index. */
    const readsOf: [MessageRecord, number][] = [];
    for (const [e, i] of statusEvents) {
      const m = messageOf(e);
      if (!m) {
        tally.count('unmatched', i);
        continue;
      }
      if (!campaigns.has(m.campaignId)) campaigns.set(m.campaignId, await t.getCampaign(m.campaignId));
      if (campaigns.get(m.campaignId)?.status === 'archived') {
        tally.count('ignored', i); // archived campaigns keep their statuses as they are (seed 001)
        continue;
      }
      if (e.status === 'engagement') {
        const g = engagement.get(m.campaignId) ?? { opens: 0, clicks: 0, spamReports: 0 };
        if (e.engagement === 'click') g.clicks++;
        else g.opens++;
        engagement.set(m.campaignId, g);
        tally.count('applied', i);
        continue;
      }
      if (e.status === 'opted_out' && e.providerStatus === 'spamreport') {
        // Counted for the spam-complaint brake (each report once: repeats were dropped as duplicates).
        const g = engagement.get(m.campaignId) ?? { opens: 0, clicks: 0, spamReports: 0 };
        g.spamReports++;
        engagement.set(m.campaignId, g);
      }
      if (e.status === 'opted_out')
        suppress.push({
          scope: m.scope,
          channel: m.channel,
          address: m.to,
          source: e.providerStatus ?? 'provider',
          at,
          campaignId: m.campaignId,
          messageId: m.id,
        });
      else if (e.status === 'failed' && e.reason === 'opted_out')
        // The provider refused the recipient as unsubscribed (a SendGrid drop "Unsubscribed Address",
        // Twilio 21610): the address leaves the list of the message's scope here too.
        suppress.push({
          scope: m.scope,
          channel: m.channel,
          address: m.to,
          source: `${e.providerStatus ?? 'provider'}:unsubscribed`,
          at,
          campaignId: m.campaignId,
          messageId: m.id,
        });
      const event = toMessageEvent(e, at);
      if (!event) {
        tally.count('ignored', i);
        continue;
      }
      if (e.read === true) readsOf.push([m, i]);
      changes.push({ message: m, event, detail: logDetail(e) });
      changeOwner.push(i);
    }
    return { changes, changeOwner, engagement, suppress, readsOf };
  };

  /**
   * The read receipts that are the first for their message: one read per message, however often it is
   * reported (the message's read mark is a seen key of its campaign, deleted with it). Returns the reads
   * per campaign and the indices of the events counted.
   */
  const firstReads = async (t: StorageTransaction, readsOf: readonly [MessageRecord, number][]) => {
    const counts = new Map<string, number>();
    const counted = new Set<number>();
    const once = new Map<string, [MessageRecord, number]>();
    for (const [m, i] of readsOf) if (!once.has(m.id)) once.set(m.id, [m, i]);
    if (once.size === 0) return { counts, counted };
    const first = [...once.values()];
    const fresh = await t.markSeen(first.map(([m]) => ({ key: `read:${m.id}`, campaignId: m.campaignId })));
    fresh.forEach((isNew, k) => {
      if (!isNew) return;
      const [m, i] = first[k] as [MessageRecord, number];
      counts.set(m.campaignId, (counts.get(m.campaignId) ?? 0) + 1);
      counted.add(i);
    });
    return { counts, counted };
  };

  /** Applies the batches of several callers in one transaction; returns each caller's result. */
  const applyBatches = async (batches: readonly ProviderEvent[][]): Promise<Applied[]> => {
    const { results, wake, moved } = await tx(async (t, fx) => {
      const list = batches.flat();
      const tally = new Tally(batches);
      // Find the messages first, so that each event's dedupe keys are stored with its campaign.
      const messageOf = await findMessages(
        t,
        list.filter((e): e is StatusEvent => e.type === 'status'),
      );
      const dup = await seenBefore(t, list, messageOf);
      for (const i of dup) tally.count('duplicates', i);
      const at = clock.now();
      const statusEvents: [StatusEvent, number][] = [];
      for (let i = 0; i < list.length; i++) {
        if (dup.has(i)) continue;
        const e = list[i] as ProviderEvent;
        if (e.type === 'status') statusEvents.push([e, i]);
        else tally.count((await applySuppression(t, e, at)) ? 'applied' : 'ignored', i);
      }
      const { changes, changeOwner, engagement, suppress, readsOf } = await statusChanges(
        t,
        statusEvents,
        messageOf,
        tally,
        at,
      );
      if (suppress.length) {
        await t.addSuppressions(
          suppress.map(({ scope, channel, address, source, at }) => ({ scope, channel, address, source, at })),
        );
        await t.appendOptOutLog(suppress.map((x) => ({ ...x, change: 'opt_out' as const })));
      }
      const reads = await firstReads(t, readsOf);
      if (engagement.size || reads.counts.size) {
        const ids = new Set([...engagement.keys(), ...reads.counts.keys()]);
        await t.addCounters(
          [...ids].map((campaignId) => ({
            campaignId,
            opens: engagement.get(campaignId)?.opens ?? 0,
            clicks: engagement.get(campaignId)?.clicks ?? 0,
            reads: reads.counts.get(campaignId) ?? 0,
            spamReports: engagement.get(campaignId)?.spamReports ?? 0,
          })),
        );
      }
      // The campaign rows stay out of this transaction: their statuses are derived right after it.
      const r = await applyChanges(t, fx, changes, true);
      r.changedFlags.forEach((changed, k) => {
        const owner = changeOwner[k] as number;
        // A read receipt of a message delivered already changes its campaign's read count only.
        tally.count(changed || reads.counted.has(owner) ? 'applied' : 'ignored', owner);
      });
      const moved = new Set(r.counters.map((d) => d.campaignId));
      // A spam report on a message already Opted Out moves no status, yet may set off the brake.
      for (const [campaignId, g] of engagement) if (g.spamReports > 0) moved.add(campaignId);
      return { results: tally.results(), wake: r.earliestTimer, moved: [...moved] };
    });
    if (wake !== undefined) worker.wakeBy(wake);
    return results.map((result) => ({ result, moved }));
  };

  // Group commit: a few transactions at a time; what arrives meanwhile goes into the next one together.
  const queue: Pending[] = [];
  let running = 0;
  const pump = () => {
    if (running >= MAX_IN_FLIGHT || queue.length === 0) return;
    // Another transaction beside a running one only for a group worth it: fewer, larger groups
    // cost fewer statements per event, and the running one takes what waits when it ends.
    if (running > 0 && queue.length < MIN_EXTRA_GROUP * running) return;
    const group: Pending[] = [];
    let size = 0;
    while (
      queue.length > 0 &&
      (group.length === 0 || size + (queue[0] as Pending).list.length <= MAX_COALESCED_EVENTS)
    ) {
      const p = queue.shift() as Pending;
      group.push(p);
      size += p.list.length;
    }
    running++;
    void (async () => {
      try {
        const results = await applyBatches(group.map((p) => p.list));
        group.forEach((p, k) => {
          p.resolve(results[k] as Applied);
        });
      } catch (error) {
        if (group.length === 1) (group[0] as Pending).reject(error);
        else {
          // One caller's events must not fail the others: each batch again, on its own.
          for (const p of group) {
            try {
              p.resolve((await applyBatches([p.list]))[0] as Applied);
            } catch (e) {
              p.reject(e);
            }
          }
        }
      } finally {
        running--;
        pump();
      }
    })();
  };

  const ingest = async (events: readonly ProviderEvent[]): Promise<IngestResult> => {
    const parsed = BatchSchema.safeParse(events);
    if (!parsed.success) throw invalid('The provider events', parsed.error);
    const list = parsed.data as ProviderEvent[];
    const { result, moved } = await new Promise<Applied>((resolve, reject) => {
      queue.push({ list, resolve, reject });
      pump();
    });
    await progressAfter(moved);
    await startDueScheduled();
    return result;
  };

  return ingest;
}
