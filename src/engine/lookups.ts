/**
 * Sends of unknown outcome at their sending timeout: the transport's `lookup` is asked (bounded, a few
 * at a time, outside any transaction) and its answer settles the message; anything else is undecidable
 * and the sending rule applies as without a lookup.
 */

import { FAILURE_REASON_IDS, type FailureReasonId } from '../failure-reasons.js';
import type { MessageEvent } from '../machines/message-events.js';
import type { LookupResult, Transport } from '../ports/transport.js';
import type { CampaignRecord, DeadlineRecord, MessageRecord } from '../records.js';
import type { EngineParts } from './context.js';
import type { MessageChange } from './message-batch.js';
import { persistently } from './retries.js';
import { canLookUp, lookupVia, type Outgoing } from './transport-calls.js';

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

/** A sending timeout held back while its transport is asked about the send. */
export interface PendingLookup {
  readonly message: MessageRecord;
  readonly deadline: DeadlineRecord;
}

/** Lookups already started for this timeout (by workers that died before deciding). */
const lookupsOf = (d: DeadlineRecord) => {
  const n = (d.event as { lookups?: unknown }).lookups;
  return typeof n === 'number' ? n : 0;
};

/** Sends of unknown outcome, looked up. */
export interface Lookups {
  /**
   * Whether a fired deadline is a send whose outcome is unknown reaching its sending timeout: still
   * Sending and no provider id (the provider never answered, or the worker died after the hand-over),
   * and its transport can look it up.
   */
  needsLookup(m: MessageRecord, d: DeadlineRecord): boolean;
  /** The timeouts kept (same ids) as the leases of the lookups about to run, until they may take. */
  leases(pending: readonly PendingLookup[], now: number): DeadlineRecord[];
  /** Asks the transports and applies what they answered (see the module comment). */
  reconcile(pending: readonly PendingLookup[]): Promise<void>;
}

/** Builds the lookups; `leaseMs` bounds when a claimed message can have been handed over. */
export function createLookups(parts: EngineParts, leaseMs: number): Lookups {
  const { clock, onError, renderer, transports, tx, applyChanges, options } = parts;

  /** Asks the transport, bounded; a throw, a hang or a malformed answer is undecidable. */
  const askProvider = async (transport: Transport, payload: Outgoing, dispatchedAt: number): Promise<LookupResult> => {
    const controller = new AbortController();
    let bound: ReturnType<typeof setTimeout> | undefined;
    try {
      const answer = await Promise.race([
        lookupVia(transport, payload, {
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
      return { outcome: 'undecidable', error: error instanceof Error ? error.message : String(error) };
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
      const campaigns = new Map<string, CampaignRecord | undefined>();
      for (const id of ids) campaigns.set(id, await t.getCampaign(id));
      return { campaigns, contacts: await t.getContacts(pending.map(({ message }) => message.contactId)) };
    });
    const decide = async ({ message: m, deadline }: PendingLookup): Promise<[PendingLookup, LookupResult]> => {
      const transport = transports[m.channel];
      if (!transport)
        return [
          { message: m, deadline },
          { outcome: 'undecidable', error: `no ${m.channel} transport` },
        ];
      const c = campaigns.get(m.campaignId);
      let payload: Outgoing;
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
    await persistently(
      () =>
        tx(async (t, fx) => {
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
          await applyChanges(t, fx, changes);
        }),
      onError,
    );
  };

  return {
    needsLookup: (m, d) =>
      d.event.type.startsWith('xstate.after.sendingTimeout.') &&
      m.state === 'sending' &&
      m.context.providerMessageId === null &&
      canLookUp(transports[m.channel]) &&
      lookupsOf(d) < MAX_LOOKUPS,
    leases: (pending, now) =>
      pending.map(({ deadline: d }) => ({
        ...d,
        fireAt: now + LOOKUP_TIMEOUT_MS * Math.ceil(pending.length / LOOKUP_CONCURRENCY) + LOOKUP_LEASE_MARGIN_MS,
        event: { ...d.event, lookups: lookupsOf(d) + 1 },
      })),
    reconcile,
  };
}
