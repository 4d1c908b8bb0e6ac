/**
 * CSV export of the opt-out record: every opt-out and opt-in of an address, oldest first, with how it
 * came and what prompted it.
 */
import type { OptOutLogRecord } from '../records.js';
import { type CsvExportOptions, csvChunks, isoTime, type RowSource } from './csv-stream.js';

const CHANGE_LABELS = { opt_out: 'Opted Out', opt_in: 'Opted In' } as const;

/**
 * Streams opt-out record entries as CSV: entry id, time (ISO 8601), scope, channel, address, change
 * (Opted Out / Opted In), source, text received, campaign id and message id. Text cells are neutralised.
 * @example
 * for await (const chunk of optOutCsv(records)) response.write(chunk);
 */
export function optOutCsv(rows: RowSource<OptOutLogRecord>, options: CsvExportOptions = {}): AsyncIterable<string> {
  const header = [
    'Entry ID',
    'At',
    'Scope',
    'Channel',
    'Address',
    'Change',
    'Source',
    'Text',
    'Campaign ID',
    'Message ID',
  ];
  return csvChunks(
    header,
    rows,
    (r) => [
      r.id,
      isoTime(r.at),
      r.scope,
      r.channel,
      r.address,
      CHANGE_LABELS[r.change],
      r.source,
      r.text,
      r.campaignId,
      r.messageId,
    ],
    options,
  );
}
