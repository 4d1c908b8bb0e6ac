/**
 * The worker: fires due deadlines from storage, dispatches queued messages to the transports within
 * their concurrency and rate limits, and keeps one clock timer for its next wake-up.
 */
import type { OutgoingEmail, OutgoingSms } from '../content.js';
import { FAILURE_REASON_IDS, type FailureReasonId } from '../failure-reasons.js';
import { campaignCan } from '../machines/campaign.js';
import type { MessageEvent } from '../machines/message-events.js';
import type { TimerHandle } from '../ports/clock.js';
import type { LookupResult, SendResult, Transport } from '../ports/transport.js';
import type { EventSink } from '../provider-events.js';
import type { DeadlineRecord, MessageRecord } from '../records.js';
import { type Channel, isFinalMessageStatus, type MessageStatus } from '../statuses.js';
import type { OutreachWorker } from './create-outreach.js';
import type { EngineCore } from './engine-core.js';
import { createId } from './ids.js';
import type { MessageChange } from './message-batch.js';

/** How long the worker waits before trying again after a failed round (a storage error, say). */
const WORKER_RETRY_MS = 1000;
/** How long `stop()` waits for sends in flight by default. */
const STOP_TIMEOUT_MS = 30_000;

/** How long the worker waits for a transport's `lookup` before the outcome is undecidable. */
const LOOKUP_TIMEOUT_MS = 20_000;
/** Lookups a worker runs at once (a burst of timeouts must not flood the provider's API). */
const LOOKUP_CONCURRENCY = 8;
/**
 * How long a sending timeout stays reserved for the worker that looks it up, beyond the time its batch of
 * lookups may take; then another worker may ask.
 */
const LOOKUP_LEASE_MARGIN_MS = 40_000;
/** Lookups of one timeout started by workers that died before deciding; after that many it times out. */
const MAX_LOOKUPS = 2;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** The deadline that holds a claim: it releases the message unless the claimant takes it first. */
const leaseKey = (messageId: string, token: string) => `${messageId}|lease:${token}`;

const LOOKUP_STATUSES: ReadonlySet<string> = new Set(['sending', 'sent', 'delivered', 'failed']);

/** A transport's lookup answer as the engine trusts it: anything malformed is undecidable. */
function wellFormedLookup(r: unknown): LookupResult {
  const o = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
  if (o.outcome === 'absent') return { outcome: 'absent' };
  if (
    o.outcome === 'found' &&
    typeof o.providerMessageId === 'string' &&
    o.providerMessageId.length > 0 &&
    o.providerMessageId.length <= 300 &&
    typeof o.status === 'string' &&
    LOOKUP_STATUSES.has(o.status) &&
    (o.reason === undefined || FAILURE_REASON_IDS.includes(o.reason as FailureReasonId)) &&
    (o.code === undefined || typeof o.code === 'string')
  )
    return r as LookupResult;
  if (o.outcome === 'undecidable') return { outcome: 'undecidable', error: String(o.error ?? 'undecidable') };
  return { outcome: 'undecidable', error: `a malformed lookup answer: ${JSON.stringify(r)?.slice(0, 200)}` };
}

/** The provider status a lookup found, as the event a status callback would have brought. */
function lookupStatusEvent(r: Extract<LookupResult, { outcome: 'found' }>, at: number): MessageEvent | null {
  switch (r.status) {
    case 'sent':
      return { type: 'PROVIDER_SENT', at, providerMessageId: r.providerMessageId };
    case 'delivered':
      return { type: 'PROVIDER_DELIVERED', at };
    case 'failed':
      return {
        type: 'PROVIDER_FAILED',
        at,
        reason: r.reason ?? 'unknown',
        ...(r.code ? { code: r.code.slice(0, 100) } : {}),
      };
    default:
      return null;
  }
}

