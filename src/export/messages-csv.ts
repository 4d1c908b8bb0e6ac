/**
 * CSV export of one campaign's messages: recipient, contact fields, status, failure reason,
 * attempts and times.
 */
import { FAILURE_REASONS } from '../failure-reasons.js';
import type { ContactRecord, MessageRecord } from '../records.js';
import { deliveryGroup, MESSAGE_STATUS_LABELS } from '../statuses.js';
import { type CsvExportOptions, csvChunks, isoTime, type RowSource } from './csv-stream.js';

/** One message to export, with its contact when known. */
export interface MessageExportRow {
  message: MessageRecord;
  contact?: ContactRecord | null | undefined;
}

/** Options of {@link messagesCsv}. */
export interface MessagesCsvOptions extends CsvExportOptions {
  /** Contact fields to add as columns after the recipient, in this order (e.g. the import's columns). */
  fields?: readonly string[] | undefined;
}

const GROUP_LABELS = { delivered: 'Delivered', pending: 'Pending', failed: 'Failed' } as const;

/**
 * Streams messages as CSV: message id, recipient, the contact `fields` asked for, status label,
 * delivery group (Delivered / Pending / Failed), failure reason label and id, provider code,
 * attempts, provider message id, created and updated (ISO 8601).
 * @example
 * for await (const chunk of messagesCsv(rows, { fields: ['first_name'] })) response.write(chunk);
 */
export function messagesCsv(
  rows: RowSource<MessageExportRow>,
  options: MessagesCsvOptions = {},
): AsyncIterable<string> {
  const fields = options.fields ?? [];
  const header = [
    'Message ID',
    'Recipient',
    ...fields,
    'Status',
    'Delivery',
    'Failure Reason',
    'Failure Reason ID',
    'Provider Code',
    'Attempts',
    'Provider Message ID',
    'Created At',
    'Updated At',
  ];
  return csvChunks(
    header,
    rows,
    ({ message: m, contact }) => {
      const reason = m.context.reason;
      return [
        m.id,
        m.to,
        ...fields.map((f) => contact?.fields[f] ?? null),
        MESSAGE_STATUS_LABELS[m.status],
        GROUP_LABELS[deliveryGroup(m.status)],
        reason === null ? null : FAILURE_REASONS[reason].label,
        reason,
        m.context.code,
        m.context.attempts,
        m.context.providerMessageId,
        isoTime(m.createdAt),
        isoTime(m.updatedAt),
      ];
    },
    options,
  );
}
