import { type ContactRecord, OutreachError, type Page } from 'campaign-lifecycle';
import { F64Column, flat, Interner, RefColumn, U32Column } from './columns.js';
import { countDown, countUp, getOrCreate } from './get-or-create.js';
import { SlotsById } from './slots-by-id.js';
import type { Undo, UndoLog } from './undo-log.js';

/**
 * Contacts in columns: a contact is a slot, its id and address kept as flat strings (which its
 * messages share), its fields object as given, its campaign interned. Records are built when read.
 */
export class CompactContactStore {
  private readonly campaigns = new Interner();
  private readonly slotOf = new Map<string, number>();
  private readonly freeSlots: number[] = [];
  private slots = 0;
  private readonly id = new RefColumn<string>();
  private readonly address = new RefColumn<string>();
  private readonly fields = new RefColumn<Readonly<Record<string, string>>>();
  private readonly campaign = new U32Column();
  private readonly createdAt = new F64Column();
  /** Per campaign (interned), its slots in id order. */
  private readonly byCampaign = new Map<number, SlotsById>();
  /** Per campaign (interned), how many of its contacts have each address. */
  private readonly addresses = new Map<number, Map<string, number>>();
  constructor(private readonly undo: UndoLog) {}

  private read(slot: number): ContactRecord {
    return {
      id: this.id.get(slot) as string,
      campaignId: this.campaigns.string(this.campaign.get(slot)) as string,
      address: this.address.get(slot) as string,
      fields: this.fields.get(slot) as Readonly<Record<string, string>>,
      createdAt: this.createdAt.get(slot),
    };
  }
  /** Takes a contact into a free slot (or `slot`, to put a removed one back). */
  private add(c: ContactRecord, slot = this.freeSlots.pop() ?? ++this.slots): number {
    const id = flat(c.id);
    const address = flat(c.address);
    const campaign = this.campaigns.number(c.campaignId);
    this.id.set(slot, id);
    this.address.set(slot, address);
    this.fields.set(slot, c.fields);
    this.campaign.set(slot, campaign);
    this.createdAt.set(slot, c.createdAt);
    this.slotOf.set(id, slot);
    getOrCreate(this.byCampaign, campaign, () => new SlotsById(this.id)).add(slot);
    countUp(
      getOrCreate(this.addresses, campaign, () => new Map<string, number>()),
      address,
    );
    return slot;
  }
  /**
   * Takes a contact out of its slot and indexes (`listed`: also out of its campaign's id order). On
   * rollback (`free`) the slot is free at once; a removal in a transaction frees it only at commit,
   * so that no slot changes hands while the undo log may still name it.
   */
  private drop(slot: number, listed: boolean, free: boolean): void {
    const campaign = this.campaign.get(slot);
    const address = this.address.get(slot) as string;
    if (listed) this.byCampaign.get(campaign)?.remove(slot);
    countDown(this.addresses.get(campaign), address);
    this.slotOf.delete(this.id.get(slot) as string);
    if (free) this.free(slot);
  }
  private free(slot: number): void {
    this.id.set(slot, undefined);
    this.address.set(slot, undefined);
    this.fields.set(slot, undefined);
    this.freeSlots.push(slot);
  }
  /** Frees these slots when the transaction commits; returns how to put their contacts back. */
  private freeAtCommit(slots: readonly number[], contacts: readonly ContactRecord[]): Undo {
    this.undo.afterCommit(() => {
      for (const slot of slots) this.free(slot);
    });
    return () => {
      for (let i = 0; i < slots.length; i++) this.add(contacts[i] as ContactRecord, slots[i] as number);
    };
  }

  /** The stored id and address of a contact with this id and address, for its messages to share. */
  strings(contactId: string, address: string): readonly [string, string] | undefined {
    const slot = this.slotOf.get(contactId);
    if (slot === undefined) return undefined;
    const stored = this.address.get(slot) as string;
    return stored === address ? [this.id.get(slot) as string, stored] : undefined;
  }

  insert(rows: readonly ContactRecord[]): void {
    for (const c of rows) {
      if (this.slotOf.has(c.id)) throw new OutreachError('CONFLICT', `Contact ${c.id} already exists.`);
    }
    const added = rows.map((c) => this.add(c));
    this.undo.record(() => {
      for (let i = added.length - 1; i >= 0; i--) this.drop(added[i] as number, true, true);
    });
  }
  get(id: string): ContactRecord | undefined {
    const slot = this.slotOf.get(id);
    return slot === undefined ? undefined : this.read(slot);
  }
  getMany(ids: readonly string[]): Map<string, ContactRecord> {
    const out = new Map<string, ContactRecord>();
    for (const id of ids) {
      const slot = this.slotOf.get(id);
      if (slot !== undefined) out.set(id, this.read(slot));
    }
    return out;
  }
  private slotsOf(campaignId: string): SlotsById | undefined {
    const campaign = this.campaigns.find(campaignId);
    return campaign === undefined ? undefined : this.byCampaign.get(campaign);
  }
  list(campaignId: string, p: Page): ContactRecord[] {
    const out: ContactRecord[] = [];
    const slots = this.slotsOf(campaignId);
    if (!slots) return out;
    for (let i = slots.indexAfter(p.after); i < slots.length && out.length < p.limit; i++)
      out.push(this.read(slots.at(i)));
    return out;
  }
  count(campaignId: string): number {
    return this.slotsOf(campaignId)?.length ?? 0;
  }
  existingAddresses(campaignId: string, addresses: readonly string[]): Set<string> {
    const campaign = this.campaigns.find(campaignId);
    const known = campaign === undefined ? undefined : this.addresses.get(campaign);
    const out = new Set<string>();
    if (known) for (const a of addresses) if (known.has(a)) out.add(a);
    return out;
  }
  delete(campaignId: string, ids: readonly string[] | undefined): number {
    const slots = this.slotsOf(campaignId);
    if (!slots) return 0;
    const campaign = this.campaigns.find(campaignId) as number;
    let targets: number[] = [];
    if (ids === undefined) for (let i = 0; i < slots.length; i++) targets.push(slots.at(i));
    else {
      const found = new Set<number>();
      for (const id of ids) {
        const slot = this.slotOf.get(id);
        if (slot !== undefined && this.campaign.get(slot) === campaign) found.add(slot);
      }
      targets = [...found];
    }
    const removed = targets.map((slot) => this.read(slot));
    if (ids === undefined) {
      this.byCampaign.set(campaign, new SlotsById(this.id));
      for (const slot of targets) this.drop(slot, false, false);
    } else for (const slot of targets) this.drop(slot, true, false);
    this.undo.record(this.freeAtCommit(targets, removed));
    return removed.length;
  }
  /** Removes every contact of a campaign; returns how to put them back. */
  removeCampaign(id: string): Undo {
    const campaign = this.campaigns.find(id);
    const slots = campaign === undefined ? undefined : this.byCampaign.get(campaign);
    if (campaign === undefined || !slots) return () => {};
    const owned: number[] = [];
    for (let i = 0; i < slots.length; i++) owned.push(slots.at(i));
    const records = owned.map((slot) => this.read(slot));
    this.byCampaign.delete(campaign);
    for (const slot of owned) this.drop(slot, false, false);
    this.addresses.delete(campaign);
    return this.freeAtCommit(owned, records);
  }
}
