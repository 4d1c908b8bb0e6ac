import {
  type Channel,
  type MessageFilter,
  type MessageLogEntry,
  type MessageRecord,
  OutreachError,
} from 'campaign-lifecycle';
import { getOrCreate, key2 } from './get-or-create.js';
import { page, SortedIds } from './sorted-ids.js';
import type { Undo, UndoLog } from './undo-log.js';

/** Messages by id with their indexes (by campaign, by machine state, by provider id) and their event logs. */
export class MessageStore {
  private readonly messages = new Map<string, MessageRecord>();
  private readonly byCampaign = new Map<string, SortedIds>();
  /** Per campaign, per machine state: the ids in the order they entered the state (claims take the oldest). */
  private readonly byState = new Map<string, Map<string, Set<string>>>();
  private readonly byProviderId = new Map<string, string>();
  private readonly logs = new Map<string, MessageLogEntry[]>();
  constructor(
    private readonly undo: UndoLog,
    private readonly keepLog: boolean,
  ) {}

  private stateSet(campaignId: string, state: string): Set<string> {
    const byState = getOrCreate(this.byState, campaignId, () => new Map<string, Set<string>>());
    return getOrCreate(byState, state, () => new Set<string>());
  }

  private static providerKey(m: MessageRecord): string | undefined {
    return m.context.providerMessageId === null ? undefined : key2(m.channel, m.context.providerMessageId);
  }

  /** Puts a message in place with its indexes; returns the previous version. */
  private put(m: MessageRecord): MessageRecord | undefined {
    const prev = this.messages.get(m.id);
    this.messages.set(m.id, m);
    if (!prev || prev.state !== m.state) {
      if (prev) this.stateSet(prev.campaignId, prev.state).delete(m.id);
      this.stateSet(m.campaignId, m.state).add(m.id);
    }
    // Most updates keep the provider id: compare it before building index keys.
    if (prev && prev.context.providerMessageId === m.context.providerMessageId && prev.channel === m.channel)
      return prev;
    const pk = MessageStore.providerKey(m);
    const prevPk = prev ? MessageStore.providerKey(prev) : undefined;
    if (prevPk !== pk) {
      if (prevPk !== undefined && this.byProviderId.get(prevPk) === m.id) this.byProviderId.delete(prevPk);
      if (pk !== undefined) this.byProviderId.set(pk, m.id);
    }
    return prev;
  }

  private drop(id: string): void {
    const prev = this.messages.get(id);
    if (!prev) return;
    this.messages.delete(id);
    this.stateSet(prev.campaignId, prev.state).delete(id);
    const pk = MessageStore.providerKey(prev);
    if (pk !== undefined && this.byProviderId.get(pk) === id) this.byProviderId.delete(pk);
  }

  insert(rows: readonly MessageRecord[]): void {
    for (const m of rows) {
      if (this.messages.has(m.id)) throw new OutreachError('CONFLICT', `Message ${m.id} already exists.`);
    }
    for (const m of rows) {
      this.put(m);
      getOrCreate(this.byCampaign, m.campaignId, () => new SortedIds()).add(m.id);
    }
    this.undo.record(() => {
      for (const m of rows) {
        this.drop(m.id);
        this.byCampaign.get(m.campaignId)?.remove(m.id);
      }
    });
  }
  get(id: string): MessageRecord | undefined {
    return this.messages.get(id);
  }
  getMany(ids: readonly string[]): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (const id of ids) {
      const m = this.messages.get(id);
      if (m) out.push(m);
    }
    return out;
  }
  byProvider(channel: Channel, providerIds: readonly string[]): Map<string, MessageRecord> {
    const out = new Map<string, MessageRecord>();
    for (const pid of providerIds) {
      const id = this.byProviderId.get(key2(channel, pid));
      const m = id === undefined ? undefined : this.messages.get(id);
      if (m) out.set(pid, m);
    }
    return out;
  }
  inState(campaignId: string, state: string, limit: number, after?: string): MessageRecord[] {
    const set = this.byState.get(campaignId)?.get(state);
    const out: MessageRecord[] = [];
    if (!set) return out;
    for (const id of set) {
      if (out.length >= limit) break;
      // Keyset claim: only ids after `after` (the set is in order of entry, so this skips few).
      if (after !== undefined && id <= after) continue;
      const m = this.messages.get(id);
      if (m) out.push(m);
    }
    return out;
  }
  update(rows: readonly MessageRecord[]): void {
    const prevs: (MessageRecord | undefined)[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const m = rows[i] as MessageRecord;
      if (!this.messages.has(m.id)) throw new OutreachError('NOT_FOUND', `Message ${m.id} does not exist.`);
      prevs[i] = this.put(m);
    }
    this.undo.record(() => {
      for (let i = rows.length - 1; i >= 0; i--) {
        const prev = prevs[i];
        if (prev) this.put(prev);
        else this.drop((rows[i] as MessageRecord).id);
      }
    });
  }
  list(campaignId: string, filter: MessageFilter): MessageRecord[] {
    const statuses = filter.statuses ? new Set(filter.statuses) : undefined;
    return page(
      this.byCampaign.get(campaignId),
      filter,
      (id) => this.messages.get(id),
      statuses ? (m) => statuses.has(m.status) : undefined,
    );
  }
  appendLog(entries: readonly MessageLogEntry[]): void {
    if (!this.keepLog) return;
    for (const e of entries) getOrCreate(this.logs, e.messageId, () => [] as MessageLogEntry[]).push(e);
    this.undo.record(() => {
      for (let i = entries.length - 1; i >= 0; i--) this.logs.get((entries[i] as MessageLogEntry).messageId)?.pop();
    });
  }
  listLog(messageId: string): MessageLogEntry[] {
    return [...(this.logs.get(messageId) ?? [])];
  }
  /** Removes every message of a campaign with its log; returns how to put them back. */
  removeCampaign(id: string): Undo {
    const owned = page(this.byCampaign.get(id), {}, (mid) => this.messages.get(mid));
    const ownedLogs = owned.map((m) => [m.id, this.logs.get(m.id)] as const);
    const prevIds = this.byCampaign.get(id);
    for (const m of owned) {
      this.drop(m.id);
      this.logs.delete(m.id);
    }
    this.byCampaign.delete(id);
    this.byState.delete(id);
    return () => {
      for (const m of owned) this.put(m);
      for (const [mid, l] of ownedLogs) if (l) this.logs.set(mid, l);
      if (prevIds) this.byCampaign.set(id, prevIds);
    };
  }
}
