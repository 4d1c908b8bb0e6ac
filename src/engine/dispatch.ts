/**
 * Dispatch: queued messages of running campaigns are claimed under a lease, rendered, handed over to
 * the channel's transport within its concurrency and rate limits, and the transport's answers recorded.
 */

import type { OutgoingEmail } from '../content.js';
import { campaignCan } from '../machines/campaign.js';
import type { MessageEvent } from '../machines/message-events.js';
import type { StorageTransaction } from '../ports/storage.js';
import type { EmailTransport, SendResult, Transport } from '../ports/transport.js';
import type { CampaignRecord, DeadlineRecord, MessageRecord } from '../records.js';
import { nextWindowOpening, recipientTimeZone } from '../sending-window.js';
import { type Channel, MESSAGE_STATUSES, type MessageCounts } from '../statuses.js';
import { type EngineParts, lastId, type TxEffects } from './context.js';
import { createId } from './ids.js';
import type { MessageChange } from './message-batch.js';
import { persistently, sleep } from './retries.js';
import { type Outgoing, sendVia } from './transport-calls.js';
import { doneCount } from './views.js';

/** The deadline that holds a claim: it releases the message unless the claimant takes it first. */
const leaseKey = (messageId: string, token: string) => `${messageId}|lease:${token}`;

/** What the worker tells a dispatch round: whether it is stopping, and the signal sends get. */
export interface RoundState {
  /** The worker is stopping: claim nothing more; give back what is claimed and not handed over. */
  readonly stopping: boolean;
  /** Aborted when the worker stops; passed to every send. */
  readonly signal: AbortSignal;
}

/** What one round of one channel did. */
export interface ChannelRound {
  /** Messages handed to the transport. */
  readonly sent: number;
  /** Messages are waiting for a free slot (of the rate limit, or of the concurrency). */
  readonly waiting: boolean;
  /** Messages claimed and not sent: held for their sending window, or cancelled by the campaign's deadline. */
  readonly held: number;
}

/** A claimed message, rendered (or the reason it could not be). */
interface Claimed {
  readonly message: MessageRecord;
  readonly payload: Outgoing | null;
  readonly error?: string;
}

/** Dispatch rounds, one channel at a time. */
export interface Dispatch {
  /** Dispatches one round for one channel. */
  dispatchChannel(channel: Channel, round: RoundState): Promise<ChannelRound>;
}

/** The message event of a transport's answer. */
function resultEvent(r: SendResult, at: number): MessageEvent {
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
}

