import { type ContactRecord, OutreachError, type Page } from 'campaign-lifecycle';
import { countDown, countUp, getOrCreate } from './get-or-create.js';
import { page, SortedIds } from './sorted-ids.js';
import type { Undo, UndoLog } from './undo-log.js';

/** Contacts by id, with each campaign's ids in order and its addresses. */
export class ContactStore {
  private readonly contacts = new Map<string, ContactRecord>();
  private readonly byCampaign = new Map<string, SortedIds>();
  /** Per campaign, how many of its contacts have each address. */
  private readonly addresses = new Map<string, Map<string, number>>();
  constructor(private readonly undo: UndoLog) {}

  insert(rows: readonly ContactRecord[]): void {
    for (const c of rows) {
      if (this.contacts.has(c.id)) throw new OutreachError('CONFLICT', `Contact ${c.id} already exists.`);
    }
    for (const c of rows) {
      this.contacts.set(c.id, c);
      getOrCreate(this.byCampaign, c.campaignId, () => new SortedIds()).add(c.id);
      countUp(
        getOrCreate(this.addresses, c.campaignId, () => new Map<string, number>()),
        c.address,
      );
    }
    this.undo.record(() => {
      for (const c of rows) {
        this.contacts.delete(c.id);
        this.byCampaign.get(c.campaignId)?.remove(c.id);
        countDown(this.addresses.get(c.campaignId), c.address);
      }
    });
  }
  get(id: string): ContactRecord | undefined {
    return this.contacts.get(id);
  }
  getMany(ids: readonly string[]): Map<string, ContactRecord> {
    const out = new Map<string, ContactRecord>();
    for (const id of ids) {
      const c = this.contacts.get(id);
      if (c) out.set(id, c);
    }
    return out;
  }
  list(campaignId: string, p: Page): ContactRecord[] {
    return page(this.byCampaign.get(campaignId), p, (id) => this.contacts.get(id));
  }
  count(campaignId: string): number {
    return this.byCampaign.get(campaignId)?.ids.length ?? 0;
  }
  existingAddresses(campaignId: string, addresses: readonly string[]): Set<string> {
    const known = this.addresses.get(campaignId);
    const out = new Set<string>();
    if (known) for (const a of addresses) if (known.has(a)) out.add(a);
    return out;
  }
  delete(campaignId: string, ids: readonly string[] | undefined): number {
    const all = this.byCampaign.get(campaignId);
    if (!all) return 0;
    // Each contact once, however many times it is named (the count is of contacts deleted).
    const targets = [...new Set(ids ?? all.ids)]
      .map((id) => this.contacts.get(id))
      .filter((c): c is ContactRecord => c !== undefined && c.campaignId === campaignId);
    for (const c of targets) {
      this.contacts.delete(c.id);
      all.remove(c.id);
      countDown(this.addresses.get(campaignId), c.address);
    }
    this.undo.record(() => {
      for (const c of targets) {
        this.contacts.set(c.id, c);
        all.add(c.id);
        countUp(
          getOrCreate(this.addresses, campaignId, () => new Map<string, number>()),
          c.address,
        );
      }
    });
    return targets.length;
  }
  /** Removes every contact of a campaign; returns how to put them back. */
  removeCampaign(id: string): Undo {
    const owned = page(this.byCampaign.get(id), {}, (cid) => this.contacts.get(cid));
    const prevAddresses = this.addresses.get(id);
    const prevIds = this.byCampaign.get(id);
    for (const c of owned) this.contacts.delete(c.id);
    this.addresses.delete(id);
    this.byCampaign.delete(id);
    return () => {
      for (const c of owned) this.contacts.set(c.id, c);
      if (prevAddresses) this.addresses.set(id, prevAddresses);
      if (prevIds) this.byCampaign.set(id, prevIds);
    };
  }
}
