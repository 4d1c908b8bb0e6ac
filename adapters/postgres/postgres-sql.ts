/**
 * The SQL of the Postgres adapter, per table, and the counter rows it reads and writes.
 */
import { type CampaignCounters, type CounterDelta, emptyCounts, type MessageStatus } from 'campaign-lifecycle';
import { COUNTER_COLUMNS } from './postgres-migrations.js';

/** Counter shards per campaign: each connection adds to shard `backend pid % SHARDS`. */
const SHARDS = 16;

/** Counter columns besides the per-status ones (spam_reports since migration 3). */
const ENGAGEMENT_COLUMNS = ['opens', 'clicks', 'reads', 'spam_reports'] as const;

const MESSAGE_COLUMNS = `id, campaign_id AS "campaignId", contact_id AS "contactId", scope, channel, "to", status, state, context,
  created_at::float8 AS "createdAt", updated_at::float8 AS "updatedAt"`;
const MESSAGE_RECORDSET = `x(id text, "campaignId" text, "contactId" text, scope text, channel text, "to" text, status text,
  state text, context json, "createdAt" bigint, "updatedAt" bigint)`;
const CONTACT_COLUMNS = 'id, campaign_id AS "campaignId", address, fields, created_at::float8 AS "createdAt"';
const DEADLINE_COLUMNS =
  'id, kind, entity_id AS "entityId", campaign_id AS "campaignId", fire_at::float8 AS "fireAt", event';

/** The engagement counters beside the per-status ones (`reads` since migration 3). */

