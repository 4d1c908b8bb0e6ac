/**
 * Versioned schema migrations, applied by the adapter itself under an advisory lock so that several
 * processes starting at once apply each version exactly once.
 */
import { OutreachError } from 'campaign-lifecycle';
import type { PgClientLike, PgLike } from './pg-connection.js';
import { describe, RETRYABLE_SQLSTATES } from './pg-errors.js';

/** One schema version: SQL run once, in order, inside the migration transaction. */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  /** Statements, with `{{schema}}` standing for the quoted schema name. */
  readonly statements: readonly string[];
}

/** Message statuses that have a counter column (kept in step with `MESSAGE_STATUSES` by a test). */
export const COUNTER_COLUMNS = [
  'waiting',
  'queued',
  'sending',
  'sent',
  'delivered',
  'assumed_delivered',
  'retrying',
  'failed',
  'opted_out',
  'cancelled',
] as const;

/** Every migration of the schema, oldest first. Never edit a shipped one: add a new version. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: [
      `CREATE TABLE {{schema}}.campaigns (
        id text PRIMARY KEY,
        scope text NOT NULL,
        channel text NOT NULL,
        status text NOT NULL,
        record json NOT NULL
      )`,
      'CREATE INDEX campaigns_scope_id ON {{schema}}.campaigns (scope, id)',
      // Sharded counters: each connection adds to its own row, so workers never queue on one hot row.
      `CREATE TABLE {{schema}}.counters (
        campaign_id text NOT NULL,
        shard smallint NOT NULL,
        ${COUNTER_COLUMNS.map((c) => `${c} bigint NOT NULL DEFAULT 0`).join(',\n        ')},
        opens bigint NOT NULL DEFAULT 0,
        clicks bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (campaign_id, shard)
      )`,
      `CREATE TABLE {{schema}}.channel_claims (
        scope text NOT NULL,
        channel text NOT NULL,
        campaign_id text NOT NULL,
        PRIMARY KEY (scope, channel)
      )`,
      `CREATE TABLE {{schema}}.contacts (
        id text PRIMARY KEY,
        campaign_id text NOT NULL,
        address text NOT NULL,
        fields json NOT NULL,
        created_at bigint NOT NULL
      )`,
      'CREATE INDEX contacts_campaign_id ON {{schema}}.contacts (campaign_id, id)',
      'CREATE INDEX contacts_campaign_address ON {{schema}}.contacts (campaign_id, address)',
      `CREATE TABLE {{schema}}.messages (
        id text PRIMARY KEY,
        campaign_id text NOT NULL,
        contact_id text NOT NULL,
        scope text NOT NULL,
        channel text NOT NULL,
        "to" text NOT NULL,
        status text NOT NULL,
        state text NOT NULL,
        provider_message_id text,
        context json NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      )`,
      'CREATE INDEX messages_campaign_state ON {{schema}}.messages (campaign_id, state, id)',
      'CREATE INDEX messages_campaign_status ON {{schema}}.messages (campaign_id, status, id)',
      'CREATE INDEX messages_campaign_id ON {{schema}}.messages (campaign_id, id)',
      // Not unique: a provider id is unique per channel in practice, but a storage must not refuse a write over it.
      `CREATE INDEX messages_provider_id ON {{schema}}.messages (channel, provider_message_id)
        WHERE provider_message_id IS NOT NULL`,
      `CREATE TABLE {{schema}}.message_log (
        seq bigserial PRIMARY KEY,
        message_id text NOT NULL,
        campaign_id text NOT NULL,
        at bigint NOT NULL,
        event text NOT NULL,
        from_status text NOT NULL,
        to_status text NOT NULL,
        changed boolean NOT NULL,
        detail json
      )`,
      'CREATE INDEX message_log_message ON {{schema}}.message_log (message_id, seq)',
      `CREATE TABLE {{schema}}.deadlines (
        id text PRIMARY KEY,
        kind text NOT NULL,
        entity_id text NOT NULL,
        campaign_id text NOT NULL,
        fire_at bigint NOT NULL,
        event json NOT NULL
      )`,
      'CREATE INDEX deadlines_fire_at ON {{schema}}.deadlines (fire_at, id)',
      `CREATE TABLE {{schema}}.suppressions (
        scope text NOT NULL,
        channel text NOT NULL,
        address text NOT NULL,
        source text NOT NULL,
        at bigint NOT NULL,
        PRIMARY KEY (scope, channel, address)
      )`,
      `CREATE TABLE {{schema}}.seen_events (
        key text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      'CREATE INDEX seen_events_created_at ON {{schema}}.seen_events (created_at)',
    ],
  },
  {
    version: 2,
    name: 'seen event keys belong to a campaign and are deleted with it',
    statements: [
      'ALTER TABLE {{schema}}.seen_events ADD COLUMN campaign_id text',
      'CREATE INDEX seen_events_campaign ON {{schema}}.seen_events (campaign_id) WHERE campaign_id IS NOT NULL',
    ],
  },
  {
    version: 3,
    name: 'campaign counters count messages read (WhatsApp and RCS read receipts)',
    statements: ['ALTER TABLE {{schema}}.counters ADD COLUMN reads bigint NOT NULL DEFAULT 0'],
  },
  {
    version: 4,
    name: 'spam complaints are counted per campaign (the spam-complaint brake)',
    statements: ['ALTER TABLE {{schema}}.counters ADD COLUMN spam_reports bigint NOT NULL DEFAULT 0'],
  },
  {
    version: 5,
    name: 'the opt-out record: every suppression change, append-only, kept when campaigns are deleted',
    statements: [
      `CREATE TABLE {{schema}}.opt_out_log (
        id bigserial PRIMARY KEY,
        at bigint NOT NULL,
        scope text NOT NULL,
        channel text NOT NULL,
        address text NOT NULL,
        change text NOT NULL,
        source text NOT NULL,
        text text,
        campaign_id text,
        message_id text
      )`,
      'CREATE INDEX opt_out_log_address ON {{schema}}.opt_out_log (channel, address, id)',
    ],
  },
  {
    version: 6,
    name: 'claims read a partial index of the messages not handed over; the full (campaign_id, state, id) index goes',
    statements: [
      // The claims (`claimMessages` of queued and waiting messages, and the bulk steps of stop and the
      // campaign deadline) read only these states; a message leaves the index once handed over, so its
      // later updates (sending, sent, delivered) write no entry to it. Claims of other states (close)
      // walk (campaign_id, id) after their keyset cursor instead.
      `CREATE INDEX messages_pending ON {{schema}}.messages (campaign_id, state, id)
        WHERE state IN ('waiting', 'queued', 'backoff', 'outside_window')`,
      'DROP INDEX {{schema}}.messages_campaign_state',
    ],
  },
];

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name and returns it quoted; refuses anything that is not a plain identifier. */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new OutreachError(
      'CONFIGURATION_ERROR',
      `Invalid Postgres schema name ${JSON.stringify(schema)}: use lower-case letters, digits and underscores, starting with a letter or underscore (at most 63 characters).`,
      { details: { schema } },
    );
  }
  return `"${schema}"`;
}

