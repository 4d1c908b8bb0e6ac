import {
  type Channel,
  type FailureReasonId,
  type MessageFilter,
  type MessageLogEntry,
  type MessageRecord,
  type MessageStatus,
  OutreachError,
} from 'campaign-lifecycle';
import { F64Column, Interner, U16Column, U32Column } from './columns.js';
import { getOrCreate } from './get-or-create.js';
import { LogRows } from './log-rows.js';
import { PackedColumn, RowIndex } from './packed-strings.js';
import { SlotsById } from './slots-by-id.js';
import type { Undo, UndoLog } from './undo-log.js';

/** How many numbers {@link CompactMessageStore.snapshot} keeps of a row. */
const SNAPSHOT = 15;
/** How many rows' records the store keeps at most (direct-mapped by slot; a power of two). */
const RECORDS = 1 << 14;

/** Whether the string `bit` of `changed` names differs from `slot`'s in `column` (`changed` < 0: compare). */
const differs = (changed: number, bit: number, column: PackedColumn, slot: number, s: string | null) =>
  changed < 0 ? !column.rowEquals(slot, s) : (changed & bit) !== 0;

/**
 * A message's context from its columns' values (`firstDeferredAt` NaN: `null`; `dueAt` NaN: absent,
 * -Infinity: `null`). One object literal per case, keys in the order the engine writes them: no spread.
 */
function contextOf(
  channel: Channel,
  attempts: number,
  reason: FailureReasonId | null,
  code: string | null,
  providerMessageId: string | null,
  firstDeferredAt: number,
  deferrals: number,
  dueAt: number,
  updatedAt: number,
): MessageRecord['context'] {
  const deferredAt = Number.isNaN(firstDeferredAt) ? null : firstDeferredAt;
  if (Number.isNaN(dueAt))
    return { channel, attempts, reason, code, providerMessageId, firstDeferredAt: deferredAt, deferrals, updatedAt };
  return {
    channel,
    attempts,
    reason,
    code,
    providerMessageId,
    firstDeferredAt: deferredAt,
    deferrals,
    dueAt: dueAt === Number.NEGATIVE_INFINITY ? null : dueAt,
    updatedAt,
  };
}

/** The first and last entry of one message's log (0: none). */
interface LogList {
  head: number;
  tail: number;
}

/** The messages of one campaign in one machine state, oldest arrival first (0: none). */
interface StateList {
  head: number;
  tail: number;
}

/**
 * Messages and their event logs in columns: a message is a row number (a slot), each field a typed
 * column (ids, addresses and provider ids packed into numbers where they have a known shape, see
 * `packed-strings.ts`), names and campaign ids interned; a log entry is a row of the log columns, linked to the next entry of its message.
 * Records are built when read and taken apart when written, so the heap holds no object per message
 * or per log entry. Log details are kept as JSON text (what Postgres keeps), each distinct text once.
 *
 * The indexes: slot by id; per campaign, slots in id order (paging); per campaign and machine state,
 * a doubly linked list of slots in the order they entered the state (claims take the oldest); per
 * channel, slot by provider id. The id indexes are hash tables of slot numbers ({@link RowIndex}).
 */
export class CompactMessageStore {
  /** Statuses, states, channels, reasons, event names: few, bounded by the engine. */
  private readonly names = new Interner(0xffff);
  /** Campaign ids, scopes, provider codes. */
  private readonly values = new Interner();

  private readonly freeSlots: number[] = [];
  private slots = 0;

  private readonly id = new PackedColumn('id', true);
  private readonly contactId = new PackedColumn('id');
  private readonly to = new PackedColumn('address');
  private readonly providerId = new PackedColumn('id', true);
  /** Live slots by message id. */
  private readonly slotOf = new RowIndex(this.id);
  private readonly campaign = new U32Column();
  private readonly scope = new U32Column();
  private readonly code = new U32Column();
  private readonly channel = new U16Column();
  private readonly contextChannel = new U16Column();
  private readonly status = new U16Column();
  private readonly state = new U16Column();
  private readonly reason = new U16Column();
  private readonly attempts = new F64Column();
  private readonly deferrals = new F64Column();
  /** NaN stands for `null`. */
  private readonly firstDeferredAt = new F64Column();
  private readonly contextUpdatedAt = new F64Column();
  /** `context.dueAt`: NaN when absent, -Infinity for `null`. */
  private readonly dueAt = new F64Column();
  private readonly createdAt = new F64Column();
  private readonly updatedAt = new F64Column();
  private readonly stateNext = new U32Column();
  private readonly statePrev = new U32Column();
  private readonly logHead = new U32Column();
  private readonly logTail = new U32Column();

