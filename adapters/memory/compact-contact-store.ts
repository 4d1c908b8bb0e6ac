import { type ContactRecord, OutreachError, type Page } from 'campaign-lifecycle';
import { F64Column, flat, Interner, RefColumn, U32Column } from './columns.js';
import { getOrCreate } from './get-or-create.js';
import { PackedColumn, RowIndex } from './packed-strings.js';
import { SlotsById } from './slots-by-id.js';
import type { Undo, UndoLog } from './undo-log.js';

/**
 * Contacts in columns: a contact is a slot, its id and address packed where they have a known shape
 * (`packed-strings.ts`), its fields a column per field name (the list of names interned per contact),
 * its campaign interned. Records are built when read.
 */
export class CompactContactStore {
  private readonly campaigns = new Interner();
  private readonly freeSlots: number[] = [];
  private slots = 0;
  private readonly id = new PackedColumn('id', true);
  private readonly address = new PackedColumn('address', true);
  /** Live slots by contact id. */
  private readonly slotOf = new RowIndex(this.id);
  /** Per contact, its list of field names (interned, joined by NUL), or 0: fields kept as an object. */
  private readonly shape = new U32Column();
  private readonly shapes = new Interner();
  /** Per interned field list, its names. */
  private readonly shapeNames: string[][] = [[]];
  /** Per field name, a column of its values. */
  private readonly fieldValues = new Map<string, RefColumn<string>>();
  /** Fields that are not plain strings under ordinary names, kept as given. */
  private readonly fieldObjects = new Map<number, Readonly<Record<string, string>>>();
  private readonly campaign = new U32Column();
  private readonly createdAt = new F64Column();
  /** Per campaign (interned), its slots in id order. */
  private readonly byCampaign = new Map<number, SlotsById>();
  /** Per campaign (interned), its slots by address (several contacts may share one). */
  private readonly addresses = new Map<number, RowIndex>();
  constructor(private readonly undo: UndoLog) {}

  /** The record in `slot`; `id`: its id when the caller found the row by it (not decoded again). */
  private read(slot: number, id?: string): ContactRecord {
    return {
      id: id ?? (this.id.get(slot) as string),
      campaignId: this.campaigns.string(this.campaign.get(slot)) as string,
      address: this.address.get(slot) as string,
      fields: this.readFields(slot),
      createdAt: this.createdAt.get(slot),
    };
  }
  private readFields(slot: number): Readonly<Record<string, string>> {
    const shape = this.shape.get(slot);
    if (shape === 0) return this.fieldObjects.get(slot) as Readonly<Record<string, string>>;
    const fields: Record<string, string> = {};
    for (const name of this.shapeNames[shape] as string[])
      fields[name] = (this.fieldValues.get(name) as RefColumn<string>).get(slot) as string;
    return fields;
  }
  private writeFields(slot: number, fields: Readonly<Record<string, string>>): void {
    const names = Object.keys(fields);
    let plain = Object.getPrototypeOf(fields) === Object.prototype;
    for (const name of names) if (name === '__proto__' || typeof fields[name] !== 'string') plain = false;
    if (!plain || names.some((n) => n.includes('\u0000'))) {
      this.shape.set(slot, 0);
      this.fieldObjects.set(slot, fields);
      return;
    }
    const shape = this.shapes.number(names.join('\u0000'));
    if (shape === this.shapeNames.length) this.shapeNames.push(names);
    this.shape.set(slot, shape);
    for (const name of names)
      getOrCreate(this.fieldValues, name, () => new RefColumn<string>()).set(slot, flat(fields[name] as string));
  }
  private clearFields(slot: number): void {
    const shape = this.shape.get(slot);
    if (shape === 0) this.fieldObjects.delete(slot);
    else for (const name of this.shapeNames[shape] as string[]) this.fieldValues.get(name)?.set(slot, undefined);
  }
  /** Takes a contact into a free slot (or `slot`, to put a removed one back). */
  private add(c: ContactRecord, slot = this.freeSlots.pop() ?? ++this.slots): number {
    const campaign = this.campaigns.number(c.campaignId);
    this.id.set(slot, c.id);
    this.address.set(slot, c.address);
    this.writeFields(slot, c.fields);
    this.campaign.set(slot, campaign);
    this.createdAt.set(slot, c.createdAt);
    this.slotOf.add(slot);
    getOrCreate(this.byCampaign, campaign, () => new SlotsById(this.id)).add(slot);
    getOrCreate(this.addresses, campaign, () => new RowIndex(this.address)).add(slot);
    return slot;
  }
  /**
   * Takes a contact out of its slot and indexes (`listed`: also out of its campaign's id order). On
   * rollback (`free`) the slot is free at once; a removal in a transaction frees it only at commit,
   * so that no slot changes hands while the undo log may still name it.
   */
  private drop(slot: number, listed: boolean, free: boolean): void {
    const campaign = this.campaign.get(slot);
    if (listed) this.byCampaign.get(campaign)?.remove(slot);
    this.addresses.get(campaign)?.remove(slot);
    this.slotOf.remove(slot);
    if (free) this.free(slot);
  }
  private free(slot: number): void {
    this.id.set(slot, undefined);
    this.address.set(slot, undefined);
    this.clearFields(slot);
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

  insert(rows: readonly ContactRecord[]): void {
    for (const c of rows) {
      if (this.slotOf.first(c.id) !== 0) throw new OutreachError('CONFLICT', `Contact ${c.id} already exists.`);
    }
    // The id index keeps one slot per id: a batch naming an id twice is refused as a whole.
    if (rows.length > 1 && new Set(rows.map((c) => c.id)).size !== rows.length)
      throw new OutreachError('CONFLICT', 'Contacts of one insert share an id.');
    const added = rows.map((c) => this.add(c));
    this.undo.record(() => {
      for (let i = added.length - 1; i >= 0; i--) this.drop(added[i] as number, true, true);
    });
  }
  get(id: string): ContactRecord | undefined {
    const slot = this.slotOf.first(id);
    return slot === 0 ? undefined : this.read(slot);
  }
  getMany(ids: readonly string[]): Map<string, ContactRecord> {
    const out = new Map<string, ContactRecord>();
    for (const id of ids) {
      const slot = this.slotOf.first(id);
      if (slot !== 0) out.set(id, this.read(slot, id));
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
    if (known) for (const a of addresses) if (known.first(a) !== 0) out.add(a);
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
        const slot = this.slotOf.first(id);
        if (slot !== 0 && this.campaign.get(slot) === campaign) found.add(slot);
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
