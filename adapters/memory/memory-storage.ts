/**
 * In-process storage: Maps with the indexes the engine asks for, transactions serialised by a lock
 * and undone from an undo log when they throw. The embedded default; it does not survive the
 * process, and is not shared between processes.
 */
import {
  type CampaignCounters,
  type CampaignFilter,
  type CampaignRecord,
  type Channel,
  type ContactRecord,
  type CounterDelta,
  type DeadlineRecord,
  emptyCounts,
  type MessageFilter,
  type MessageLogEntry,
  type MessageRecord,
  type MessageStatus,
  OutreachError,
  type Page,
  type SeenKey,
  type Storage,
  type StorageTransaction,
  type SuppressionRecord,
} from 'campaign-lifecycle';

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Keep every message's event log. Turn off to save memory in very large benchmarks.
   * @defaultValue true
   */
  keepLog?: boolean;
}

type Undo = () => void;

/** Ids kept sorted, for paging by id; appends are O(1) because ids sort by creation time. */
class SortedIds {
  readonly ids: string[] = [];
  add(id: string): void {
    const ids = this.ids;
    if (ids.length === 0 || (ids[ids.length - 1] as string) < id) {
      ids.push(id);
      return;
    }
    ids.splice(this.indexAfter(id, true), 0, id);
  }
  remove(id: string): void {
    const i = this.indexAfter(id, true);
    if (this.ids[i] === id) this.ids.splice(i, 1);
  }
  /** First index whose id is > `after` (or >= when `inclusive`). */
  indexAfter(after: string | undefined, inclusive = false): number {
    if (after === undefined) return 0;
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.ids[mid] as string;
      if (v < after || (!inclusive && v === after)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

interface HeapEntry {
  fireAt: number;
  id: string;
  record: DeadlineRecord;
}

/** A binary min-heap of deadlines by `fireAt`, with lazy deletion (entries checked against the map). */
class DeadlineHeap {
  private readonly heap: HeapEntry[] = [];
  push(entry: HeapEntry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as HeapEntry).fireAt <= entry.fireAt) break;
      h[i] = h[p] as HeapEntry;
      i = p;
    }
    h[i] = entry;
  }
  peek(): HeapEntry | undefined {
    return this.heap[0];
  }
  pop(): HeapEntry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last.fireAt;
        if (l < n && (h[l] as HeapEntry).fireAt < mv) {
          m = l;
          mv = (h[l] as HeapEntry).fireAt;
        }
        if (r < n && (h[r] as HeapEntry).fireAt < mv) m = r;
        if (m === i) break;
        h[i] = h[m] as HeapEntry;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
  get size(): number {
    return this.heap.length;
  }
}

const key2 = (a: string, b: string) => `${a}\u0000${b}`;