  /** Per campaign (interned), its slots in id order. */
  private readonly byCampaign = new Map<number, SlotsById>();
  /** Per campaign, per state (both interned), the slots in that state. */
  private readonly stateLists = new Map<number, Map<number, StateList>>();
  /** Per channel (interned), slot by provider message id (the latest message given that id). */
  private readonly byProviderId = new Map<number, RowIndex>();

  /**
   * The records of rows written or read lately, direct-mapped by slot: the engine reads a message
   * again soon after writing it (the send result after the dispatch), and gets the record it wrote, as
   * the object layout gives it, instead of a new one decoded from the columns.
   */
  private readonly recordSlot = new Uint32Array(RECORDS);
  private readonly records: (MessageRecord | undefined)[] = new Array<MessageRecord | undefined>(RECORDS).fill(
    undefined,
  );

  /**
   * Slots by the id strings this store handed out lately (read or inserted): the engine gives the same
   * string back in its writes, and a `Map` finds it by the hash V8 keeps in the string, where
   * {@link slotOf} would hash and compare its characters. Entries leave with their slot's message.
   */
  private readonly recentSlots = new Map<string, number>();

  private log = new LogRows();
  /** Rows no list reaches any more (the logs of deleted campaigns), reclaimed by compaction. */
  private deadLogRows = 0;
  /** Logs of message ids that have no message (the port allows them). */
  private readonly orphanLogs = new Map<string, LogList>();

  constructor(
    private readonly undo: UndoLog,
    private readonly keepLog: boolean,
  ) {}

  // ── rows ─────────────────────────────────────────────────────────────────

  /**
   * The record in `slot`; `pid` and `id`: its provider id or id when the caller found the row by it
   * (the row holds exactly that string: not decoded again).
   */
  private read(slot: number, pid?: string, id?: string): MessageRecord {
    const cached = this.cached(slot);
    if (cached !== undefined) return cached;
    const record = this.decode(slot, pid, id);
    this.remember(slot, record);
    this.rememberSlot(record.id, slot);
    return record;
  }

  private rememberSlot(id: string, slot: number): void {
    if (this.recentSlots.size >= 2 * RECORDS) this.recentSlots.clear();
    this.recentSlots.set(id, slot);
  }

  /** The live slot of message `id`, or 0. */
  private slotFor(id: string): number {
    return this.recentSlots.get(id) ?? this.slotOf.first(id);
  }

  /** The row's record if it is kept, else `undefined`. */
  private cached(slot: number): MessageRecord | undefined {
    const at = slot & (RECORDS - 1);
    return this.recordSlot[at] === slot ? this.records[at] : undefined;
  }

  /** Keeps `record` as the row's (read or just written). */
  private remember(slot: number, record: MessageRecord | undefined): void {
    const at = slot & (RECORDS - 1);
    this.recordSlot[at] = record === undefined ? 0 : slot;
    this.records[at] = record;
  }

  /** Forgets the row's record (its slot is emptied). */
  private forget(slot: number): void {
    if (this.recordSlot[slot & (RECORDS - 1)] === slot) this.remember(slot, undefined);
  }

