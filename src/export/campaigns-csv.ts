/**
 * CSV export of campaigns: one row each, with a count column per message status.
 */
import type { CampaignCounters, CampaignRecord } from '../records.js';
import { CAMPAIGN_STATUS_LABELS, MESSAGE_STATUS_LABELS, MESSAGE_STATUSES } from '../statuses.js';
import { type CsvExportOptions, csvChunks, isoTime, type RowSource } from './csv-stream.js';

/** One campaign to export. */
export interface CampaignExportRow {
  campaign: CampaignRecord;
  counters: CampaignCounters;
}

/** The header of {@link campaignsCsv}. */
export const CAMPAIGN_CSV_COLUMNS: readonly string[] = [
  'Campaign ID',
  'Name',
  'Channel',
  'Scope',
  'Status',
  'Created At',
  'Started At',
  'Finished At',
  'Messages',
  ...MESSAGE_STATUSES.map((s) => MESSAGE_STATUS_LABELS[s]),
  'Opens',
  'Clicks',
];

/**
 * Streams campaigns as CSV: id, name, channel, scope, status label, created/started/finished
 * (ISO 8601), message count, one count per message status (labelled), opens and clicks.
 * @example
 * for await (const chunk of campaignsCsv(rows)) response.write(chunk);
 */
export function campaignsCsv(
  rows: RowSource<CampaignExportRow>,
  options: CsvExportOptions = {},
): AsyncIterable<string> {
  return csvChunks(
    CAMPAIGN_CSV_COLUMNS,
    rows,
    ({ campaign: c, counters }) => [
      c.id,
      c.name,
      c.channel,
      c.scope,
      CAMPAIGN_STATUS_LABELS[c.status],
      isoTime(c.createdAt),
      isoTime(c.startedAt),
      isoTime(c.finishedAt),
      c.messageCount,
      ...MESSAGE_STATUSES.map((s) => counters.counts[s]),
      counters.opens,
      counters.clicks,
    ],
    options,
  );
}
