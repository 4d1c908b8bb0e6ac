/**
 * The contact commands of a draft: add, import a CSV, remove. Each runs in one transaction (an import:
 * one per batch of rows) and is refused unless the campaign is a draft.
 */
import * as z from 'zod';
import {
  type CsvSource,
  importContactsCsv,
  MAX_REPORTED_REJECTIONS,
  type RejectedRow,
} from '../contacts/csv-import.js';
import { LIMITS } from '../limits.js';
import type { StorageTransaction } from '../ports/storage.js';
import type { CampaignRecord, ContactRecord } from '../records.js';
import { isTimeZone } from '../sending-window.js';
import type { EngineParts } from './context.js';
import { createId } from './ids.js';
import type { AddContactsResult, ContactInput, ImportContactsOptions, ImportContactsResult } from './outreach.js';
import { byId, pages } from './paging.js';
import { ensureAllowed, invalid } from './refusals.js';

// The door (door.ts) has checked every argument against LIMITS already; this shapes the parsed values.
const ContactsSchema = z
  .array(
    z.object({
      address: z.string().max(LIMITS.addressLength),
      fields: z.record(z.string().max(LIMITS.fieldNameLength), z.string().max(LIMITS.fieldValueLength)).optional(),
    }),
  )
  .max(LIMITS.contactsPerCall, `add at most ${LIMITS.contactsPerCall} contacts per call; import a CSV for more`);

/** The template fields the contacts of a campaign have, page by page. */
export async function knownFields(t: StorageTransaction, campaignId: string): Promise<string[]> {
  const fields = new Set<string>();
  for await (const page of pages((after, limit) => t.listContacts(campaignId, { after, limit }), 1000, byId))
    for (const c of page) for (const k of Object.keys(c.fields)) fields.add(k);
  return [...fields];
}

/**
 * Why a contact's time-zone field is refused: it names no IANA zone (the campaign's sending window
 * reads the recipient's zone there). Nothing when the campaign has no such field or the cell is empty.
 */
function unknownZone(
  c: CampaignRecord,
  fields: Readonly<Record<string, string>>,
): { column: string; reason: string; value: string } | undefined {
  const column = c.sendingWindow?.timeZoneField;
  const value = column ? fields[column]?.trim() : undefined;
  if (!column || !value || isTimeZone(value)) return undefined;
  return {
    column,
    value,
    reason: `"${value}" is not an IANA time zone (such as America/New_York); leave the "${column}" cell empty for the campaign's default, ${c.sendingWindow?.timeZone}.`,
  };
}

/** An import's result with rows the engine refused after the parser added, in line order. */
function withRejected(result: ImportContactsResult, more: readonly RejectedRow[]): ImportContactsResult {
  if (more.length === 0) return result;
  const rejected = [...result.rejected, ...more].sort((a, b) => a.line - b.line);
  return {
    ...result,
    imported: result.imported - more.length,
    rejectedCount: result.rejectedCount + more.length,
    rejected: rejected.slice(0, MAX_REPORTED_REJECTIONS),
    truncated: result.truncated || rejected.length > MAX_REPORTED_REJECTIONS,
  };
}

/** The contact commands. */
export interface ContactCommands {
  addContacts(id: string, contacts: readonly ContactInput[]): Promise<AddContactsResult>;
  importContacts(id: string, source: CsvSource, options?: ImportContactsOptions): Promise<ImportContactsResult>;
  removeContacts(id: string, contactIds?: readonly string[]): Promise<number>;
}

/** Builds the contact commands over the engine's parts. */
export function createContactCommands(parts: EngineParts): ContactCommands {
  const { options, clock, batchSize, normalize, renderer, tx, mustGetCampaign, moveCampaign } = parts;

  const addContacts = async (id: string, input: readonly ContactInput[]): Promise<AddContactsResult> => {
    const parsed = ContactsSchema.safeParse(input);
    if (!parsed.success) throw invalid('The contacts', parsed.error);
    const contacts = parsed.data;
    return tx(async (t, fx) => {
      const c = await mustGetCampaign(t, id);
      await moveCampaign(t, fx, { campaign: c, event: { type: 'EDIT_CONTACTS' }, action: 'addContacts' });
      const rejected: { index: number; address: string; reason: string }[] = [];
      const good: { index: number; address: string; fields: Record<string, string> }[] = [];
      contacts.forEach((input, index) => {
        const r = normalize(c.channel, input.address);
        const badZone = unknownZone(c, input.fields ?? {});
        if (!r.ok) rejected.push({ index, address: input.address, reason: r.message });
        else if (badZone) rejected.push({ index, address: input.address, reason: badZone.reason });
        else good.push({ index, address: r.address, fields: { ...(input.fields ?? {}) } });
      });
      const existing = await t.existingAddresses(
        id,
        good.map((g) => g.address),
      );
      const seen = new Set<string>();
      let duplicates = 0;
      const now = clock.now();
      const rows: ContactRecord[] = [];
      for (const g of good) {
        if (existing.has(g.address) || seen.has(g.address)) {
          duplicates++;
          continue;
        }
        seen.add(g.address);
        rows.push({ id: createId('ctc'), campaignId: id, address: g.address, fields: g.fields, createdAt: now });
      }
      for (let i = 0; i < rows.length; i += batchSize) await t.insertContacts(rows.slice(i, i + batchSize));
      return { added: rows.length, duplicates, rejected };
    });
  };

  const importContacts = async (id: string, source: CsvSource, opts: ImportContactsOptions = {}) => {
    const draft = async (t: StorageTransaction) => {
      const c = await mustGetCampaign(t, id);
      ensureAllowed(c, { type: 'EDIT_CONTACTS' }, 'addContacts');
      return c;
    };
    const c = await tx(draft);
    // Rows whose time-zone cell names no zone are refused here, with their line, like any bad cell.
    const zoneRejected: RejectedRow[] = [];
    const result = await importContactsCsv(
      source,
      {
        channel: c.channel,
        defaultCountry: opts.defaultCountry ?? options.defaultCountry,
        allowedCountries: opts.allowedCountries ?? options.allowedCountries,
        ...(opts.addressColumn ? { addressColumn: opts.addressColumn } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        existing: (addresses: string[]) => tx((t) => t.existingAddresses(id, addresses)),
        // A custom renderer normalises imported addresses as it does those of addContacts.
        ...(options.renderer && {
          normalizeAddress: (raw: string) =>
            renderer.normalizeAddress(c.channel, raw, {
              defaultCountry: opts.defaultCountry ?? options.defaultCountry,
              allowedCountries: opts.allowedCountries ?? options.allowedCountries,
            }),
        }),
      },
      (batch) => {
        const rows = batch.filter((r) => {
          const bad = unknownZone(c, r.fields);
          if (bad) zoneRejected.push({ line: r.line, code: 'invalid_cell', ...bad });
          return !bad;
        });
        if (rows.length === 0) return Promise.resolve();
        return tx(async (t) => {
          await draft(t);
          const now = clock.now();
          await t.insertContacts(
            rows.map((r) => ({
              id: createId('ctc'),
              campaignId: id,
              address: r.address,
              fields: r.fields,
              createdAt: now,
            })),
          );
        });
      },
    );
    return withRejected(result, zoneRejected);
  };

  const removeContacts = (id: string, contactIds?: readonly string[]) =>
    tx(async (t, fx) => {
      const c = await mustGetCampaign(t, id);
      await moveCampaign(t, fx, { campaign: c, event: { type: 'EDIT_CONTACTS' }, action: 'addContacts' });
      return t.deleteContacts(id, contactIds);
    });

  return { addContacts, importContacts, removeContacts };
}
