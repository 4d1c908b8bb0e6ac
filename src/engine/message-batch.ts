/**
 * Applies message events inside one storage transaction: each message steps through its pure
 * machine; the new rows, log entries and deadline changes are written, and the counter moves returned.
 */
import type { MessageEvent, TimerEvent } from '../machines/message-events.js';
import type { MessageStepper } from '../machines/message-step.js';
import type { CounterDelta, StorageTransaction } from '../ports/storage.js';
import type { DeadlineRecord, MessageLogEntry, MessageRecord } from '../records.js';
import type { MessageCounts, MessageStatus } from '../statuses.js';
import type { MessageStatusEvent } from './events.js';

/** One event for one message. */
export interface MessageChange {
  readonly message: MessageRecord;
  readonly event: MessageEvent | TimerEvent;
  /** Extra facts for the log (raw provider status, error text). */
  readonly detail?: Record<string, unknown> | undefined;
}

/** What a batch did. */
export interface BatchOutcome {
  /** The messages after the batch, in input order (unchanged ones as they were). */
  readonly messages: MessageRecord[];
  /** How many events changed their message. */
  readonly changed: number;
  /** For each change, in input order, whether it changed its message. */
  readonly changedFlags: boolean[];
  /** The earliest deadline the batch set, if any (the worker must wake by then). */
  readonly earliestTimer: number | undefined;
  /**
   * Counter moves per campaign, NOT yet written: the caller locks the campaigns first and then adds
   * them, so that every transaction takes campaign and counter locks in the same order.
   */
  readonly counters: CounterDelta[];
  /** Status changes, for subscribers (only collected when `collectEvents`). */
  readonly statusEvents: MessageStatusEvent[];
}

const timerKey = (messageId: string, timerId: string) => `${messageId}|${timerId}`;

/** Turns a fired deadline's event type into a short name for the log. */
function logName(type: string): string {
  return type.startsWith('xstate.after.') ? `TIMEOUT(${type.slice('xstate.after.'.length)})` : type;
}

/**
 * Steps every message and writes the result. Several events for one message in the same batch are
 * applied in order, each on the result of the previous one.
 */
export async function applyMessageChanges(
  tx: StorageTransaction,
  stepperFor: (message: MessageRecord) => MessageStepper,
  changes: readonly MessageChange[],
  collectEvents: boolean,
): Promise<BatchOutcome> {
  const latest = new Map<string, MessageRecord>();
  const updated = new Map<string, MessageRecord>();
  const log: MessageLogEntry[] = [];
  const upserts = new Map<string, DeadlineRecord>();
  const deletes = new Set<string>();
  const deltas = new Map<string, Partial<Record<MessageStatus, number>>>();
  const statusEvents: MessageStatusEvent[] = [];
  const out: MessageRecord[] = [];
  const changedFlags: boolean[] = [];
  let changedCount = 0;

  for (const change of changes) {
    const current = latest.get(change.message.id) ?? change.message;
    const stepper = stepperFor(current);
    const step = stepper.step({ state: current.state, context: current.context }, change.event);
    const at = change.event.at;
    // Object literals of one shape (no spreads): this loop runs for every event of every message.
    log.push({
      messageId: current.id,
      campaignId: current.campaignId,
      at,
      event: logName(change.event.type),
      from: current.status,
      to: step.status,
      changed: step.changed,
      detail: change.detail,
    });
    changedFlags.push(step.changed);
    if (!step.changed) {
      out.push(current);
      continue;
    }
    changedCount++;
    const next: MessageRecord = {
      id: current.id,
      campaignId: current.campaignId,
      contactId: current.contactId,
      scope: current.scope,
      channel: current.channel,
      to: current.to,
      status: step.status,
      state: step.state,
      context: step.context,
      createdAt: current.createdAt,
      updatedAt: at,
    };
    latest.set(next.id, next);
    updated.set(next.id, next);
    out.push(next);
    for (const id of step.timers.cancel) {
      const key = timerKey(next.id, id);
      upserts.delete(key);
      deletes.add(key);
    }
    for (const t of step.timers.set) {
      const key = timerKey(next.id, t.id);
      deletes.delete(key);
      upserts.set(key, {
        id: key,
        kind: 'message',
        entityId: next.id,
        campaignId: next.campaignId,
        fireAt: at + t.delay,
        event: t.event,
      });
    }
    if (current.status !== step.status) {
      let d = deltas.get(next.campaignId);
      if (!d) {
        d = {};
        deltas.set(next.campaignId, d);
      }
      d[current.status] = (d[current.status] ?? 0) - 1;
      d[step.status] = (d[step.status] ?? 0) + 1;
      if (collectEvents) {
        statusEvents.push({
          type: 'message.status',
          campaignId: next.campaignId,
          messageId: next.id,
          from: current.status,
          to: step.status,
          reason: step.context.reason,
          at,
        });
      }
    }
  }

  if (updated.size) await tx.updateMessages([...updated.values()]);
  if (log.length) await tx.appendLog(log);
  if (deletes.size) await tx.deleteDeadlines([...deletes]);
  if (upserts.size) await tx.upsertDeadlines([...upserts.values()]);
  const counters: CounterDelta[] = [];
  for (const [campaignId, counts] of deltas) counters.push({ campaignId, counts: counts as Partial<MessageCounts> });
  let earliestTimer: number | undefined;
  for (const d of upserts.values())
    if (earliestTimer === undefined || d.fireAt < earliestTimer) earliestTimer = d.fireAt;
  return { messages: out, changed: changedCount, changedFlags, earliestTimer, counters, statusEvents };
}
