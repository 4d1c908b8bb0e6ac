/**
 * Queries: campaigns with their counters, messages with their logs, stats in constant time,
 * previews, and streamed CSV exports.
 */
import { OutreachError } from '../errors.js';
import { campaignsCsv } from '../export/campaigns-csv.js';
import { messagesCsv } from '../export/messages-csv.js';
import type { MessageRecord } from '../records.js';
import type { EngineParts } from './context.js';
import type { Outreach } from './outreach.js';
import { pages } from './paging.js';
import { campaignNotFound } from './refusals.js';
import { doneCount } from './views.js';

/** The query methods of the engine. */
export type OutreachQueries = Pick<
  Outreach,
  | 'getCampaign'
  | 'listCampaigns'
  | 'getMessage'
  | 'listMessages'
  | 'listContacts'
  | 'getStats'
  | 'preview'
  | 'exportCampaigns'
  | 'exportMessages'
>;

/** Builds the query methods over the core. */
export function createQueries(parts: EngineParts): OutreachQueries {
  const { clock, steppers, renderer, tx, view, options } = parts;
  return {
    getCampaign: (id) =>
      tx(async (t) => {
        return view(t, (await t.getCampaign(id)) ?? campaignNotFound(id));
      }),
    listCampaigns: (filter = {}) =>
      tx(async (t) => Promise.all((await t.listCampaigns(filter)).filter((c) => !c.oneOff).map((c) => view(t, c)))),
    getMessage: (id) =>
      tx(async (t) => {
        const m = await t.getMessage(id);
        if (!m) throw new OutreachError('NOT_FOUND', `Message ${id} does not exist.`, { details: { messageId: id } });
        return { ...m, log: await t.listLog(id) };
      }),
    listMessages: (campaignId, filter = {}) =>
      tx((t) =>
        t.listMessages(campaignId, { statuses: filter.statuses, after: filter.after, limit: filter.limit ?? 1000 }),
      ),
    listContacts: (campaignId, page = {}) =>
      tx((t) => t.listContacts(campaignId, { after: page.after, limit: page.limit ?? 1000 })),
    getStats: (campaignId) =>
      tx(async (t) => {
        const c = (await t.getCampaign(campaignId)) ?? campaignNotFound(campaignId);
        const { counts, opens, clicks, reads } = await t.getCounters(campaignId);
        const delivered = counts.delivered + counts.assumed_delivered;
        const failed = counts.failed + counts.opted_out + counts.cancelled;
        return {
          campaignId,
          status: c.status,
          total: c.messageCount,
          counts,
          done: doneCount(counts),
          delivered,
          pending: c.messageCount - delivered - failed,
          failed,
          opens,
          clicks,
          reads: reads ?? 0,
        };
      }),
    preview: (campaignId, contactId) =>
      tx(async (t) => {
        const c = (await t.getCampaign(campaignId)) ?? campaignNotFound(campaignId);
        const contact = await t.getContact(contactId);
        if (!contact || contact.campaignId !== campaignId) {
          throw new OutreachError('NOT_FOUND', `Contact ${contactId} is not a contact of campaign ${campaignId}.`, {
            details: { campaignId, contactId },
          });
        }
        if (!c.content)
          throw new OutreachError('VALIDATION_FAILED', `Campaign "${c.name}" has no content to preview yet.`);
        const now = clock.now();
        const message: MessageRecord = {
          id: 'msg_preview',
          campaignId,
          contactId,
          scope: c.scope,
          channel: c.channel,
          to: contact.address,
          ...steppers[c.channel].initial(now),
          createdAt: now,
          updatedAt: now,
        };
        return renderer.render(c, message, contact.fields, 1, options.unsubscribe);
      }),
    exportCampaigns: (filter = {}) =>
      campaignsCsv(
        (async function* () {
          const list = (after: string | undefined, limit: number) =>
            tx(async (t) =>
              Promise.all(
                (await t.listCampaigns({ ...filter, after, limit })).map(async (campaign) => ({
                  hidden: campaign.oneOff === true,
                  campaign,
                  counters: await t.getCounters(campaign.id),
                })),
              ),
            );
          for await (const page of pages(list, 500, (row) => row.campaign.id))
            for (const { hidden, ...row } of page) if (!hidden) yield row;
        })(),
      ),
    exportMessages: (campaignId, opts = {}) =>
      messagesCsv(
        (async function* () {
          const list = (after: string | undefined, limit: number) =>
            tx(async (t) => {
              const ms = await t.listMessages(campaignId, { after, limit });
              const contacts = opts.fields?.length ? await t.getContacts(ms.map((m) => m.contactId)) : undefined;
              return ms.map((message) => ({ message, contact: contacts?.get(message.contactId) ?? null }));
            });
          for await (const page of pages(list, 1000, (row) => row.message.id)) yield* page;
        })(),
        opts.fields ? { fields: opts.fields } : {},
      ),
  };
}