/** A fixed first key for the advisory lock, so the lock never collides with an application's own. */
const LOCK_CLASS = 0x636c6d; // "clm"

/**
 * Applies the migrations a schema lacks, in one transaction under an advisory lock keyed by the
 * schema name: a second process waits, then finds every version applied and does nothing.
 * @example
 * await migratePostgres(pool, 'campaign_lifecycle');
 */
export async function migratePostgres(pool: PgLike, schema = 'campaign_lifecycle'): Promise<number[]> {
  quoteSchema(schema);
  // DDL beside other sessions' DDL can meet a catalog deadlock; the whole migration is safe to re-run.
  for (let attempt = 0; ; attempt++) {
    try {
      return await migrateOnce(pool, schema);
    } catch (error) {
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      if (attempt >= 4 || typeof code !== 'string' || !RETRYABLE_SQLSTATES.has(code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * 2 ** attempt));
    }
  }
}

async function migrateOnce(pool: PgLike, schema: string): Promise<number[]> {
  const q = quoteSchema(schema);
  let client: PgClientLike;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new OutreachError(
      'STORAGE_ERROR',
      `Could not connect to Postgres to migrate schema ${schema}: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  let broken: Error | undefined;
  // Without a listener, a connection lost while checked out is an uncaught 'error' event (see the storage).
  const onLost = (error: Error) => {
    broken ??= error;
  };
  client.on?.('error', onLost);
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${q}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set(
        (await client.query(`SELECT version FROM ${q}.schema_migrations`)).rows.map((r) => Number(r.version)),
      );
      const applied: number[] = [];
      for (const m of POSTGRES_MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const sql of m.statements) await client.query(sql.replaceAll('{{schema}}', q));
        await client.query(`INSERT INTO ${q}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
        applied.push(m.version);
      }
      await client.query('COMMIT');
      return applied;
    } catch (error) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        broken = e instanceof Error ? e : new Error(String(e));
      });
      throw error;
    }
  } catch (error) {
    if (error instanceof OutreachError) throw error;
    throw new OutreachError('STORAGE_ERROR', `Migrating Postgres schema ${schema} failed: ${describe(error)}`, {
      cause: error,
    });
  } finally {
    client.off?.('error', onLost);
    client.release(broken);
  }
}