  /** The record in `slot`, built from its columns. */
  private decode(slot: number, pid?: string, id?: string): MessageRecord {
    const names = this.names;
    return {
      id: id ?? (this.id.get(slot) as string),
      campaignId: this.values.string(this.campaign.get(slot)) as string,
      contactId: this.contactId.get(slot) as string,
      scope: this.values.string(this.scope.get(slot)) as string,
      channel: names.string(this.channel.get(slot)) as Channel,
      to: this.to.get(slot) as string,
      status: names.string(this.status.get(slot)) as MessageStatus,
      state: names.string(this.state.get(slot)) as string,
      context: contextOf(
        names.string(this.contextChannel.get(slot)) as Channel,
        this.attempts.get(slot),
        names.string(this.reason.get(slot)) as FailureReasonId | null,
        this.values.string(this.code.get(slot)),
        pid ?? this.providerId.get(slot) ?? null,
        this.firstDeferredAt.get(slot),
        this.deferrals.get(slot),
        this.dueAt.get(slot),
        this.contextUpdatedAt.get(slot),
      ),
      createdAt: this.createdAt.get(slot),
      updatedAt: this.updatedAt.get(slot),
    };
  }

  /**
   * Writes a message into its slot with its indexes; `fresh` when the slot was empty. `changed`: which
   * of the contact id (1), address (2) and provider id (4) differ from the row's, when the caller
   * knows (-1: compare here).
   */
  private write(slot: number, m: MessageRecord, fresh: boolean, changed = -1): void {
    const names = this.names;
    const campaign = this.values.number(m.campaignId);
    const state = names.number(m.state);
    const channel = names.number(m.channel);
    const pid = m.context.providerMessageId;
    if (fresh) {
      this.stateAppend(campaign, state, slot);
      this.id.set(slot, m.id);
      this.contactId.set(slot, m.contactId);
      this.to.set(slot, m.to);
      this.providerId.set(slot, pid);
      if (pid !== null) this.providerIndexAdd(channel, slot, pid);
    } else {
      const oldCampaign = this.campaign.get(slot);
      const oldState = this.state.get(slot);
      if (oldCampaign !== campaign || oldState !== state) {
        this.stateRemove(oldCampaign, oldState, slot);
        this.stateAppend(campaign, state, slot);
      }
      const oldChannel = this.channel.get(slot);
      // Most updates keep the provider id: the index is touched only when it or the channel changed.
      if (oldChannel !== channel || differs(changed, 4, this.providerId, slot, pid)) {
        if (this.providerId.has(slot)) this.byProviderId.get(oldChannel)?.remove(slot);
        this.providerId.set(slot, pid);
        if (pid !== null) this.providerIndexAdd(channel, slot, pid);
      }
      if (differs(changed, 1, this.contactId, slot, m.contactId)) this.contactId.set(slot, m.contactId);
      if (differs(changed, 2, this.to, slot, m.to)) this.to.set(slot, m.to);
    }
    const c = m.context;
    this.campaign.set(slot, campaign);
    this.scope.set(slot, this.values.number(m.scope));
    this.code.set(slot, this.values.number(c.code));
    this.channel.set(slot, channel);
    this.contextChannel.set(slot, names.number(c.channel));
    this.status.set(slot, names.number(m.status));
    this.state.set(slot, state);
    this.reason.set(slot, names.number(c.reason));
    this.attempts.set(slot, c.attempts);
    this.deferrals.set(slot, c.deferrals);
    this.firstDeferredAt.set(slot, c.firstDeferredAt ?? Number.NaN);
    this.contextUpdatedAt.set(slot, c.updatedAt);
    this.dueAt.set(slot, c.dueAt === undefined ? Number.NaN : c.dueAt === null ? Number.NEGATIVE_INFINITY : c.dueAt);
    this.createdAt.set(slot, m.createdAt);
    this.updatedAt.set(slot, m.updatedAt);
    this.remember(slot, m);
  }

  /** Indexes `slot` (its provider id `pid` already in the column) in place of any message with that id. */
  private providerIndexAdd(channel: number, slot: number, pid: string): void {
    const index = getOrCreate(this.byProviderId, channel, () => new RowIndex(this.providerId));
    const holder = index.first(pid);
    if (holder !== 0) index.remove(holder);
    index.add(slot);
  }

