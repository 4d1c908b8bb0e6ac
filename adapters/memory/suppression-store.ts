import type { Channel, SeenKey, SuppressionRecord } from 'campaign-lifecycle';
import { getOrCreate, key2 } from './get-or-create.js';
import type { Undo, UndoLog } from './undo-log.js';

/** Suppression lists: per scope and channel, the addresses opted out. */
export class SuppressionStore {
  private readonly lists = new Map<string, Map<string, SuppressionRecord>>();
  constructor(private readonly undo: UndoLog) {}

  add(rows: readonly SuppressionRecord[]): void {
    const added: SuppressionRecord[] = [];
    for (const r of rows) {
      const list = getOrCreate(this.lists, key2(r.scope, r.channel), () => new Map<string, SuppressionRecord>());
      if (!list.has(r.address)) {
        list.set(r.address, r);
        added.push(r);
      }
    }
    if (added.length)
      this.undo.record(() => {
        for (const r of added) this.lists.get(key2(r.scope, r.channel))?.delete(r.address);
      });
  }
  remove(scope: string, channel: Channel, address: string): boolean {
    const list = this.lists.get(key2(scope, channel));
    const prev = list?.get(address);
    if (!list || !prev) return false;
    list.delete(address);
    this.undo.record(() => list.set(address, prev));
    return true;
  }
  among(scope: string, channel: Channel, addresses: readonly string[]): Set<string> {
    const list = this.lists.get(key2(scope, channel));
    const out = new Set<string>();
    if (list) for (const a of addresses) if (list.has(a)) out.add(a);
    return out;
  }
}

/** Provider-event keys already seen, with the keys of each campaign (deleted with it). */
export class SeenStore {
  private readonly seen = new Map<string, string | null>();
  private readonly byCampaign = new Map<string, Set<string>>();
  constructor(private readonly undo: UndoLog) {}

  mark(keys: readonly (string | SeenKey)[]): boolean[] {
    const fresh: SeenKey[] = [];
    const result = keys.map((k) => {
      const entry = typeof k === 'string' ? { key: k, campaignId: null } : k;
      if (this.seen.has(entry.key)) return false;
      this.seen.set(entry.key, entry.campaignId);
      if (entry.campaignId !== null)
        getOrCreate(this.byCampaign, entry.campaignId, () => new Set<string>()).add(entry.key);
      fresh.push(entry);
      return true;
    });
    if (fresh.length)
      this.undo.record(() => {
        for (const { key, campaignId } of fresh) {
          this.seen.delete(key);
          if (campaignId !== null) this.byCampaign.get(campaignId)?.delete(key);
        }
      });
    return result;
  }
  removeCampaign(id: string): Undo {
    const owned = this.byCampaign.get(id);
    if (owned) {
      for (const key of owned) this.seen.delete(key);
      this.byCampaign.delete(id);
    }
    return () => {
      if (!owned) return;
      for (const key of owned) this.seen.set(key, id);
      this.byCampaign.set(id, owned);
    };
  }
}
