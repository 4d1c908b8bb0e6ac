/**
 * What the recording carrier of the multi-process tests reports for each message. Shared by the
 * worker processes (which play it) and the tests (which check the outcome against it), so both
 * sides agree without talking to each other.
 */

/** How the carrier behaves: every message delivered, or the crash test's mix with silent ones. */
export type CarrierMode = 'delivered' | 'crash';

/** What the carrier reports about one accepted message. */
export type PlannedReport =
  /** `sent`, then `delivered`, in one webhook batch. */
  | 'delivered'
  /** `sent` and then no receipt: the receipt rule makes it Assumed Delivered. */
  | 'sent_only'
  /** No callback at all: the sending rule makes it Failed, timed out. */
  | 'silent';

/** FNV-1a: a stable hash of the message id, so a message's fate does not depend on which worker sends it. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The report planned for a message: in crash mode one in ten is silent and one in ten gets no receipt. */
export function plannedReport(mode: CarrierMode, messageId: string): PlannedReport {
  if (mode === 'delivered') return 'delivered';
  const bucket = hash(messageId) % 10;
  if (bucket === 0) return 'silent';
  if (bucket === 1) return 'sent_only';
  return 'delivered';
}

/** The table where every send is recorded; deliberately without a unique constraint, so a resend shows as two rows. */
export function sendsTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${schema}.sends (message_id text NOT NULL, worker text NOT NULL, at timestamptz NOT NULL DEFAULT now())`;
}