  /** Takes a new message into a free slot (or `slot`, to put a removed one back), with the log its id already has. */
  private add(m: MessageRecord, slot = this.freeSlots.pop() ?? ++this.slots): number {
    this.write(slot, m, true);
    this.slotOf.add(slot);
    this.rememberSlot(m.id, slot);
    getOrCreate(this.byCampaign, this.campaign.get(slot), () => new SlotsById(this.id)).add(slot);
    const orphan = this.orphanLogs.size === 0 ? undefined : this.orphanLogs.get(m.id);
    if (orphan) {
      this.orphanLogs.delete(m.id);
      this.logHead.set(slot, orphan.head);
      this.logTail.set(slot, orphan.tail);
    } else {
      this.logHead.set(slot, 0);
      this.logTail.set(slot, 0);
    }
    return slot;
  }

  /**
   * Takes a message out of its slot and indexes. On rollback (`free`) the slot is free at once; a
   * removal in a transaction frees it only at commit, so that no slot changes hands while the undo
   * log may still name it. Its log is kept as an orphan when `keepLog`.
   */
  private drop(slot: number, keepLog: boolean, free: boolean): void {
    const campaign = this.campaign.get(slot);
    this.stateRemove(campaign, this.state.get(slot), slot);
    if (this.providerId.has(slot)) this.byProviderId.get(this.channel.get(slot))?.remove(slot);
    this.byCampaign.get(campaign)?.remove(slot);
    const head = this.logHead.get(slot);
    if (keepLog && head !== 0) this.orphanLogs.set(this.id.get(slot) as string, { head, tail: this.logTail.get(slot) });
    this.slotOf.remove(slot);
    if (this.recentSlots.size > 0) this.recentSlots.delete(this.id.get(slot) as string);
    this.forget(slot);
    if (free) this.free(slot);
  }

  private free(slot: number): void {
    this.forget(slot);
    this.id.set(slot, undefined);
    this.contactId.set(slot, undefined);
    this.to.set(slot, undefined);
    this.providerId.set(slot, undefined);
    this.freeSlots.push(slot);
  }

  private stateAppend(campaign: number, state: number, slot: number): void {
    const lists = getOrCreate(this.stateLists, campaign, () => new Map<number, StateList>());
    const list = getOrCreate(lists, state, () => ({ head: 0, tail: 0 }));
    this.stateNext.set(slot, 0);
    this.statePrev.set(slot, list.tail);
    if (list.tail === 0) list.head = slot;
    else this.stateNext.set(list.tail, slot);
    list.tail = slot;
  }

  private stateRemove(campaign: number, state: number, slot: number): void {
    const list = this.stateLists.get(campaign)?.get(state);
    if (!list) return;
    const prev = this.statePrev.get(slot);
    const next = this.stateNext.get(slot);
    if (prev === 0) list.head = next;
    else this.stateNext.set(prev, next);
    if (next === 0) list.tail = prev;
    else this.statePrev.set(next, prev);
  }

  // ── the port's calls ─────────────────────────────────────────────────────