/** The SQL of one schema, built once per storage. */
export function statements(s: string) {
  const counterList = COUNTER_COLUMNS.join(', ');
  return {
    insertCampaign: `INSERT INTO ${s}.campaigns (id, scope, channel, status, record) VALUES ($1, $2, $3, $4, $5::text::json)`,
    getCampaign: `SELECT record FROM ${s}.campaigns WHERE id = $1`,
    // A plain read of a campaign brings its counters along, for a getCounters right after it.
    readCampaign: `SELECT c.record, ${[...COUNTER_COLUMNS, ...ENGAGEMENT_COLUMNS].map((c) => `k.${c}`).join(', ')}
      FROM ${s}.campaigns c, LATERAL (SELECT ${[...COUNTER_COLUMNS, ...ENGAGEMENT_COLUMNS].map((c) => `coalesce(sum(${c}), 0)::float8 AS ${c}`).join(', ')}
        FROM ${s}.counters WHERE campaign_id = c.id) k
      WHERE c.id = $1`,
    updateCampaign: `UPDATE ${s}.campaigns SET scope = $2, channel = $3, status = $4, record = $5::text::json WHERE id = $1 RETURNING id`,
    // One round trip; every CTE sees the rows as they were, so the log is found through the messages being deleted.
    deleteCampaign: `WITH
      l AS (DELETE FROM ${s}.message_log WHERE message_id IN (SELECT id FROM ${s}.messages WHERE campaign_id = $1)),
      m AS (DELETE FROM ${s}.messages WHERE campaign_id = $1),
      c AS (DELETE FROM ${s}.contacts WHERE campaign_id = $1),
      d AS (DELETE FROM ${s}.deadlines WHERE campaign_id = $1),
      n AS (DELETE FROM ${s}.counters WHERE campaign_id = $1),
      h AS (DELETE FROM ${s}.channel_claims WHERE campaign_id = $1),
      k AS (DELETE FROM ${s}.seen_events WHERE campaign_id = $1)
      DELETE FROM ${s}.campaigns WHERE id = $1`,
    addCounters: `INSERT INTO ${s}.counters (campaign_id, shard, ${counterList}, ${ENGAGEMENT_COLUMNS.join(', ')})
      SELECT x."campaignId", pg_backend_pid() % ${SHARDS}, ${[...COUNTER_COLUMNS, ...ENGAGEMENT_COLUMNS].map((c) => `x.${c}`).join(', ')}
      FROM json_to_recordset($1::text::json) AS x("campaignId" text, ${[...COUNTER_COLUMNS, ...ENGAGEMENT_COLUMNS].map((c) => `${c} bigint`).join(', ')})
      ORDER BY x."campaignId"
      ON CONFLICT (campaign_id, shard) DO UPDATE SET
      ${[...COUNTER_COLUMNS, ...ENGAGEMENT_COLUMNS].map((c) => `${c} = counters.${c} + EXCLUDED.${c}`).join(', ')}`,
    getCounters: `SELECT ${[...COUNTER_COLUMNS, ...ENGAGEMENT_COLUMNS].map((c) => `coalesce(sum(${c}), 0)::float8 AS ${c}`).join(', ')}
      FROM ${s}.counters WHERE campaign_id = $1`,
    claimChannel: `INSERT INTO ${s}.channel_claims (scope, channel, campaign_id) VALUES ($1, $2, $3)
      ON CONFLICT DO NOTHING RETURNING campaign_id`,
    channelHolder: `SELECT campaign_id FROM ${s}.channel_claims WHERE scope = $1 AND channel = $2`,
    releaseChannel: `DELETE FROM ${s}.channel_claims WHERE scope = $1 AND channel = $2 AND campaign_id = $3`,
    insertContacts: `INSERT INTO ${s}.contacts (id, campaign_id, address, fields, created_at)
      SELECT x.id, x."campaignId", x.address, x.fields, x."createdAt"
      FROM json_to_recordset($1::text::json) AS x(id text, "campaignId" text, address text, fields json, "createdAt" bigint)`,
    getContacts: `SELECT ${CONTACT_COLUMNS} FROM ${s}.contacts WHERE id = ANY($1::text[])`,
    listContacts: `SELECT ${CONTACT_COLUMNS} FROM ${s}.contacts WHERE campaign_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    countContacts: `SELECT count(*)::float8 AS n FROM ${s}.contacts WHERE campaign_id = $1`,
    existingAddresses: `SELECT DISTINCT address FROM ${s}.contacts WHERE campaign_id = $1 AND address = ANY($2::text[])`,
    deleteAllContacts: `WITH d AS (DELETE FROM ${s}.contacts WHERE campaign_id = $1 RETURNING 1) SELECT count(*)::float8 AS n FROM d`,
    deleteContacts: `WITH d AS (DELETE FROM ${s}.contacts WHERE campaign_id = $1 AND id = ANY($2::text[]) RETURNING 1)
      SELECT count(*)::float8 AS n FROM d`,
    insertMessages: `INSERT INTO ${s}.messages
      (id, campaign_id, contact_id, scope, channel, "to", status, state, provider_message_id, context, created_at, updated_at)
      SELECT x.id, x."campaignId", x."contactId", x.scope, x.channel, x."to", x.status, x.state,
        x.context->>'providerMessageId', x.context, x."createdAt", x."updatedAt"
      FROM json_to_recordset($1::text::json) AS ${MESSAGE_RECORDSET}`,
    getMessage: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages WHERE id = $1`,
    existingMessages: `SELECT id FROM ${s}.messages WHERE id = ANY($1::text[])`,
    lockMessages: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
    lockByProvider: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages
      WHERE channel = $1 AND provider_message_id = ANY($2::text[]) AND provider_message_id IS NOT NULL ORDER BY id FOR UPDATE`,
    claimMessages: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages
      WHERE campaign_id = $1 AND state = $2 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
    // The keyset claim: starts after the last id claimed, so it never steps over the claimed messages.
    claimMessagesAfter: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages
      WHERE campaign_id = $1 AND state = $2 AND id > $4 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
    updateMessages: `UPDATE ${s}.messages AS m SET campaign_id = x."campaignId", contact_id = x."contactId", scope = x.scope,
      channel = x.channel, "to" = x."to", status = x.status, state = x.state,
      provider_message_id = x.context->>'providerMessageId', context = x.context,
      created_at = x."createdAt", updated_at = x."updatedAt"
      FROM json_to_recordset($1::text::json) AS ${MESSAGE_RECORDSET}
      WHERE m.id = x.id RETURNING m.id`,
    listMessages: `SELECT ${MESSAGE_COLUMNS} FROM ${s}.messages WHERE campaign_id = $1
      AND ($2::text[] IS NULL OR status = ANY($2::text[])) AND ($3::text IS NULL OR id > $3) ORDER BY id LIMIT $4`,
    appendLog: `INSERT INTO ${s}.message_log (message_id, campaign_id, at, event, from_status, to_status, changed, detail)
      SELECT x."messageId", x."campaignId", x.at, x.event, x."from", x."to", x.changed, x.detail
      FROM ROWS FROM (json_to_recordset($1::text::json) AS ("messageId" text, "campaignId" text, at bigint,
        event text, "from" text, "to" text, changed boolean, detail json))
        WITH ORDINALITY AS x("messageId", "campaignId", at, event, "from", "to", changed, detail, n)
      ORDER BY x.n`,
    listLog: `SELECT message_id AS "messageId", campaign_id AS "campaignId", at::float8 AS at, event, from_status AS "from",
      to_status AS "to", changed, detail FROM ${s}.message_log WHERE message_id = $1 ORDER BY seq`,
    upsertDeadlines: `INSERT INTO ${s}.deadlines (id, kind, entity_id, campaign_id, fire_at, event)
      SELECT x.id, x.kind, x."entityId", x."campaignId", x."fireAt", x.event
      FROM json_to_recordset($1::text::json) AS x(id text, kind text, "entityId" text, "campaignId" text, "fireAt" bigint, event json)
      ORDER BY x.id
      ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, entity_id = EXCLUDED.entity_id,
        campaign_id = EXCLUDED.campaign_id, fire_at = EXCLUDED.fire_at, event = EXCLUDED.event`,
    deleteDeadlines: `DELETE FROM ${s}.deadlines WHERE id = ANY($1::text[])`,
    // Waits for a concurrent taker's row lock; once it commits, the row is gone and not returned here.
    takeDeadlines: `DELETE FROM ${s}.deadlines WHERE id = ANY($1::text[]) RETURNING id`,
    takeDueDeadlines: `DELETE FROM ${s}.deadlines WHERE id IN (
        SELECT id FROM ${s}.deadlines WHERE fire_at <= $1 ORDER BY fire_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING ${DEADLINE_COLUMNS}`,
    nextDeadlineAt: `SELECT fire_at::float8 AS "fireAt" FROM ${s}.deadlines ORDER BY fire_at LIMIT 1`,
    addSuppressions: `INSERT INTO ${s}.suppressions (scope, channel, address, source, at)
      SELECT DISTINCT ON (x.scope, x.channel, x.address) x.scope, x.channel, x.address, x.source, x.at
      FROM ROWS FROM (json_to_recordset($1::text::json) AS (scope text, channel text, address text, source text, at bigint))
        WITH ORDINALITY AS x(scope, channel, address, source, at, n)
      ORDER BY x.scope, x.channel, x.address, x.n
      ON CONFLICT DO NOTHING`,
    removeSuppression: `DELETE FROM ${s}.suppressions WHERE scope = $1 AND channel = $2 AND address = $3 RETURNING 1`,
    suppressedAmong: `SELECT address FROM ${s}.suppressions WHERE scope = $1 AND channel = $2 AND address = ANY($3::text[])`,
    appendOptOutLog: `INSERT INTO ${s}.opt_out_log (at, scope, channel, address, change, source, text, campaign_id, message_id)
      SELECT x.at, x.scope, x.channel, x.address, x.change, x.source, x.text, x."campaignId", x."messageId"
      FROM ROWS FROM (json_to_recordset($1::text::json) AS (at bigint, scope text, channel text, address text,
        change text, source text, text text, "campaignId" text, "messageId" text))
        WITH ORDINALITY AS x(at, scope, channel, address, change, source, text, "campaignId", "messageId", n)
      ORDER BY x.n`,
    listOptOutLog: `SELECT id::float8 AS id, at::float8 AS at, scope, channel, address, change, source, text,
        campaign_id AS "campaignId", message_id AS "messageId"
      FROM ${s}.opt_out_log
      WHERE id > $1 AND ($2::text IS NULL OR channel = $2) AND ($3::text IS NULL OR address = $3)
        AND ($4::text IS NULL OR scope = $4)
      ORDER BY id LIMIT $5`,
    markSeen: `INSERT INTO ${s}.seen_events (key, campaign_id)
      SELECT k, c FROM unnest($1::text[], $2::text[]) AS x(k, c) ORDER BY k
      ON CONFLICT DO NOTHING RETURNING key`,
  };
}

/** One result row. */
export type Row = Record<string, unknown>;

/** The counters in a row of sums (absent: zero). */
export function countersOf(row: Row): CampaignCounters {
  const counts = emptyCounts();
  for (const c of COUNTER_COLUMNS) counts[c as MessageStatus] = Number(row[c] ?? 0);
  return {
    counts,
    opens: Number(row.opens ?? 0),
    clicks: Number(row.clicks ?? 0),
    reads: Number(row.reads ?? 0),
    spamReports: Number(row.spam_reports ?? 0),
  };
}

/** Sums counter deltas per campaign; drops campaigns whose sums are all zero. */
export function counterRows(deltas: readonly CounterDelta[]): Record<string, unknown>[] {
  const sums = new Map<string, Record<string, number>>();
  for (const d of deltas) {
    let row = sums.get(d.campaignId);
    if (!row) {
      row = { opens: 0, clicks: 0, reads: 0, spam_reports: 0 };
      for (const c of COUNTER_COLUMNS) row[c] = 0;
      sums.set(d.campaignId, row);
    }
    if (d.counts) for (const [status, n] of Object.entries(d.counts)) row[status] = (row[status] ?? 0) + (n ?? 0);
    row.opens = (row.opens ?? 0) + (d.opens ?? 0);
    row.clicks = (row.clicks ?? 0) + (d.clicks ?? 0);
    row.reads = (row.reads ?? 0) + (d.reads ?? 0);
    row.spam_reports = (row.spam_reports ?? 0) + (d.spamReports ?? 0);
  }
  const rows: Record<string, unknown>[] = [];
  for (const [campaignId, row] of sums) {
    if (Object.values(row).some((n) => n !== 0)) rows.push({ campaignId, ...row });
  }
  return rows;
}