/**
 * Creates in-memory storage: the embedded default for tests, demos and single-process apps.
 * @example
 * import { memoryStorage } from 'campaign-lifecycle/memory';
 * const outreach = createOutreach({ storage: memoryStorage(), clock: systemClock, transports: { sms } });
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  const keepLog = options.keepLog ?? true;
  const campaigns = new Map<string, CampaignRecord>();
  const campaignIds = new SortedIds();
  const counters = new Map<string, { counts: Record<MessageStatus, number>; opens: number; clicks: number }>();
  const channels = new Map<string, string>();
  const contacts = new Map<string, ContactRecord>();
  const contactsByCampaign = new Map<string, SortedIds>();
  const addressesByCampaign = new Map<string, Map<string, string>>();
  const messages = new Map<string, MessageRecord>();
  const messagesByCampaign = new Map<string, SortedIds>();
  const messagesByState = new Map<string, Map<string, Set<string>>>();
  const providerIndex = new Map<string, string>();
  const logs = new Map<string, MessageLogEntry[]>();
  const deadlines = new Map<string, DeadlineRecord>();
  let deadlineHeap = new DeadlineHeap();
  const suppressions = new Map<string, Map<string, SuppressionRecord>>();
  const seen = new Map<string, string | null>();
  const seenByCampaign = new Map<string, Set<string>>();

  let undo: Undo[] | null = null;
  let tail: Promise<unknown> = Promise.resolve();

  const record = (fn: Undo) => {
    if (undo === null) throw new OutreachError('STORAGE_ERROR', 'Storage used outside a transaction.');
    undo.push(fn);
  };

  const stateSet = (campaignId: string, state: string): Set<string> => {
    let byState = messagesByState.get(campaignId);
    if (!byState) {
      byState = new Map();
      messagesByState.set(campaignId, byState);
    }
    let set = byState.get(state);
    if (!set) {
      set = new Set();
      byState.set(state, set);
    }
    return set;
  };

  const providerKey = (m: MessageRecord) =>
    m.context.providerMessageId === null ? undefined : key2(m.channel, m.context.providerMessageId);

  /** Puts a message in place with its indexes; returns the previous version. */
  const putMessage = (m: MessageRecord): MessageRecord | undefined => {
    const prev = messages.get(m.id);
    messages.set(m.id, m);
    if (!prev || prev.state !== m.state) {
      if (prev) stateSet(prev.campaignId, prev.state).delete(m.id);
      stateSet(m.campaignId, m.state).add(m.id);
    }
    // Most updates keep the provider id: compare it before building index keys.
    if (prev && prev.context.providerMessageId === m.context.providerMessageId && prev.channel === m.channel)
      return prev;
    const pk = providerKey(m);
    const prevPk = prev ? providerKey(prev) : undefined;
    if (prevPk !== pk) {
      if (prevPk !== undefined && providerIndex.get(prevPk) === m.id) providerIndex.delete(prevPk);
      if (pk !== undefined) providerIndex.set(pk, m.id);
    }
    return prev;
  };

  const removeMessage = (id: string) => {
    const prev = messages.get(id);
    if (!prev) return;
    messages.delete(id);
    stateSet(prev.campaignId, prev.state).delete(id);
    const pk = providerKey(prev);
    if (pk !== undefined && providerIndex.get(pk) === id) providerIndex.delete(pk);
  };

  const restoreMessage = (id: string, prev: MessageRecord | undefined) => {
    if (prev) putMessage(prev);
    else removeMessage(id);
  };

  const putDeadline = (d: DeadlineRecord) => {
    deadlines.set(d.id, d);
    // Deletion is lazy (stale entries are dropped when they reach the top); rebuild the heap when stale
    // entries outnumber live ones, so cancelled timers (most of them) do not pile up in memory.
    if (deadlineHeap.size > 2 * deadlines.size + 1024) {
      deadlineHeap = new DeadlineHeap();
      for (const live of deadlines.values()) deadlineHeap.push({ fireAt: live.fireAt, id: live.id, record: live });
      return;
    }
    deadlineHeap.push({ fireAt: d.fireAt, id: d.id, record: d });
  };

  const sortedOf = (map: Map<string, SortedIds>, id: string) => {
    let s = map.get(id);
    if (!s) {
      s = new SortedIds();
      map.set(id, s);
    }
    return s;
  };

  const page = <T>(
    ids: SortedIds | undefined,
    p: Partial<Page>,
    get: (id: string) => T | undefined,
    keep?: (v: T) => boolean,
  ) => {
    const out: T[] = [];
    if (!ids) return out;
    const limit = p.limit ?? Number.POSITIVE_INFINITY;
    for (let i = ids.indexAfter(p.after); i < ids.ids.length && out.length < limit; i++) {
      const v = get(ids.ids[i] as string);
      if (v !== undefined && (!keep || keep(v))) out.push(v);
    }
    return out;
  };

  const tx: StorageTransaction = {
    async insertCampaign(c) {
      if (campaigns.has(c.id)) throw new OutreachError('CONFLICT', `Campaign ${c.id} already exists.`);
      campaigns.set(c.id, c);
      campaignIds.add(c.id);
      record(() => {
        campaigns.delete(c.id);
        campaignIds.remove(c.id);
      });
    },
    async getCampaign(id) {
      return campaigns.get(id);
    },
    async updateCampaign(c) {
      const prev = campaigns.get(c.id);
      if (!prev) throw new OutreachError('NOT_FOUND', `Campaign ${c.id} does not exist.`);
      campaigns.set(c.id, c);
      record(() => campaigns.set(c.id, prev));
    },
    async deleteCampaign(id) {
      const prev = campaigns.get(id);
      if (!prev) return;
      // Snapshot everything the campaign owns so a rollback restores it.
      const ownedContacts = page(contactsByCampaign.get(id), {}, (cid) => contacts.get(cid));
      const ownedMessages = page(messagesByCampaign.get(id), {}, (mid) => messages.get(mid));
      const ownedLogs = ownedMessages.map((m) => [m.id, logs.get(m.id)] as const);
      const ownedDeadlines = [...deadlines.values()].filter((d) => d.campaignId === id);
      const prevCounters = counters.get(id);
      const prevAddresses = addressesByCampaign.get(id);
      const prevContactIds = contactsByCampaign.get(id);
      const prevMessageIds = messagesByCampaign.get(id);
      const heldChannels = [...channels.entries()].filter(([, holder]) => holder === id);
      const ownedSeen = seenByCampaign.get(id);

      campaigns.delete(id);
      campaignIds.remove(id);
      for (const c of ownedContacts) contacts.delete(c.id);
      for (const m of ownedMessages) {
        removeMessage(m.id);
        logs.delete(m.id);
      }
      for (const d of ownedDeadlines) deadlines.delete(d.id);
      for (const [k] of heldChannels) channels.delete(k);
      counters.delete(id);
      addressesByCampaign.delete(id);
      contactsByCampaign.delete(id);
      messagesByCampaign.delete(id);
      messagesByState.delete(id);
      if (ownedSeen) {
        for (const key of ownedSeen) seen.delete(key);
        seenByCampaign.delete(id);
      }
      record(() => {
        if (ownedSeen) {
          for (const key of ownedSeen) seen.set(key, id);
          seenByCampaign.set(id, ownedSeen);
        }
        campaigns.set(id, prev);
        campaignIds.add(id);
        for (const c of ownedContacts) contacts.set(c.id, c);
        for (const m of ownedMessages) putMessage(m);
        for (const [mid, l] of ownedLogs) if (l) logs.set(mid, l);
        for (const d of ownedDeadlines) putDeadline(d);
        for (const [k, v] of heldChannels) channels.set(k, v);
        if (prevCounters) counters.set(id, prevCounters);
        if (prevAddresses) addressesByCampaign.set(id, prevAddresses);
        if (prevContactIds) contactsByCampaign.set(id, prevContactIds);
        if (prevMessageIds) messagesByCampaign.set(id, prevMessageIds);
      });
    },
    async listCampaigns(filter: CampaignFilter = {}) {
      const statuses = filter.statuses ? new Set(filter.statuses) : undefined;
      return page(
        campaignIds,
        filter,
        (id) => campaigns.get(id),
        (c) =>
          (filter.scope === undefined || c.scope === filter.scope) &&
          (filter.channel === undefined || c.channel === filter.channel) &&
          (statuses === undefined || statuses.has(c.status)),
      );
    },

    async addCounters(deltas: readonly CounterDelta[]) {
      for (const d of deltas) {
        let c = counters.get(d.campaignId);
        if (!c) {
          c = { counts: emptyCounts(), opens: 0, clicks: 0 };
          counters.set(d.campaignId, c);
        }
        const target = c;
        if (d.counts) {
          for (const [status, n] of Object.entries(d.counts) as [MessageStatus, number][]) target.counts[status] += n;
        }
        target.opens += d.opens ?? 0;
        target.clicks += d.clicks ?? 0;
        record(() => {
          if (d.counts) {
            for (const [status, n] of Object.entries(d.counts) as [MessageStatus, number][]) target.counts[status] -= n;
          }
          target.opens -= d.opens ?? 0;
          target.clicks -= d.clicks ?? 0;
        });
      }
    },
    async getCounters(campaignId): Promise<CampaignCounters> {
      const c = counters.get(campaignId);
      return c
        ? { counts: { ...c.counts }, opens: c.opens, clicks: c.clicks }
        : { counts: emptyCounts(), opens: 0, clicks: 0 };
    },

    async claimChannel(scope, channel, campaignId) {
      const k = key2(scope, channel);
      const holder = channels.get(k);
      if (holder !== undefined) return holder;
      channels.set(k, campaignId);
      record(() => channels.delete(k));
      return campaignId;
    },
    async releaseChannel(scope, channel, campaignId) {
      const k = key2(scope, channel);
      if (channels.get(k) !== campaignId) return;
      channels.delete(k);
      record(() => channels.set(k, campaignId));
    },
    async channelHolder(scope, channel) {
      return channels.get(key2(scope, channel));
    },

    async insertContacts(rows) {
      for (const c of rows) {
        if (contacts.has(c.id)) throw new OutreachError('CONFLICT', `Contact ${c.id} already exists.`);
      }
      for (const c of rows) {
        contacts.set(c.id, c);
        sortedOf(contactsByCampaign, c.campaignId).add(c.id);
        let addresses = addressesByCampaign.get(c.campaignId);
        if (!addresses) {
          addresses = new Map();
          addressesByCampaign.set(c.campaignId, addresses);
        }
        addresses.set(c.address, c.id);
      }
      record(() => {
        for (const c of rows) {
          contacts.delete(c.id);
          contactsByCampaign.get(c.campaignId)?.remove(c.id);
          addressesByCampaign.get(c.campaignId)?.delete(c.address);
        }
      });
    },
    async getContact(id) {
      return contacts.get(id);
    },
    async getContacts(ids) {
      const out = new Map<string, ContactRecord>();
      for (const id of ids) {
        const c = contacts.get(id);
        if (c) out.set(id, c);
      }
      return out;
    },
    async listContacts(campaignId, p) {
      return page(contactsByCampaign.get(campaignId), p, (id) => contacts.get(id));
    },
    async countContacts(campaignId) {
      return contactsByCampaign.get(campaignId)?.ids.length ?? 0;
    },
    async existingAddresses(campaignId, addresses) {
      const known = addressesByCampaign.get(campaignId);
      const out = new Set<string>();
      if (known) for (const a of addresses) if (known.has(a)) out.add(a);
      return out;
    },
    async deleteContacts(campaignId, ids) {
      const all = contactsByCampaign.get(campaignId);
      if (!all) return 0;
      const targets = (ids ?? [...all.ids])
        .map((id) => contacts.get(id))
        .filter((c): c is ContactRecord => c !== undefined && c.campaignId === campaignId);
      for (const c of targets) {
        contacts.delete(c.id);
        all.remove(c.id);
        addressesByCampaign.get(campaignId)?.delete(c.address);
      }
      record(() => {
        for (const c of targets) {
          contacts.set(c.id, c);
          all.add(c.id);
          addressesByCampaign.get(campaignId)?.set(c.address, c.id);
        }
      });
      return targets.length;
    },

    async insertMessages(rows) {
      for (const m of rows) {
        if (messages.has(m.id)) throw new OutreachError('CONFLICT', `Message ${m.id} already exists.`);
      }
      for (const m of rows) {
        putMessage(m);
        sortedOf(messagesByCampaign, m.campaignId).add(m.id);
      }
      record(() => {
        for (const m of rows) {
          removeMessage(m.id);
          messagesByCampaign.get(m.campaignId)?.remove(m.id);
        }
      });
    },
    async getMessage(id) {
      return messages.get(id);
    },
    async lockMessages(ids) {
      const out: MessageRecord[] = [];
      for (const id of ids) {
        const m = messages.get(id);
        if (m) out.push(m);
      }
      return out;
    },
    async lockMessagesByProviderId(channel: Channel, providerIds) {
      const out = new Map<string, MessageRecord>();
      for (const pid of providerIds) {
        const id = providerIndex.get(key2(channel, pid));
        const m = id === undefined ? undefined : messages.get(id);
        if (m) out.set(pid, m);
      }
      return out;
    },
    async claimMessages(campaignId, state, limit) {
      const set = messagesByState.get(campaignId)?.get(state);
      const out: MessageRecord[] = [];
      if (!set) return out;
      for (const id of set) {
        if (out.length >= limit) break;
        const m = messages.get(id);
        if (m) out.push(m);
      }
      return out;
    },
    async updateMessages(rows) {
      const prevs: (MessageRecord | undefined)[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const m = rows[i] as MessageRecord;
        if (!messages.has(m.id)) throw new OutreachError('NOT_FOUND', `Message ${m.id} does not exist.`);
        prevs[i] = putMessage(m);
      }
      record(() => {
        for (let i = rows.length - 1; i >= 0; i--) restoreMessage((rows[i] as MessageRecord).id, prevs[i]);
      });
    },
    async listMessages(campaignId, filter: MessageFilter) {
      const statuses = filter.statuses ? new Set(filter.statuses) : undefined;
      return page(
        messagesByCampaign.get(campaignId),
        filter,
        (id) => messages.get(id),
        statuses ? (m) => statuses.has(m.status) : undefined,
      );
    },
    async appendLog(entries) {
      if (!keepLog) return;
      for (const e of entries) {
        let l = logs.get(e.messageId);
        if (!l) {
          l = [];
          logs.set(e.messageId, l);
        }
        l.push(e);
      }
      record(() => {
        for (let i = entries.length - 1; i >= 0; i--) logs.get((entries[i] as MessageLogEntry).messageId)?.pop();
      });
    },
    async listLog(messageId) {
      return [...(logs.get(messageId) ?? [])];
    },

    async upsertDeadlines(rows) {
      const prevs = rows.map((d) => deadlines.get(d.id));
      for (const d of rows) putDeadline(d);
      record(() => {
        rows.forEach((d, i) => {
          const p = prevs[i];
          if (p) putDeadline(p);
          else deadlines.delete(d.id);
        });
      });
    },
    async deleteDeadlines(ids) {
      const prevs: DeadlineRecord[] = [];
      for (const id of ids) {
        const p = deadlines.get(id);
        if (p) {
          prevs.push(p);
          deadlines.delete(id);
        }
      }
      if (prevs.length) record(() => prevs.forEach(putDeadline));
    },
    async takeDeadlines(ids) {
      const taken: DeadlineRecord[] = [];
      for (const id of new Set(ids)) {
        const p = deadlines.get(id);
        if (p) {
          taken.push(p);
          deadlines.delete(id);
        }
      }
      if (taken.length) record(() => taken.forEach(putDeadline));
      return taken.map((d) => d.id);
    },
    async takeDueDeadlines(now, limit) {
      const out: DeadlineRecord[] = [];
      while (out.length < limit) {
        const top = deadlineHeap.peek();
        if (!top || top.fireAt > now) break;
        deadlineHeap.pop();
        if (deadlines.get(top.id) !== top.record) continue; // replaced or deleted since
        deadlines.delete(top.id);
        out.push(top.record);
      }
      if (out.length) record(() => out.forEach(putDeadline));
      return out;
    },
    async nextDeadlineAt() {
      for (;;) {
        const top = deadlineHeap.peek();
        if (!top) return undefined;
        if (deadlines.get(top.id) === top.record) return top.fireAt;
        deadlineHeap.pop(); // drop stale entries as we meet them
      }
    },

    async addSuppressions(rows) {
      const added: SuppressionRecord[] = [];
      for (const r of rows) {
        const k = key2(r.scope, r.channel);
        let list = suppressions.get(k);
        if (!list) {
          list = new Map();
          suppressions.set(k, list);
        }
        if (!list.has(r.address)) {
          list.set(r.address, r);
          added.push(r);
        }
      }
      if (added.length)
        record(() => {
          for (const r of added) suppressions.get(key2(r.scope, r.channel))?.delete(r.address);
        });
    },
    async removeSuppression(scope, channel, address) {
      const list = suppressions.get(key2(scope, channel));
      const prev = list?.get(address);
      if (!list || !prev) return false;
      list.delete(address);
      record(() => list.set(address, prev));
      return true;
    },
    async suppressedAmong(scope, channel, addresses) {
      const list = suppressions.get(key2(scope, channel));
      const out = new Set<string>();
      if (list) for (const a of addresses) if (list.has(a)) out.add(a);
      return out;
    },

    async markSeen(keys) {
      const fresh: SeenKey[] = [];
      const result = keys.map((k) => {
        const entry = typeof k === 'string' ? { key: k, campaignId: null } : k;
        if (seen.has(entry.key)) return false;
        seen.set(entry.key, entry.campaignId);
        if (entry.campaignId !== null) {
          let set = seenByCampaign.get(entry.campaignId);
          if (!set) {
            set = new Set();
            seenByCampaign.set(entry.campaignId, set);
          }
          set.add(entry.key);
        }
        fresh.push(entry);
        return true;
      });
      if (fresh.length)
        record(() => {
          for (const { key, campaignId } of fresh) {
            seen.delete(key);
            if (campaignId !== null) seenByCampaign.get(campaignId)?.delete(key);
          }
        });
      return result;
    },
  };

  return {
    info: { name: 'memory', shared: false },
    transaction<T>(fn: (t: StorageTransaction) => Promise<T>): Promise<T> {
      const run = async () => {
        const log: Undo[] = [];
        undo = log;
        try {
          return await fn(tx);
        } catch (error) {
          for (let i = log.length - 1; i >= 0; i--) (log[i] as Undo)();
          throw error;
        } finally {
          undo = null;
        }
      };
      const result = tail.then(run, run);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