/** Builds dispatch over the engine's parts; `leaseMs` is how long a claim holds its messages. */
export function createDispatch(parts: EngineParts, leaseMs: number): Dispatch {
  const {
    clock,
    batchSize,
    renderer,
    onError,
    transports,
    limiters,
    options,
    tx,
    moveCampaign,
    applyChanges,
    cancelQueuedIfStopped,
    rederive,
  } = parts;
  const inFlightSends: Record<Channel, number> = { sms: 0, email: 0 };

  /**
   * Takes the claim's leases before anything reaches the transport: only messages whose lease this
   * worker took are sent (a lease another worker released is gone). In the same transaction the
   * suppression list is checked again: an opt-out that committed since the claim ends its message Opted
   * Out instead of sending it, so that no transport call starts after an opt-out was acknowledged (only
   * a call whose hand-over had already committed). When an attempt fails it may still have committed; a
   * retry that finds every lease gone within half the lease knows they were its own, and sends those of
   * them still in Sending (the committed attempt may have opted some out).
   */
  const handOver = async (claimed: readonly Claimed[], leases: readonly string[], claimedAt: number) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await tx(async (t, fx) => {
          const taken = new Set(await t.takeDeadlines(leases));
          if (attempt === 0 || taken.size > 0)
            return withoutSuppressed(
              t,
              fx,
              claimed.filter((_, i) => taken.has(leases[i] as string)),
              false,
            );
          return clock.now() - claimedAt < leaseMs / 2 ? withoutSuppressed(t, fx, claimed, true) : [];
        });
      } catch (error) {
        onError(error);
        if (attempt >= 7 || clock.now() - claimedAt >= leaseMs / 2) return [];
        await sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
  };

  /**
   * The held messages that may go to the transport: those whose address is suppressed now end Opted
   * Out (source `suppression_list`). With `recheck` (a retried hand-over), only messages still in
   * Sending are kept.
   */
  const withoutSuppressed = async (
    t: StorageTransaction,
    fx: TxEffects,
    held: readonly Claimed[],
    recheck: boolean,
  ): Promise<Claimed[]> => {
    const first = held[0]?.message;
    if (!first) return [];
    const suppressed = await t.suppressedAmong(
      first.scope,
      first.channel,
      held.map(({ message }) => message.to),
    );
    let keep = held.filter(({ message }) => !suppressed.has(message.to));
    const optOut = held.filter(({ message }) => suppressed.has(message.to)).map(({ message }) => message.id);
    if (recheck && keep.length > 0) {
      const sending = new Set(
        (await t.lockMessages(keep.map(({ message }) => message.id)))
          .filter((m) => m.state === 'sending')
          .map((m) => m.id),
      );
      keep = keep.filter(({ message }) => sending.has(message.id));
    }
    if (optOut.length > 0) {
      const at = clock.now();
      const locked = await t.lockMessages(optOut);
      await applyChanges(
        t,
        fx,
        locked
          .filter((m) => m.state === 'sending')
          .map((m) => ({ message: m, event: { type: 'OPT_OUT', at, source: 'suppression_list' } })),
      );
    }
    return keep;
  };

  /** Gives back to the queue the claimed messages whose leases this worker has taken (a stopped campaign's end Cancelled). */
  const releaseHeld = async (t: StorageTransaction, fx: TxEffects, ids: readonly string[], at: number) => {
    const locked = await t.lockMessages(ids);
    await applyChanges(
      t,
      fx,
      locked.filter((m) => m.state === 'sending').map((m) => ({ message: m, event: { type: 'RELEASE', at } })),
    );
    await cancelQueuedIfStopped(t, fx, ids, at);
  };

  /** Gives claimed messages back to the queue at once (the worker is stopping), for the leases it still holds. */
  const releaseClaims = async (claimed: readonly Claimed[], leases: readonly string[]) => {
    try {
      await tx(async (t, fx) => {
        const taken = new Set(await t.takeDeadlines(leases));
        const ids = claimed.filter((_, i) => taken.has(leases[i] as string)).map(({ message }) => message.id);
        await releaseHeld(t, fx, ids, clock.now());
      });
    } catch (error) {
      // The leases expire on their own and another worker releases the messages then.
      onError(error);
    }
  };

  /** Renders the batch (suppressed addresses opt out instead) and steps it: Queued → Sending. */
  const prepareBatch = async (
    t: StorageTransaction,
    fx: TxEffects,
    c: CampaignRecord,
    batch: readonly MessageRecord[],
    now: number,
  ): Promise<{ outgoing: Claimed[]; held: number }> => {
    const suppressed = await t.suppressedAmong(
      c.scope,
      c.channel,
      batch.map((m) => m.to),
    );
    const contacts = await t.getContacts(batch.map((m) => m.contactId));
    const changes: MessageChange[] = [];
    const outgoing: Claimed[] = [];
    let held = 0;
    for (const m of batch) {
      if (suppressed.has(m.to)) {
        changes.push({ message: m, event: { type: 'OPT_OUT', at: now, source: 'suppression_list' } });
        continue;
      }
      const fields = contacts.get(m.contactId)?.fields ?? {};
      const opens = c.sendingWindow
        ? nextWindowOpening(c.sendingWindow, recipientTimeZone(c.sendingWindow, fields), now)
        : now;
      if (opens > now) {
        // Outside the recipient's window: it waits (still Queued) for a durable timer at the opening.
        changes.push({ message: m, event: { type: 'HOLD', at: now, until: opens } });
        held++;
        continue;
      }
      changes.push({ message: m, event: { type: 'DISPATCH', at: now } });
      try {
        const payload = await renderer.render(c, m, fields, m.context.attempts + 1, options.unsubscribe);
        outgoing.push({ message: m, payload });
      } catch (error) {
        outgoing.push({ message: m, payload: null, error: error instanceof Error ? error.message : String(error) });
      }
    }
    await applyChanges(t, fx, changes);
    return { outgoing, held };
  };

  /** One lease deadline per claimed message. */
  const leaseDeadlines = (claimed: readonly Claimed[], token: string, now: number): DeadlineRecord[] =>
    claimed.map(({ message }) => ({
      id: leaseKey(message.id, token),
      kind: 'message',
      entityId: message.id,
      campaignId: message.campaignId,
      fireAt: now + leaseMs,
      event: { type: 'RELEASE' },
    }));

  /**
   * Claims up to `free` queued messages of the campaign under a lease (`token`), within the rate limit.
   * The campaign stays locked for the whole claim, so that a stop or pause waits for this batch and
   * then cancels or holds what is left (messages are claimed with SKIP LOCKED: a stop could not see them).
   */
  const claim = async (
    t: StorageTransaction,
    fx: TxEffects,
    campaignId: string,
    channel: Channel,
    free: number,
    now: number,
    token: string,
  ): Promise<{ claimed: Claimed[]; waiting: boolean; held: number; cursor: string | undefined }> => {
    const c = await t.getCampaign(campaignId, { forUpdate: true });
    if (c?.status !== 'in_progress' || !c.content) return { claimed: [], waiting: false, held: 0, cursor: undefined };
    if (typeof c.deadline === 'number' && now >= c.deadline) {
      // Past the deadline nothing is sent: what comes back to the queue (a retry, a released claim,
      // a window that opens) is cancelled, whether or not the deadline itself has fired yet.
      const late = await t.claimMessages(c.id, 'queued', free);
      await applyChanges(
        t,
        fx,
        late.map((m) => ({ message: m, event: { type: 'DEADLINE_PASSED', at: now } })),
      );
      return { claimed: [], waiting: false, held: late.length, cursor: undefined };
    }
    const allowed = Math.min(free, limiters[channel].available(now));
    const { batch, cursor } = await claimQueued(t, c.id, Math.max(allowed, 1), claimCursors.get(c.id));
    if (allowed === 0) {
      // Rate-limited: wake at the next slot only if something is waiting for it (the peeked message is
      // only locked until this transaction ends).
      return { claimed: [], waiting: batch.length > 0, held: 0, cursor: claimCursors.get(c.id) };
    }
    if (batch.length === 0) {
      // Ingest derives campaign statuses after its own commit; should its process die in between,
      // a campaign whose messages are all final is completed here.
      const { counts } = await t.getCounters(c.id);
      if (allFinal(counts)) await rederive(t, fx, c);
      return { claimed: [], waiting: false, held: 0, cursor };
    }
    const { outgoing: claimed, held } = await prepareBatch(t, fx, c, batch, now);
    if (claimed.length) await t.upsertDeadlines(leaseDeadlines(claimed, token, now));
    return { claimed, waiting: batch.length === allowed && allowed < free, held, cursor };
  };

  /**
   * Where each campaign's last claim ended in this process (the keyset claim): the next claim asks the
   * storage for queued messages after that id, so it never steps over the messages already claimed.
   * Only a hint: set once the claim's transaction has committed, and forgotten whenever a claim comes
   * back short.
   */
  const claimCursors = new Map<string, string>();

  /**
   * Claims up to `limit` queued messages, after `after` when given. A claim after a cursor that comes
   * back short starts again from the beginning of the campaign (a released claim or a retry is queued
   * again with an id below the cursor), and the cursor ends where the last part of the claim ended.
   */
  const claimQueued = async (
    t: StorageTransaction,
    campaignId: string,
    limit: number,
    after: string | undefined,
  ): Promise<{ batch: MessageRecord[]; cursor: string | undefined }> => {
    const batch = await t.claimMessages(campaignId, 'queued', limit, after);
    if (after === undefined || batch.length >= limit) return { batch, cursor: lastId(batch) };
    // Rows this transaction already locked are not skipped by a second claim: leave them out.
    const have = new Set(batch.map((m) => m.id));
    const again = (await t.claimMessages(campaignId, 'queued', limit - batch.length)).filter((m) => !have.has(m.id));
    return { batch: [...again, ...batch], cursor: again.length > 0 ? lastId(again) : lastId(batch) };
  };

  /**
   * Hands the round's emails to the transport's `sendBatch` in one call (it groups them into as few
   * requests as it can). Each message counts against the rate limit and the concurrency, as with
   * `send`: limits count recipients, not requests. A throw, or an answer that is not one result per
   * email, makes every email of the call unknown (they may have been sent).
   */
  const sendBatched = async (
    transport: EmailTransport,
    sendBatch: NonNullable<EmailTransport['sendBatch']>,
    handed: readonly Claimed[],
    signal: AbortSignal,
  ): Promise<[MessageRecord, SendResult][]> => {
    inFlightSends.email += handed.length;
    const results: Promise<[MessageRecord, SendResult]>[] = [];
    const emails: OutgoingEmail[] = [];
    const owners: MessageRecord[] = [];
    for (const { message, payload, error } of handed) {
      if (payload?.channel === 'email') {
        emails.push(payload);
        owners.push(message);
      } else if (payload) results.push(sendVia(transport, payload, { signal }).then((r) => [message, r]));
      else
        results.push(
          Promise.resolve([
            message,
            { outcome: 'rejected', reason: 'failed_to_create', error: error ?? 'render failed' },
          ]),
        );
    }
    limiters.email.record(clock.now(), handed.length);
    try {
      let answers: readonly SendResult[] | undefined;
      let broken = 'sendBatch answered with another number of results';
      try {
        answers = emails.length > 0 ? await sendBatch.call(transport, emails, { signal }) : [];
      } catch (e) {
        onError(e);
        broken = e instanceof Error ? e.message : String(e);
      }
      const whole = Array.isArray(answers) && answers.length === emails.length;
      owners.forEach((message, i) => {
        const r = whole ? (answers?.[i] as SendResult) : ({ outcome: 'unknown', error: broken } as const);
        results.push(Promise.resolve([message, r]));
      });
      return await Promise.all(results);
    } finally {
      inFlightSends.email -= handed.length;
    }
  };

  /** Hands every message to the transport at once; a throw is an unknown outcome (it may have been sent). */
  const sendAll = (
    channel: Channel,
    transport: Transport,
    handed: readonly Claimed[],
    signal: AbortSignal,
  ): Promise<[MessageRecord, SendResult][]> => {
    if (transport.channel === 'email' && typeof transport.sendBatch === 'function')
      return sendBatched(transport, transport.sendBatch, handed, signal);
    inFlightSends[channel] += handed.length;
    const sending = handed.map(async ({ message, payload, error }): Promise<[MessageRecord, SendResult]> => {
      if (!payload)
        return [message, { outcome: 'rejected', reason: 'failed_to_create', error: error ?? 'render failed' }];
      try {
        return [message, await sendVia(transport, payload, { signal })];
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
    return Promise.all(sending);
  };

  /**
   * Records what the provider said, even across a lost connection: retried (every result event is
   * idempotent for the machine), else the messages would wait in Sending for the sending rule.
   */
  const recordResults = (campaignId: string, transport: Transport, results: readonly [MessageRecord, SendResult][]) =>
    persistently(
      () =>
        tx(async (t, fx) => {
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
          const fatal = results.find(([, r]) => r.outcome === 'rejected' && r.fatal)?.[1];
          if (fatal && 'error' in fatal) {
            // Failed before the results are counted: once every message of a small campaign is final, its
            // counters would move it to complete-with-errors, where FAIL no longer applies (seed 000).
            const c = await t.getCampaign(campaignId, { forUpdate: true });
            const cause = `The ${transport.name} transport refused the account: ${fatal.error}`;
            if (c && campaignCan(c.state, { type: 'FAIL', cause }))
              await moveCampaign(t, fx, {
                campaign: c,
                event: { type: 'FAIL', cause },
                cause: 'transport_refused_credentials',
              });
          }
          await applyChanges(t, fx, changes);
        }),
      onError,
    );

  /** Claims, hands over and sends one batch of one campaign; returns how many were sent. */
  const dispatchCampaign = async (
    campaignId: string,
    channel: Channel,
    transport: Transport,
    free: number,
    round: RoundState,
  ): Promise<ChannelRound> => {
    const now = clock.now();
    // This claim's lease: one deadline per message, released unless taken before the hand-over.
    const token = createId('l');
    const { claimed, waiting, held, cursor } = await tx((t, fx) => claim(t, fx, campaignId, channel, free, now, token));
    if (cursor === undefined) claimCursors.delete(campaignId);
    else {
      if (!claimCursors.has(campaignId) && claimCursors.size >= 10_000) claimCursors.clear();
      claimCursors.set(campaignId, cursor);
    }
    if (claimed.length === 0) return { sent: 0, waiting, held };
    const leases = claimed.map(({ message }) => leaseKey(message.id, token));
    if (round.stopping) {
      await releaseClaims(claimed, leases);
      return { sent: 0, waiting, held };
    }
    const handed = await handOver(claimed, leases, now);
    if (handed.length === 0) return { sent: 0, waiting, held };
    if (clock.now() >= now + leaseMs) {
      // The hand-over came after the lease ran out (a stalled worker): a lookup trusts that nothing is
      // handed to the transport later than the lease (`startedBy`), so these go back to the queue unsent.
      const ids = handed.map(({ message }) => message.id);
      await persistently(() => tx((t, fx) => releaseHeld(t, fx, ids, clock.now())), onError).catch(onError);
      return { sent: 0, waiting, held };
    }
    const results = await sendAll(channel, transport, handed, round.signal);
    await recordResults(campaignId, transport, results);
    return { sent: handed.length, waiting, held };
  };

  const dispatchChannel = async (channel: Channel, round: RoundState): Promise<ChannelRound> => {
    const transport = transports[channel];
    if (!transport) return { sent: 0, waiting: false, held: 0 };
    const concurrency = transport.limits?.concurrency ?? 16;
    const campaigns = await tx((t) => t.listCampaigns({ channel, statuses: ['in_progress'] }));
    let sent = 0;
    let held = 0;
    let waiting = false;
    for (const campaign of campaigns) {
      if (round.stopping) break;
      const free = Math.min(concurrency - inFlightSends[channel], batchSize);
      if (free <= 0) {
        waiting = true;
        break;
      }
      const r = await dispatchCampaign(campaign.id, channel, transport, free, round);
      sent += r.sent;
      held += r.held;
      waiting ||= r.waiting;
    }
    return { sent, waiting, held };
  };

  return { dispatchChannel };
}

/** Whether every message counted is in a final status. */
function allFinal(counts: MessageCounts): boolean {
  let total = 0;
  for (const s of MESSAGE_STATUSES) total += counts[s];
  return doneCount(counts) === total;
}
