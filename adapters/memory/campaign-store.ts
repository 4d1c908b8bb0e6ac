import {
  type CampaignCounters,
  type CampaignFilter,
  type CampaignRecord,
  type Channel,
  type CounterDelta,
  emptyCounts,
  type MessageStatus,
  OutreachError,
} from 'campaign-lifecycle';
import { getOrCreate, key2 } from './get-or-create.js';
import { page, SortedIds } from './sorted-ids.js';
import type { Undo, UndoLog } from './undo-log.js';

/** Campaign records, paged by id. */
export class CampaignStore {
  private readonly campaigns = new Map<string, CampaignRecord>();
  private readonly ids = new SortedIds();
  constructor(private readonly undo: UndoLog) {}

  insert(c: CampaignRecord): void {
    if (this.campaigns.has(c.id)) throw new OutreachError('CONFLICT', `Campaign ${c.id} already exists.`);
    this.campaigns.set(c.id, c);
    this.ids.add(c.id);
    this.undo.record(() => {
      this.campaigns.delete(c.id);
      this.ids.remove(c.id);
    });
  }
  get(id: string): CampaignRecord | undefined {
    return this.campaigns.get(id);
  }
  update(c: CampaignRecord): void {
    const prev = this.campaigns.get(c.id);
    if (!prev) throw new OutreachError('NOT_FOUND', `Campaign ${c.id} does not exist.`);
    this.campaigns.set(c.id, c);
    this.undo.record(() => this.campaigns.set(c.id, prev));
  }
  list(filter: CampaignFilter): CampaignRecord[] {
    const statuses = filter.statuses ? new Set(filter.statuses) : undefined;
    return page(
      this.ids,
      filter,
      (id) => this.campaigns.get(id),
      (c) =>
        (filter.scope === undefined || c.scope === filter.scope) &&
        (filter.channel === undefined || c.channel === filter.channel) &&
        (statuses === undefined || statuses.has(c.status)),
    );
  }
  /** Removes the campaign record; returns how to put it back, or `undefined` if there is none. */
  remove(id: string): Undo | undefined {
    const prev = this.campaigns.get(id);
    if (!prev) return undefined;
    this.campaigns.delete(id);
    this.ids.remove(id);
    return () => {
      this.campaigns.set(id, prev);
      this.ids.add(id);
    };
  }
}

interface Counters {
  counts: Record<MessageStatus, number>;
  opens: number;
  clicks: number;
  reads: number;
  spamReports: number;
}

/** Campaign counters, created at zero on first use. */
export class CounterStore {
  private readonly counters = new Map<string, Counters>();
  constructor(private readonly undo: UndoLog) {}

  add(deltas: readonly CounterDelta[]): void {
    for (const d of deltas) {
      const target = getOrCreate(this.counters, d.campaignId, () => ({
        counts: emptyCounts(),
        opens: 0,
        clicks: 0,
        reads: 0,
        spamReports: 0,
      }));
      if (d.counts) {
        for (const [status, n] of Object.entries(d.counts) as [MessageStatus, number][]) target.counts[status] += n;
      }
      target.opens += d.opens ?? 0;
      target.clicks += d.clicks ?? 0;
      target.reads += d.reads ?? 0;
      target.spamReports += d.spamReports ?? 0;
      this.undo.record(() => {
        if (d.counts) {
          for (const [status, n] of Object.entries(d.counts) as [MessageStatus, number][]) target.counts[status] -= n;
        }
        target.opens -= d.opens ?? 0;
        target.clicks -= d.clicks ?? 0;
        target.reads -= d.reads ?? 0;
        target.spamReports -= d.spamReports ?? 0;
      });
    }
  }
  get(campaignId: string): CampaignCounters {
    const c = this.counters.get(campaignId);
    return c
      ? { counts: { ...c.counts }, opens: c.opens, clicks: c.clicks, reads: c.reads, spamReports: c.spamReports }
      : { counts: emptyCounts(), opens: 0, clicks: 0, reads: 0, spamReports: 0 };
  }
  removeCampaign(id: string): Undo {
    const prev = this.counters.get(id);
    this.counters.delete(id);
    return () => {
      if (prev) this.counters.set(id, prev);
    };
  }
}

/** The one-running-campaign rule: which campaign holds the channel of a scope. */
export class ChannelClaims {
  private readonly holders = new Map<string, string>();
  constructor(private readonly undo: UndoLog) {}

  claim(scope: string, channel: Channel, campaignId: string): string {
    const k = key2(scope, channel);
    const holder = this.holders.get(k);
    if (holder !== undefined) return holder;
    this.holders.set(k, campaignId);
    this.undo.record(() => this.holders.delete(k));
    return campaignId;
  }
  release(scope: string, channel: Channel, campaignId: string): void {
    const k = key2(scope, channel);
    if (this.holders.get(k) !== campaignId) return;
    this.holders.delete(k);
    this.undo.record(() => this.holders.set(k, campaignId));
  }
  holder(scope: string, channel: Channel): string | undefined {
    return this.holders.get(key2(scope, channel));
  }
  removeCampaign(id: string): Undo {
    const held = [...this.holders.entries()].filter(([, holder]) => holder === id);
    for (const [k] of held) this.holders.delete(k);
    return () => {
      for (const [k, v] of held) this.holders.set(k, v);
    };
  }
}