/** The worker as the engine uses it: the public worker plus a nudge and the scheduled-start check. */
export interface EngineWorker extends OutreachWorker {
  /** Wakes the worker now (after a command). */
  kick(): void;
  /** Makes sure the worker wakes by `at` (a deadline an ingest just set). */
  wakeBy(at: number): void;
  /** Starts scheduled campaigns that are due on channels that were just released. */
  startDueScheduled(): Promise<void>;
}

/** Builds the worker; `pollMs` makes an idle worker look for work other processes created. */
export function createWorker(
  core: EngineCore,
  pollMs: number | undefined,
  sink: () => EventSink,
  leaseMs = 30_000,
): EngineWorker {
  const {
    clock,
    batchSize,
    renderer,
    onError,
    transports,
    limiters,
    tx,
    moveCampaign,
    channelFreed,
    applyChanges,
    rederive,
    startCampaign,
    options,
  } = core;

  const startDueScheduled = async () => {
    while (channelFreed.length) {
      const [scope, channel] = channelFreed.shift() as [string, Channel];
      const now = clock.now();
      const due = (await tx((t) => t.listCampaigns({ scope, channel, statuses: ['scheduled'] }))).filter(
        (c) => (c.state.context.scheduledAt ?? Number.POSITIVE_INFINITY) <= now,
      );
      due.sort((a, b) => (a.state.context.scheduledAt ?? 0) - (b.state.context.scheduledAt ?? 0));
      const first = due[0];
      if (first) await tryStartScheduled(first.id);
    }
  };

  const tryStartScheduled = async (id: string) => {
    try {
      await tx(async (t, out) => {
        const c = await t.getCampaign(id, { forUpdate: true });
        if (c?.status !== 'scheduled') return;
        const holder = await t.channelHolder(c.scope, c.channel);
        if (holder !== undefined && holder !== c.id) return; // starts when the channel is released
        await startCampaign(t, out, c);
      });
    } catch (error) {
      onError(error);
    }
  };

  const fireDue = async (): Promise<number> => {
    let fired = 0;
    for (;;) {
      const now = clock.now();
      const startable: string[] = [];
      const lookups: PendingLookup[] = [];
      const n = await tx(async (t, out) => {
        lookups.length = 0; // the adapter may re-run this
        const due = await t.takeDueDeadlines(now, batchSize);
        if (due.length === 0) return 0;
        const messageDeadlines = due.filter((d) => d.kind === 'message');
        for (const d of due) if (d.kind === 'campaign') startable.push(d.entityId);
        const locked = await t.lockMessages(messageDeadlines.map((d) => d.entityId));
        const byId = new Map(locked.map((m) => [m.id, m]));
        const frozen = new Set<string>();
        const stopped = new Set<string>();
        for (const cid of new Set(locked.map((m) => m.campaignId))) {
          const status = (await t.getCampaign(cid))?.status;
          if (status === 'archived') frozen.add(cid);
          else if (status === 'stopped') stopped.add(cid);
        }
        const changes: MessageChange[] = [];
        const perMessage = new Map<string, number>();
        for (const d of messageDeadlines) perMessage.set(d.entityId, (perMessage.get(d.entityId) ?? 0) + 1);
        for (const d of messageDeadlines) {
          const m = byId.get(d.entityId);
          if (!m || frozen.has(m.campaignId)) continue;
          if (perMessage.get(m.id) === 1 && needsLookup(m, d)) {
            // Asked after this commit; the timeout stays stored (same id) as the lookup's lease, so a late
            // callback that settles the message deletes it, and a lookup whose worker dies is retried.
            lookups.push({ message: m, deadline: d });
            continue;
          }
          // A send that failed before hand-over after `stop` waited out its backoff: nothing of a
          // stopped campaign is sent again, so it ends Cancelled instead of Queued.
          const cancel = stopped.has(m.campaignId) && m.state === 'backoff';
          changes.push({ message: m, event: cancel ? { type: 'CANCEL', at: d.fireAt } : { ...d.event, at: d.fireAt } });
        }
        await applyChanges(t, out, changes);
        // A lease that expired gives its message back to the queue; in a stopped campaign nothing is sent
        // again, so it ends Cancelled instead of waiting in Queued for ever.
        await cancelReleasedIfStopped(
          t,
          out,
          changes
            .filter((c) => c.event.type === 'RELEASE' && stopped.has(c.message.campaignId))
            .map((c) => c.message.id),
          now,
        );
        if (lookups.length)
          await t.upsertDeadlines(
            lookups.map(({ deadline: d }) => ({
              ...d,
              fireAt: now + LOOKUP_TIMEOUT_MS * Math.ceil(lookups.length / LOOKUP_CONCURRENCY) + LOOKUP_LEASE_MARGIN_MS,
              event: { ...d.event, lookups: lookupsOf(d) + 1 },
            })),
          );
        return due.length;
      });
      if (lookups.length) await reconcile(lookups);
      for (const id of startable) await tryStartScheduled(id);
      fired += n;
      if (n < batchSize) break;
    }
    await startDueScheduled();
    return fired;
  };

  /** A sending timeout held back while its transport is asked about the send. */
  interface PendingLookup {
    readonly message: MessageRecord;
    readonly deadline: DeadlineRecord;
  }

  const lookupsOf = (d: DeadlineRecord) => {
    const n = (d.event as { lookups?: unknown }).lookups;
    return typeof n === 'number' ? n : 0;
  };

  /**
   * A send whose outcome is unknown reaches its sending timeout: still Sending and no provider id (the
   * provider never answered, or the worker died after the hand-over), and its transport can look it up.
   */
  const needsLookup = (m: MessageRecord, d: DeadlineRecord): boolean =>
    d.event.type.startsWith('xstate.after.sendingTimeout.') &&
    m.state === 'sending' &&
    m.context.providerMessageId === null &&
    typeof transports[m.channel]?.lookup === 'function' &&
    lookupsOf(d) < MAX_LOOKUPS;

  /** Asks the transport, bounded; a throw, a hang or a malformed answer is undecidable. */
  const askProvider = async (transport: Transport, payload: OutgoingSms | OutgoingEmail, dispatchedAt: number) => {
    const controller = new AbortController();
    let bound: ReturnType<typeof setTimeout> | undefined;
    try {
      const answer = await Promise.race([
        (transport.lookup as (m: unknown, o: unknown) => Promise<LookupResult>)(payload, {
          dispatchedAt,
          startedBy: dispatchedAt + leaseMs,
          signal: controller.signal,
        }),
        new Promise<LookupResult>((resolve) => {
          bound = setTimeout(() => {
            controller.abort();
            resolve({ outcome: 'undecidable', error: `no answer within ${LOOKUP_TIMEOUT_MS} ms` });
          }, LOOKUP_TIMEOUT_MS);
        }),
      ]);
      return wellFormedLookup(answer);
    } catch (error) {
      onError(error);
      return { outcome: 'undecidable', error: error instanceof Error ? error.message : String(error) } as const;
    } finally {
      clearTimeout(bound);
    }
  };

  /**
   * Settles sends of unknown outcome with what the provider knows. The lookups run outside any
   * transaction; each decision is applied only by the worker that still holds the timeout's lease (a
   * callback that settled the message meanwhile deleted it: the callback wins, nothing counts twice).
   */
  const reconcile = async (pending: readonly PendingLookup[]) => {
    const { campaigns, contacts } = await tx(async (t) => {
      const ids = [...new Set(pending.map(({ message }) => message.campaignId))];
      const campaigns = new Map<string, Awaited<ReturnType<typeof t.getCampaign>>>();
      for (const id of ids) campaigns.set(id, await t.getCampaign(id));
      return { campaigns, contacts: await t.getContacts(pending.map(({ message }) => message.contactId)) };
    });
    const decide = async ({ message: m, deadline }: PendingLookup): Promise<[PendingLookup, LookupResult]> => {
      const transport = transports[m.channel] as Transport;
      const c = campaigns.get(m.campaignId);
      let payload: OutgoingSms | OutgoingEmail;
      try {
        if (!c?.content) throw new Error('the campaign has no content');
        // The payload of the attempt in flight (the same attempt number, so the same body).
        payload = await renderer.render(
          c,
          m,
          contacts.get(m.contactId)?.fields ?? {},
          m.context.attempts,
          options.unsubscribe,
        );
      } catch (error) {
        return [
          { message: m, deadline },
          { outcome: 'undecidable', error: `not rendered: ${String(error)}` },
        ];
      }
      return [{ message: m, deadline }, await askProvider(transport, payload, m.context.updatedAt)];
    };
    const decided: [PendingLookup, LookupResult][] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(LOOKUP_CONCURRENCY, pending.length) }, async () => {
        while (next < pending.length) {
          const i = next++;
          decided[i] = await decide(pending[i] as PendingLookup);
        }
      }),
    );
    await persistently(() =>
      tx(async (t, out) => {
        const held = new Set(await t.takeDeadlines(decided.map(([p]) => p.deadline.id)));
        const mine = decided.filter(([p]) => held.has(p.deadline.id));
        const locked = new Map((await t.lockMessages(mine.map(([p]) => p.message.id))).map((m) => [m.id, m]));
        const at = clock.now();
        const changes: MessageChange[] = [];
        for (const [{ message, deadline }, r] of mine) {
          const m = locked.get(message.id);
          if (m?.state !== 'sending') continue;
          const { lookups: _, ...event } = deadline.event as { type: string; lookups?: number };
          const timeout = { ...event, at: Math.min(at, deadline.fireAt) };
          const known = m.context.providerMessageId;
          if (r.outcome === 'found' && (known === null || known === r.providerMessageId)) {
            const detail = { lookup: 'found', providerStatus: r.status };
            changes.push({
              message: m,
              event: { type: 'SEND_ACCEPTED', at, providerMessageId: r.providerMessageId },
              detail,
            });
            const status = lookupStatusEvent(r, at);
            if (status) changes.push({ message: m, event: status, detail });
            // Still only queued at the provider: the sending rule applies as without a lookup, and the
            // provider's id now known lets its late callbacks correct it.
            else changes.push({ message: m, event: timeout, detail });
          } else if (r.outcome === 'absent' && known === null) {
            changes.push({
              message: m,
              event: {
                type: 'SEND_PRESEND_ERROR',
                at,
                error: `${transports[m.channel]?.name ?? m.channel}: the provider has no such message after an unknown outcome; sent again`,
              },
              detail: { lookup: 'absent' },
            });
          } else {
            changes.push({
              message: m,
              event: timeout,
              detail: {
                lookup: r.outcome === 'undecidable' ? 'undecidable' : `${r.outcome}, contradicted`,
                error: 'error' in r ? r.error.slice(0, 2000) : undefined,
              },
            });
          }
        }
        await applyChanges(t, out, changes);
      }),
    );
  };

  const inFlightSends: Record<Channel, number> = { sms: 0, email: 0 };

  const resultEvent = (r: SendResult, at: number): MessageEvent => {
    switch (r.outcome) {
      case 'accepted':
        return {
          type: 'SEND_ACCEPTED',
          at,
          ...(r.providerMessageId ? { providerMessageId: r.providerMessageId } : {}),
        };
      case 'presend':
        return {
          type: 'SEND_PRESEND_ERROR',
          at,
          error: r.error.slice(0, 2000),
          ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}),
        };
      case 'rejected':
        return {
          type: 'SEND_REJECTED',
          at,
          reason: r.reason,
          error: r.error.slice(0, 2000),
          ...(r.code ? { code: r.code } : {}),
        };
      default:
        return { type: 'SEND_UNKNOWN', at, error: r.error.slice(0, 2000) };
    }
  };

  /** Runs `fn`, trying again with backoff after a failure (a lost connection, say), at most 8 times. */
  const persistently = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= 7) throw error;
        onError(error);
        await sleep(Math.min(2000, 50 * 2 ** attempt));
      }
    }
  };

  /**
   * Takes the claim's leases before anything reaches the transport: only messages whose lease this
   * worker took are sent (a lease another worker released is gone). When an attempt fails it may still
   * have committed; a retry that finds every lease gone within half the lease knows they were its own.
   */
  const handOver = async (leases: readonly string[], claimedAt: number): Promise<Set<string>> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const taken = await tx((t) => t.takeDeadlines(leases));
        if (attempt === 0 || taken.length > 0) return new Set(taken);
        return clock.now() - claimedAt < leaseMs / 2 ? new Set(leases) : new Set();
      } catch (error) {
        onError(error);
        if (attempt >= 7 || clock.now() - claimedAt >= leaseMs / 2) return new Set();
        await sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
  };

  type Tx = Parameters<typeof applyChanges>[0];
  type Out = Parameters<typeof applyChanges>[1];

  /** Cancels the given messages that are Queued in a campaign that is stopped (nothing of it is sent again). */
  const cancelReleasedIfStopped = async (t: Tx, out: Out, ids: readonly string[], at: number) => {
    if (ids.length === 0) return;
    const locked = await t.lockMessages(ids);
    const stopped = new Set<string>();
    for (const cid of new Set(locked.map((m) => m.campaignId)))
      if ((await t.getCampaign(cid))?.status === 'stopped') stopped.add(cid);
    await applyChanges(
      t,
      out,
      locked
        .filter((m) => m.state === 'queued' && stopped.has(m.campaignId))
        .map((m) => ({ message: m, event: { type: 'CANCEL', at } })),
    );
  };

  /** Gives back to the queue the claimed messages whose leases this worker has taken (a stopped campaign's end Cancelled). */
  const releaseHeld = async (t: Tx, out: Out, ids: readonly string[], at: number) => {
    const locked = await t.lockMessages(ids);
    await applyChanges(
      t,
      out,
      locked.filter((m) => m.state === 'sending').map((m) => ({ message: m, event: { type: 'RELEASE', at } })),
    );
    await cancelReleasedIfStopped(t, out, ids, at);
  };

  /** Gives claimed messages back to the queue at once (the worker is stopping), for the leases it still holds. */
  const releaseClaims = async (claimed: readonly { message: MessageRecord }[], leases: readonly string[]) => {
    try {
      await tx(async (t, out) => {
        const taken = new Set(await t.takeDeadlines(leases));
        const ids = claimed.filter((_, i) => taken.has(leases[i] as string)).map(({ message }) => message.id);
        await releaseHeld(t, out, ids, clock.now());
      });
    } catch (error) {
      // The leases expire on their own and another worker releases the messages then.
      onError(error);
    }
  };

  /** Dispatches one round for one channel; returns how many messages were handed to the transport. */
  const dispatchChannel = async (channel: Channel): Promise<{ sent: number; waiting: boolean }> => {
    const transport = transports[channel];
    if (!transport) return { sent: 0, waiting: false };
    const concurrency = transport.limits?.concurrency ?? 16;
    const campaigns = await tx((t) => t.listCampaigns({ channel, statuses: ['in_progress'] }));
    let sent = 0;
    let waiting = false;
    for (const campaign of campaigns) {
      if (stopping) break;
      const free = Math.min(concurrency - inFlightSends[channel], batchSize);
      if (free <= 0) {
        waiting = true;
        break;
      }
      const now = clock.now();
      // This claim's lease: one deadline per message, released unless taken before the hand-over.
      const token = createId('l');
      const claimed = await tx(async (t, out) => {
        // Locked for the whole claim, so that a stop or pause waits for this batch and then cancels or
        // holds what is left (messages are claimed with SKIP LOCKED, so a stop could not see them).
        const c = await t.getCampaign(campaign.id, { forUpdate: true });
        if (c?.status !== 'in_progress' || !c.content) return [];
        const allowed = Math.min(free, limiters[channel].available(now));
        if (allowed === 0) {
          // Rate-limited: wake at the next slot only if something is waiting for it.
          if ((await t.claimMessages(c.id, 'queued', 1)).length > 0) waiting = true;
          return [];
        }
        const batch = await t.claimMessages(c.id, 'queued', allowed);
        if (batch.length === 0) {
          // Ingest derives campaign statuses after its own commit; should its process die in between,
          // a campaign whose messages are all final is completed here.
          const { counts } = await t.getCounters(c.id);
          if ((Object.keys(counts) as MessageStatus[]).every((s) => isFinalMessageStatus(s) || counts[s] === 0))
            await rederive(t, out, c);
          return [];
        }
        if (batch.length === allowed && allowed < free) waiting = true;
        const suppressed = await t.suppressedAmong(
          c.scope,
          channel,
          batch.map((m) => m.to),
        );
        const contacts = await t.getContacts(batch.map((m) => m.contactId));
        const changes: MessageChange[] = [];
        const outgoing: { message: MessageRecord; payload: OutgoingSms | OutgoingEmail | null; error?: string }[] = [];
        for (const m of batch) {
          if (suppressed.has(m.to)) {
            changes.push({ message: m, event: { type: 'OPT_OUT', at: now, source: 'suppression_list' } });
            continue;
          }
          const contact = contacts.get(m.contactId);
          try {
            const payload = await renderer.render(
              c,
              m,
              contact?.fields ?? {},
              m.context.attempts + 1,
              options.unsubscribe,
            );
            changes.push({ message: m, event: { type: 'DISPATCH', at: now } });
            outgoing.push({ message: m, payload });
          } catch (error) {
            changes.push({
              message: m,
              event: { type: 'DISPATCH', at: now },
            });
            outgoing.push({ message: m, payload: null, error: error instanceof Error ? error.message : String(error) });
          }
        }
        await applyChanges(t, out, changes);
        if (outgoing.length) {
          await t.upsertDeadlines(
            outgoing.map(({ message }) => ({
              id: leaseKey(message.id, token),
              kind: 'message' as const,
              entityId: message.id,
              campaignId: message.campaignId,
              fireAt: now + leaseMs,
              event: { type: 'RELEASE' },
            })),
          );
        }
        return outgoing;
      });
      if (claimed.length === 0) continue;
      const leases = claimed.map(({ message }) => leaseKey(message.id, token));
      if (stopping) {
        await releaseClaims(claimed, leases);
        continue;
      }
      const held = await handOver(leases, now);
      const handed = claimed.filter((_, i) => held.has(leases[i] as string));
      if (handed.length === 0) continue;
      if (clock.now() >= now + leaseMs) {
        // The hand-over came after the lease ran out (a stalled worker): a lookup trusts that nothing is
        // handed to the transport later than the lease (`startedBy`), so these go back to the queue unsent.
        await persistently(() =>
          tx((t, out) =>
            releaseHeld(
              t,
              out,
              handed.map(({ message }) => message.id),
              clock.now(),
            ),
          ),
        ).catch(onError);
        continue;
      }
      inFlightSends[channel] += handed.length;
      const sending = handed.map(async ({ message, payload, error }): Promise<[MessageRecord, SendResult]> => {
        if (!payload)
          return [message, { outcome: 'rejected', reason: 'failed_to_create', error: error ?? 'render failed' }];
        try {
          const r = await (transport as { send(m: unknown): Promise<SendResult> }).send(payload);
          return [message, r];
        } catch (e) {
          // A transport that throws broke its contract; it may have sent, so never resend.
          onError(e);
          return [message, { outcome: 'unknown', error: e instanceof Error ? e.message : String(e) }];
        } finally {
          inFlightSends[channel]--;
        }
      });
      // Recorded once every send has started (each `send` is called synchronously above), so a slot frees
      // 1,000 ms after the latest start: no window the transport sees ever holds more than the limit.
      limiters[channel].record(clock.now(), handed.length);
      const results = await Promise.all(sending);
      sent += handed.length;
      const fatal = results.find(([, r]) => r.outcome === 'rejected' && r.fatal);
      // What the provider said is recorded even across a lost connection: retried (every result event is
      // idempotent for the machine), else the messages would wait in Sending for the sending rule.
      await persistently(() =>
        tx(async (t, out) => {
          const at = clock.now();
          const locked = await t.lockMessages(results.map(([m]) => m.id));
          const byId = new Map(locked.map((m) => [m.id, m]));
          const changes: MessageChange[] = [];
          for (const [m, r] of results) {
            const current = byId.get(m.id);
            if (current)
              changes.push({
                message: current,
                event: resultEvent(r, at),
                detail: r.outcome === 'accepted' ? undefined : { error: 'error' in r ? r.error : undefined },
              });
          }
          if (fatal) {
            // Failed before the results are counted: once every message of a small campaign is final, its
            // counters would move it to complete-with-errors, where FAIL no longer applies (seed 000).
            const c = await t.getCampaign(campaign.id, { forUpdate: true });
            const cause = `The ${transport.name} transport refused the account: ${(fatal[1] as { error: string }).error}`;
            if (c && campaignCan(c.state, { type: 'FAIL', cause }))
              await moveCampaign(t, out, c, { type: 'FAIL', cause }, null, 'transport_refused_credentials');
          }
          await applyChanges(t, out, changes);
        }),
      );
    }
    return { sent, waiting };
  };

  let timer: TimerHandle | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let started = false;
  let busy: Promise<void> | null = null;
  let again = false;
  let stopping = false;

  const arm = (at: number) => {
    if (!started) return;
    if (timer !== undefined && timerAt <= at) return;
    if (timer !== undefined) clock.clearTimeout(timer);
    timerAt = at;
    timer = clock.setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        return runOnce().catch(onError);
      },
      Math.max(0, at - clock.now()),
    );
  };

  const runOnce = (): Promise<void> => {
    if (busy) {
      again = true;
      return busy;
    }
    busy = (async () => {
      try {
        let rateWait = false;
        for (let round = 0; round < 1_000_000; round++) {
          if (stopping) break;
          again = false;
          const fired = await fireDue();
          const [sms, email] = await Promise.all([dispatchChannel('sms'), dispatchChannel('email')]);
          rateWait = sms.waiting || email.waiting;
          if (fired === 0 && sms.sent === 0 && email.sent === 0 && !again) break;
        }
        const now = clock.now();
        let next = (await tx((t) => t.nextDeadlineAt())) ?? Number.POSITIVE_INFINITY;
        if (rateWait) {
          for (const ch of ['sms', 'email'] as const)
            if (transports[ch]) next = Math.min(next, Math.max(now + 1, limiters[ch].nextSlot(now)));
        }
        if (pollMs !== undefined) next = Math.min(next, now + pollMs);
        if (Number.isFinite(next)) arm(next);
      } catch (error) {
        // The failed transaction rolled back; try again shortly rather than stall the campaign for ever.
        arm(clock.now() + WORKER_RETRY_MS);
        throw error;
      } finally {
        busy = null;
        stopping = false;
      }
    })();
    return busy;
  };

  const worker: EngineWorker = {
    startDueScheduled,
    start() {
      if (started) return;
      started = true;
      for (const t of Object.values(transports)) t?.connect?.(sink());
      arm(clock.now());
    },
    async stop(opts) {
      started = false;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      if (!busy) return;
      // The round ends early: unstarted claims go back to the queue, sends in flight are recorded.
      stopping = true;
      let bound: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          busy.catch(() => {}), // the round's error went to whoever started it
          new Promise<void>((resolve) => {
            bound = setTimeout(resolve, opts?.timeoutMs ?? STOP_TIMEOUT_MS);
          }),
        ]);
      } finally {
        clearTimeout(bound);
      }
    },
    runOnce,
    get running() {
      return started;
    },
    kick() {
      if (started) arm(clock.now());
    },
    wakeBy(at) {
      if (started) arm(at);
    },
  };

  return worker;
}