  insert(rows: readonly MessageRecord[]): void {
    for (const m of rows) {
      if (this.slotFor(m.id) !== 0) throw new OutreachError('CONFLICT', `Message ${m.id} already exists.`);
    }
    // The id index keeps one slot per id: a batch naming an id twice is refused as a whole.
    if (rows.length > 1 && new Set(rows.map((m) => m.id)).size !== rows.length)
      throw new OutreachError('CONFLICT', 'Messages of one insert share an id.');
    const added: number[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) added[i] = this.add(rows[i] as MessageRecord);
    this.undo.record(() => {
      for (let i = added.length - 1; i >= 0; i--) this.drop(added[i] as number, true, true);
    });
  }
  get(id: string): MessageRecord | undefined {
    const slot = this.slotFor(id);
    return slot === 0 ? undefined : this.read(slot);
  }
  getMany(ids: readonly string[]): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (const id of ids) {
      const slot = this.slotFor(id);
      if (slot !== 0) out.push(this.read(slot, undefined, id));
    }
    return out;
  }
  byProvider(channel: Channel, providerIds: readonly string[]): Map<string, MessageRecord> {
    const out = new Map<string, MessageRecord>();
    const n = this.names.find(channel);
    const index = n === undefined ? undefined : this.byProviderId.get(n);
    if (!index) return out;
    for (const pid of providerIds) {
      const slot = index.first(pid);
      if (slot !== 0) out.set(pid, this.read(slot, pid));
    }
    return out;
  }
  inState(campaignId: string, state: string, limit: number, after?: string): MessageRecord[] {
    const out: MessageRecord[] = [];
    const campaign = this.values.find(campaignId);
    const s = this.names.find(state);
    if (campaign === undefined || s === undefined) return out;
    const list = this.stateLists.get(campaign)?.get(s);
    for (let slot = list?.head ?? 0; slot !== 0 && out.length < limit; slot = this.stateNext.get(slot)) {
      // Keyset claim: only ids after `after` (the list is in order of entry, so this skips few).
      if (after !== undefined && (this.id.get(slot) as string) <= after) continue;
      out.push(this.read(slot));
    }
    return out;
  }
  /**
   * Writes new versions of messages. The undo entry keeps each row's previous values as numbers (15
   * a row, in one array) and only the strings the write changes: a transaction that moves a million
   * messages (a campaign's run) holds no object per message until it commits.
   */
  update(rows: readonly MessageRecord[]): void {
    const n = rows.length;
    const slots = new Uint32Array(n);
    const prev = new Float64Array(n * SNAPSHOT);
    /** Per row, the contact id, address and provider id before the write, where it changed them. */
    let prevStrings: (string | null | undefined)[] | undefined;
    for (let i = 0; i < n; i++) {
      const m = rows[i] as MessageRecord;
      const slot = this.slotFor(m.id);
      if (slot === 0) throw new OutreachError('NOT_FOUND', `Message ${m.id} does not exist.`);
      slots[i] = slot;
      this.snapshot(slot, prev, i * SNAPSHOT);
      // The row's record, when kept, holds its strings: compared as strings, no column decoded or parsed.
      const was = this.cached(slot);
      const pid = m.context.providerMessageId ?? null;
      const contactChanged = was ? was.contactId !== m.contactId : !this.contactId.rowEquals(slot, m.contactId);
      const toChanged = was ? was.to !== m.to : !this.to.rowEquals(slot, m.to);
      const pidChanged = was ? (was.context.providerMessageId ?? null) !== pid : !this.providerId.rowEquals(slot, pid);
      if (contactChanged || toChanged || pidChanged) {
        prevStrings ??= new Array<string | null | undefined>(n * 3).fill(undefined);
        if (contactChanged) prevStrings[i * 3] = was ? was.contactId : (this.contactId.get(slot) as string);
        if (toChanged) prevStrings[i * 3 + 1] = was ? was.to : (this.to.get(slot) as string);
        if (pidChanged)
          prevStrings[i * 3 + 2] = was ? (was.context.providerMessageId ?? null) : (this.providerId.get(slot) ?? null);
      }
      this.write(slot, m, false, (contactChanged ? 1 : 0) | (toChanged ? 2 : 0) | (pidChanged ? 4 : 0));
    }
    this.undo.record(() => {
      for (let i = n - 1; i >= 0; i--) {
        const slot = slots[i] as number;
        this.write(slot, this.fromSnapshot(slot, prev, i * SNAPSHOT, prevStrings, i * 3), false);
      }
    });
  }

  /** Copies the row's numeric fields into `out` from `at` (see {@link fromSnapshot}). */
  private snapshot(slot: number, out: Float64Array, at: number): void {
    out[at] = this.campaign.get(slot);
    out[at + 1] = this.scope.get(slot);
    out[at + 2] = this.code.get(slot);
    out[at + 3] = this.channel.get(slot);
    out[at + 4] = this.contextChannel.get(slot);
    out[at + 5] = this.status.get(slot);
    out[at + 6] = this.state.get(slot);
    out[at + 7] = this.reason.get(slot);
    out[at + 8] = this.attempts.get(slot);
    out[at + 9] = this.deferrals.get(slot);
    out[at + 10] = this.firstDeferredAt.get(slot);
    out[at + 11] = this.contextUpdatedAt.get(slot);
    out[at + 12] = this.dueAt.get(slot);
    out[at + 13] = this.createdAt.get(slot);
    out[at + 14] = this.updatedAt.get(slot);
  }

  /**
   * The record a {@link snapshot} was taken of: its numbers, and its strings as the row holds them now
   * unless `strings` has the one from before (undone newest first, the row is as that write left it).
   */
  private fromSnapshot(
    slot: number,
    v: Float64Array,
    at: number,
    strings: readonly (string | null | undefined)[] | undefined,
    si: number,
  ): MessageRecord {
    const names = this.names;
    const contactId = strings?.[si];
    const to = strings?.[si + 1];
    const pid = strings?.[si + 2];
    return {
      id: this.id.get(slot) as string,
      campaignId: this.values.string(v[at] as number) as string,
      contactId: contactId ?? (this.contactId.get(slot) as string),
      scope: this.values.string(v[at + 1] as number) as string,
      channel: names.string(v[at + 3] as number) as Channel,
      to: to ?? (this.to.get(slot) as string),
      status: names.string(v[at + 5] as number) as MessageStatus,
      state: names.string(v[at + 6] as number) as string,
      context: contextOf(
        names.string(v[at + 4] as number) as Channel,
        v[at + 8] as number,
        names.string(v[at + 7] as number) as FailureReasonId | null,
        this.values.string(v[at + 2] as number),
        pid === undefined ? (this.providerId.get(slot) ?? null) : pid,
        v[at + 10] as number,
        v[at + 9] as number,
        v[at + 12] as number,
        v[at + 11] as number,
      ),
      createdAt: v[at + 13] as number,
      updatedAt: v[at + 14] as number,
    };
  }
  list(campaignId: string, filter: MessageFilter): MessageRecord[] {
    const out: MessageRecord[] = [];
    const campaign = this.values.find(campaignId);
    const slots = campaign === undefined ? undefined : this.byCampaign.get(campaign);
    if (!slots) return out;
    let statuses: Set<number> | undefined;
    if (filter.statuses) {
      statuses = new Set();
      for (const s of filter.statuses) {
        const n = this.names.find(s);
        if (n !== undefined) statuses.add(n);
      }
    }
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    for (let i = slots.indexAfter(filter.after); i < slots.length && out.length < limit; i++) {
      const slot = slots.at(i);
      if (!statuses || statuses.has(this.status.get(slot))) out.push(this.read(slot));
    }
    return out;
  }

  // ── the event log ────────────────────────────────────────────────────────

  appendLog(entries: readonly MessageLogEntry[]): void {
    if (!this.keepLog || entries.length === 0) return;
    const log = this.log;
    const start = log.count;
    const n = entries.length;
    // What the undo needs, as numbers: each entry's slot (0: an orphan log, found by id) and the tail before it.
    const slots = new Uint32Array(n);
    const prevTails = new Uint32Array(n);
    let orphanIds: Map<number, string> | undefined;
    for (let i = 0; i < n; i++) {
      const e = entries[i] as MessageLogEntry;
      const row = log.append(
        e.at,
        this.names.number(e.event),
        this.names.number(e.from),
        this.names.number(e.to),
        e.changed,
        this.values.number(e.campaignId),
        e.detail === undefined ? undefined : JSON.stringify(e.detail),
      );
      const slot = this.slotFor(e.messageId);
      slots[i] = slot;
      if (slot !== 0) {
        const tail = this.logTail.get(slot);
        if (tail === 0) this.logHead.set(slot, row);
        else log.next.set(tail, row);
        this.logTail.set(slot, row);
        prevTails[i] = tail;
      } else {
        orphanIds ??= new Map();
        orphanIds.set(i, e.messageId);
        const list = getOrCreate(this.orphanLogs, e.messageId, () => ({ head: 0, tail: 0 }));
        if (list.tail === 0) list.head = row;
        else log.next.set(list.tail, row);
        prevTails[i] = list.tail;
        list.tail = row;
      }
    }
    this.undo.record(() => {
      // Undone newest first: each message's list is as this append left it, in the same slot (or
      // still an orphan: a message inserted since adopted it, and was dropped again, log and all).
      for (let i = n - 1; i >= 0; i--) {
        const tail = prevTails[i] as number;
        if (tail !== 0) log.next.set(tail, 0);
        const slot = slots[i] as number;
        if (slot !== 0) {
          if (tail === 0) this.logHead.set(slot, 0);
          this.logTail.set(slot, tail);
          continue;
        }
        const id = orphanIds?.get(i) as string;
        const list = this.orphanLogs.get(id);
        if (!list) continue;
        if (tail === 0) this.orphanLogs.delete(id);
        else list.tail = tail;
      }
      log.truncate(start);
    });
  }

  listLog(messageId: string): MessageLogEntry[] {
    const slot = this.slotFor(messageId);
    let n = slot === 0 ? (this.orphanLogs.get(messageId)?.head ?? 0) : this.logHead.get(slot);
    const out: MessageLogEntry[] = [];
    const names = this.names;
    const log = this.log;
    for (; n !== 0; n = log.next.get(n)) {
      const detail = log.detail.get(n);
      const entry: {
        messageId: string;
        campaignId: string;
        at: number;
        event: string;
        from: MessageStatus;
        to: MessageStatus;
        changed: boolean;
        detail?: Readonly<Record<string, unknown>>;
      } = {
        messageId,
        campaignId: this.values.string(log.campaign.get(n)) as string,
        at: log.at.get(n),
        event: names.string(log.event.get(n)) as string,
        from: names.string(log.from.get(n)) as MessageStatus,
        to: names.string(log.to.get(n)) as MessageStatus,
        changed: log.changed.get(n) === 1,
      };
      if (detail !== undefined) entry.detail = JSON.parse(detail) as Record<string, unknown>;
      out.push(entry);
    }
    return out;
  }

  /** Copies the rows lists still reach into new columns, in order, and lets the old ones go. */
  private compactLog(): void {
    const old = this.log;
    const fresh = new LogRows();
    for (let slot = 1; slot <= this.slots; slot++) {
      // Live slots only: a slot removed by this transaction is freed by a commit callback still to run.
      if (this.logHead.get(slot) === 0 || !this.id.has(slot)) continue;
      if (this.slotOf.first(this.id.get(slot) as string) !== slot) continue;
      const [head, tail] = fresh.copyList(old, this.logHead.get(slot));
      this.logHead.set(slot, head);
      this.logTail.set(slot, tail);
    }
    for (const list of this.orphanLogs.values()) [list.head, list.tail] = fresh.copyList(old, list.head);
    this.log = fresh;
    this.deadLogRows = 0;
  }

  /**
   * Removes every message of a campaign with its log; returns how to put them back (into the same
   * slots, with the same log rows). The slots are freed at commit; the log rows stay unreachable.
   */
  removeCampaign(id: string): Undo {
    const campaign = this.values.find(id);
    const slots = campaign === undefined ? undefined : this.byCampaign.get(campaign);
    if (campaign === undefined || !slots) return () => {};
    const owned: { slot: number; message: MessageRecord; head: number; tail: number }[] = [];
    for (let i = 0; i < slots.length; i++) {
      const slot = slots.at(i);
      owned.push({ slot, message: this.read(slot), head: this.logHead.get(slot), tail: this.logTail.get(slot) });
    }
    // Unlisted first, so dropping each slot does not shift the campaign's id order one by one.
    this.byCampaign.delete(campaign);
    for (const o of owned) this.drop(o.slot, false, false);
    this.stateLists.delete(campaign);
    let rows = 0;
    for (const o of owned) rows += this.log.length(o.head);
    this.undo.afterCommit(() => {
      for (const o of owned) this.free(o.slot);
      this.deadLogRows += rows;
      if (this.deadLogRows > 65_536 && this.deadLogRows > this.log.count - this.deadLogRows) this.compactLog();
    });
    return () => {
      for (const o of owned) {
        this.add(o.message, o.slot);
        this.logHead.set(o.slot, o.head);
        this.logTail.set(o.slot, o.tail);
      }
    };
  }
}
