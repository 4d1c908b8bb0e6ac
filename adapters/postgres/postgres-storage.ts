/**
 * Postgres storage: every engine step is one BEGIN … COMMIT on a dedicated connection; queued
 * messages and due deadlines are claimed with `FOR UPDATE SKIP LOCKED`; the one-running-campaign
 * rule is a primary key; batches are written with one statement each (`json_to_recordset`).
 */
import {
  type CampaignCounters,
  type CampaignFilter,
  type CampaignRecord,
  type Channel,
  type ContactRecord,
  type CounterDelta,
  type DeadlineRecord,
  type MessageFilter,
  type MessageLogEntry,
  type MessageRecord,
  type OptOutLogRecord,
  OutreachError,
  type Page,
  type Storage,
  type StorageTransaction,
} from 'campaign-lifecycle';
import {
  guardPoolErrors,
  isEmbedded,
  type PGliteLike,
  type PgClientLike,
  type PgLike,
  toPgLike,
} from './pg-connection.js';
import { describe, isConnectionLoss, isRetryable, mapError } from './pg-errors.js';
import { migratePostgres, quoteSchema } from './postgres-migrations.js';
import { counterRows, countersOf, type Row, statements } from './postgres-sql.js';

/** Options of {@link postgresStorage}. */
export interface PostgresStorageOptions {
  /** A `pg.Pool` (or anything with `connect()`), or a PGlite instance. The adapter never closes it. */
  pool: PgLike | PGliteLike;
  /**
   * The schema holding the tables (created if missing).
   * @defaultValue 'campaign_lifecycle'
   */
  schema?: string | undefined;
  /**
   * Apply missing migrations before the first transaction. Turn off when migrations run in a deploy step.
   * @defaultValue true
   */
  migrate?: boolean | undefined;
  /**
   * How many times a transaction is re-run after a serialization failure, a deadlock or a connection
   * lost before COMMIT.
   * @defaultValue 5
   */
  maxRetries?: number | undefined;
}

/** The storage returned by {@link postgresStorage}: the `Storage` port plus migrations. */
export interface PostgresStorage extends Storage {
  /** The schema in use. */
  readonly schema: string;
  /** Applies missing migrations now (idempotent; safe to call from several processes at once). */
  migrate(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What one attempt of a transaction knows about itself. */
interface TxState {
  open: boolean;
  /**
   * Whether BEGIN has been sent. It is sent before the first statement that writes or locks: plain
   * reads before it run on their own, which under read committed (each statement sees what was
   * committed when it started, in a transaction or not) reads the same rows, and a transaction that
   * only reads sends neither BEGIN nor COMMIT.
   */
  begun: boolean;
  /** The first driver error: Postgres refuses every later statement of the transaction. */
  failure: { raw: unknown; mapped: OutreachError } | undefined;
}

/**
 * Writes that return nothing, held back and sent together as one statement (a data-modifying `WITH`)
 * before the next statement of the transaction or before COMMIT. They touch different tables, and
 * within a table a call that would touch a row already held back flushes first, so one statement
 * writes what the calls in their order would have.
 */
interface HeldWrites {
  messages: Map<string, MessageRecord>;
  log: MessageLogEntry[];
  deleteDeadlines: Set<string>;
  upsertDeadlines: Map<string, DeadlineRecord>;
  counters: CounterDelta[];
}

const noHeldWrites = (): HeldWrites => ({
  messages: new Map(),
  log: [],
  deleteDeadlines: new Set(),
  upsertDeadlines: new Map(),
  counters: [],
});

/**
 * Creates storage in PostgreSQL (through `pg`) or PGlite. Tables live in their own schema and are
 * created by versioned migrations on first use.
 * @example
 * import pg from 'pg';
 * import { postgresStorage } from 'campaign-lifecycle/postgres';
 * const storage = postgresStorage({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * const outreach = createOutreach({ storage, clock: systemClock, transports: { sms } });
 * @example
 * import { PGlite } from '@electric-sql/pglite';
 * const storage = postgresStorage({ pool: new PGlite() });
 */
export function postgresStorage(options: PostgresStorageOptions): PostgresStorage {
  const schema = options.schema ?? 'campaign_lifecycle';
  const q = quoteSchema(schema);
  const pool = toPgLike(options.pool);
  guardPoolErrors(pool);
  const shared = !isEmbedded(pool);
  const maxRetries = options.maxRetries ?? 5;
  const sql = statements(q);

  let migrated: Promise<void> | undefined;
  const migrate = (): Promise<void> => {
    if (!migrated) {
      migrated = migratePostgres(pool, schema).then(
        () => undefined,
        (error: unknown) => {
          migrated = undefined; // let the next call try again
          throw error;
        },
      );
    }
    return migrated;
  };
  const ready = options.migrate === false ? () => Promise.resolve() : migrate;

  const makeTx = (client: PgClientLike, state: TxState): { tx: StorageTransaction; flush: () => Promise<void> } => {
    let held = noHeldWrites();
    let holding = false;
    /** Statements sent so far, and the counters the last plain campaign read brought along. */
    let statements = 0;
    let counted: { campaignId: string; statement: number; counters: CampaignCounters } | undefined;
    const exec = async (text: string, params: unknown[], what: string): Promise<Row[]> => {
      statements++;
      try {
        return (await client.query(text, params)).rows;
      } catch (error) {
        const mapped = mapError(error, what);
        state.failure = { raw: error, mapped };
        throw mapped;
      }
    };
    const check = (what: string) => {
      if (!state.open) {
        throw new OutreachError(
          'STORAGE_ERROR',
          `${what}: the transaction has ended; storage calls are only valid inside its callback.`,
        );
      }
      if (state.failure) throw state.failure.mapped;
    };
    const begin = async () => {
      if (state.begun) return;
      state.begun = true;
      await exec('BEGIN', [], 'Begin a transaction');
    };
    /**
     * Sends the held writes as one statement (see {@link HeldWrites}). Calls that overlap (the port lets a
     * caller start several without awaiting each) wait for a flush under way, so no statement they send
     * overtakes the writes held before them.
     */
    let flushing: Promise<void> | undefined;
    const flush = (): Promise<void> => {
      if (flushing) return flushing.then(flush);
      if (!holding) return Promise.resolve();
      flushing = sendHeld().finally(() => {
        flushing = undefined;
      });
      return flushing;
    };
    const sendHeld = async () => {
      const w = held;
      held = noHeldWrites();
      holding = false;
      const parts: { name: string; text: string; param: unknown; what: string }[] = [];
      const messages = [...w.messages.values()];
      if (messages.length)
        parts.push({ name: 'u', text: sql.updateMessages, param: JSON.stringify(messages), what: 'Update messages' });
      if (w.log.length)
        parts.push({ name: 'l', text: sql.appendLog, param: JSON.stringify(w.log), what: 'Append to the message log' });
      if (w.deleteDeadlines.size)
        parts.push({ name: 'd', text: sql.deleteDeadlines, param: [...w.deleteDeadlines], what: 'Delete deadlines' });
      if (w.upsertDeadlines.size)
        parts.push({
          name: 'p',
          text: sql.upsertDeadlines,
          param: JSON.stringify([...w.upsertDeadlines.values()]),
          what: 'Upsert deadlines',
        });
      const counters = counterRows(w.counters);
      if (counters.length)
        parts.push({ name: 'c', text: sql.addCounters, param: JSON.stringify(counters), what: 'Add counters' });
      if (parts.length === 0) return; // e.g. counter changes that add up to nothing
      await begin();
      const what = parts.map((p) => p.what).join(', ');
      const text =
        parts.length === 1
          ? (parts[0] as (typeof parts)[number]).text
          : `WITH ${parts.map((p, i) => `${p.name} AS (${p.text.replace(/\$1\b/g, `$${i + 1}`)})`).join(',\n')}
            SELECT ${messages.length ? '(SELECT count(*)::int FROM u)' : 'NULL::int'} AS updated`;
      const rows = await exec(
        text,
        parts.map((p) => p.param),
        what,
      );
      if (messages.length === 0) return;
      const updated = parts.length === 1 ? rows.length : Number(rows[0]?.updated ?? 0);
      if (updated !== messages.length) {
        const found = new Set(
          (await exec(sql.existingMessages, [messages.map((m) => m.id)], 'Update messages')).map((r) => r.id as string),
        );
        const missing = messages.filter((m) => !found.has(m.id)).map((m) => m.id);
        const error = new OutreachError('NOT_FOUND', `Message ${missing[0]} does not exist.`, { details: { missing } });
        state.failure = { raw: error, mapped: error };
        throw error;
      }
    };
    const hold = (what: string) => {
      check(what);
      holding = true;
    };
    /** A statement that writes or locks: in the transaction, after the held writes. */
    const run = async (text: string, params: unknown[], what: string): Promise<Row[]> => {
      check(what);
      await flush();
      await begin();
      return exec(text, params, what);
    };
    /** A plain read: sees the held writes, and runs on its own before the transaction has begun. */
    const read = async (text: string, params: unknown[], what: string): Promise<Row[]> => {
      check(what);
      await flush();
      return exec(text, params, what);
    };
    const one = async (text: string, params: unknown[], what: string): Promise<Row | undefined> =>
      (await run(text, params, what))[0];
    const readOne = async (text: string, params: unknown[], what: string): Promise<Row | undefined> =>
      (await read(text, params, what))[0];

    const tx: StorageTransaction = {
      async insertCampaign(c) {
        await run(
          sql.insertCampaign,
          [c.id, c.scope, c.channel, c.status, JSON.stringify(c)],
          `Insert campaign ${c.id}`,
        );
      },
      async getCampaign(id, opts) {
        if (opts?.forUpdate) {
          const row = await one(`${sql.getCampaign} FOR UPDATE`, [id], `Read campaign ${id}`);
          return row?.record as CampaignRecord | undefined;
        }
        const row = await readOne(sql.readCampaign, [id], `Read campaign ${id}`);
        if (row) counted = { campaignId: id, statement: statements, counters: countersOf(row) };
        return row?.record as CampaignRecord | undefined;
      },
      async updateCampaign(c) {
        const rows = await run(
          sql.updateCampaign,
          [c.id, c.scope, c.channel, c.status, JSON.stringify(c)],
          `Update campaign ${c.id}`,
        );
        if (rows.length === 0) throw new OutreachError('NOT_FOUND', `Campaign ${c.id} does not exist.`);
      },
      async deleteCampaign(id) {
        await run(sql.deleteCampaign, [id], `Delete campaign ${id}`);
      },
      async listCampaigns(filter: CampaignFilter = {}) {
        const where: string[] = [];
        const params: unknown[] = [];
        const add = (cond: (n: number) => string, value: unknown) => {
          params.push(value);
          where.push(cond(params.length));
        };
        if (filter.scope !== undefined) add((n) => `scope = $${n}`, filter.scope);
        if (filter.channel !== undefined) add((n) => `channel = $${n}`, filter.channel);
        if (filter.statuses !== undefined) add((n) => `status = ANY($${n}::text[])`, [...filter.statuses]);
        if (filter.after !== undefined) add((n) => `id > $${n}`, filter.after);
        let text = `SELECT record FROM ${q}.campaigns${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
        if (filter.limit !== undefined) {
          params.push(filter.limit);
          text += ` LIMIT $${params.length}`;
        }
        return (await read(text, params, 'List campaigns')).map((r) => r.record as CampaignRecord);
      },

      async addCounters(deltas: readonly CounterDelta[]) {
        if (deltas.length === 0) return;
        hold('Add counters');
        for (const d of deltas) held.counters.push(d);
      },
      async getCounters(campaignId): Promise<CampaignCounters> {
        // Read with the campaign, with no statement nor held write since: as if read right then.
        const pre = counted;
        counted = undefined;
        if (pre?.campaignId === campaignId && pre.statement === statements && !holding) return pre.counters;
        return countersOf((await readOne(sql.getCounters, [campaignId], `Read counters of ${campaignId}`)) ?? {});
      },

      async claimChannel(scope, channel, campaignId) {
        // The insert waits for a concurrent claimer to commit; the read then sees its row (read committed).
        for (let i = 0; i < 3; i++) {
          const won = await one(sql.claimChannel, [scope, channel, campaignId], `Claim channel ${channel} of ${scope}`);
          if (won) return campaignId;
          const holder = await one(sql.channelHolder, [scope, channel], `Read channel ${channel} of ${scope}`);
          if (holder) return holder.campaign_id as string;
          // The holder released between the two statements: try again.
        }
        throw new OutreachError(
          'STORAGE_ERROR',
          `Could not claim channel ${channel} of ${scope}: it changed hands repeatedly.`,
        );
      },
      async releaseChannel(scope, channel, campaignId) {
        await run(sql.releaseChannel, [scope, channel, campaignId], `Release channel ${channel} of ${scope}`);
      },
      async channelHolder(scope, channel) {
        const row = await readOne(sql.channelHolder, [scope, channel], `Read channel ${channel} of ${scope}`);
        return row?.campaign_id as string | undefined;
      },

      async insertContacts(rows) {
        if (rows.length === 0) return;
        await run(sql.insertContacts, [JSON.stringify(rows)], 'Insert contacts');
      },
      async getContact(id) {
        return (await readOne(sql.getContacts, [[id]], `Read contact ${id}`)) as ContactRecord | undefined;
      },
      async getContacts(ids) {
        const out = new Map<string, ContactRecord>();
        if (ids.length === 0) return out;
        const found = new Map<string, ContactRecord>();
        for (const r of await read(sql.getContacts, [[...ids]], 'Read contacts'))
          found.set(r.id as string, r as unknown as ContactRecord);
        for (const id of ids) {
          const c = found.get(id);
          if (c) out.set(id, c);
        }
        return out;
      },
      async listContacts(campaignId, p: Page) {
        return (await read(
          sql.listContacts,
          [campaignId, p.after ?? null, p.limit],
          'List contacts',
        )) as unknown as ContactRecord[];
      },
      async countContacts(campaignId) {
        return Number((await readOne(sql.countContacts, [campaignId], 'Count contacts'))?.n ?? 0);
      },
      async existingAddresses(campaignId, addresses) {
        if (addresses.length === 0) return new Set<string>();
        const found = new Set(
          (await read(sql.existingAddresses, [campaignId, [...addresses]], 'Find addresses')).map(
            (r) => r.address as string,
          ),
        );
        return new Set(addresses.filter((a) => found.has(a)));
      },
      async appendOptOutLog(rows) {
        if (rows.length === 0) return;
        await run(sql.appendOptOutLog, [JSON.stringify(rows)], 'Append to the opt-out record');
      },
      async listOptOutLog(f) {
        const rows = await read(
          sql.listOptOutLog,
          [f.after ?? 0, f.channel ?? null, f.address ?? null, f.scope ?? null, f.limit],
          'Read the opt-out record',
        );
        return rows.map((r) => {
          const out: Record<string, unknown> = {
            id: Number(r.id),
            at: Number(r.at),
            scope: r.scope,
            channel: r.channel,
            address: r.address,
            change: r.change,
            source: r.source,
          };
          if (r.text !== null) out.text = r.text;
          if (r.campaignId !== null) out.campaignId = r.campaignId;
          if (r.messageId !== null) out.messageId = r.messageId;
          return out as unknown as OptOutLogRecord;
        });
      },
      async deleteContacts(campaignId, ids) {
        if (ids !== undefined && ids.length === 0) return 0;
        const row =
          ids === undefined
            ? await one(sql.deleteAllContacts, [campaignId], 'Delete contacts')
            : await one(sql.deleteContacts, [campaignId, [...ids]], 'Delete contacts');
        return Number(row?.n ?? 0);
      },

      async insertMessages(rows) {
        if (rows.length === 0) return;
        await run(sql.insertMessages, [JSON.stringify(rows)], 'Insert messages');
      },
      async getMessage(id) {
        return (await readOne(sql.getMessage, [id], `Read message ${id}`)) as MessageRecord | undefined;
      },
      async lockMessages(ids) {
        if (ids.length === 0) return [];
        const found = new Map<string, MessageRecord>();
        for (const r of await run(sql.lockMessages, [[...ids]], 'Lock messages'))
          found.set(r.id as string, r as unknown as MessageRecord);
        const out: MessageRecord[] = [];
        for (const id of ids) {
          const m = found.get(id);
          if (m) out.push(m);
        }
        return out;
      },
      async lockMessagesByProviderId(channel: Channel, providerIds) {
        const out = new Map<string, MessageRecord>();
        if (providerIds.length === 0) return out;
        for (const r of await run(sql.lockByProvider, [channel, [...providerIds]], 'Lock messages by provider id')) {
          const m = r as unknown as MessageRecord;
          if (m.context.providerMessageId !== null) out.set(m.context.providerMessageId, m);
        }
        return out;
      },
      async claimMessages(campaignId, state, limit, after) {
        if (limit <= 0) return [];
        return (await run(
          after === undefined ? sql.claimMessages : sql.claimMessagesAfter,
          after === undefined ? [campaignId, state, limit] : [campaignId, state, limit, after],
          'Claim messages',
        )) as unknown as MessageRecord[];
      },
      async updateMessages(rows) {
        if (rows.length === 0) return;
        hold('Update messages');
        for (const m of rows) held.messages.set(m.id, m);
      },
      async listMessages(campaignId, filter: MessageFilter) {
        const statuses = filter.statuses ? [...filter.statuses] : null;
        return (await read(
          sql.listMessages,
          [campaignId, statuses, filter.after ?? null, filter.limit],
          'List messages',
        )) as unknown as MessageRecord[];
      },
      async appendLog(entries) {
        if (entries.length === 0) return;
        hold('Append to the message log');
        for (const e of entries) held.log.push(e);
      },
      async listLog(messageId) {
        return (await read(sql.listLog, [messageId], `Read the log of ${messageId}`)).map((r) => {
          const { detail, ...rest } = r;
          return (detail === null || detail === undefined ? rest : { ...rest, detail }) as unknown as MessageLogEntry;
        });
      },

      async upsertDeadlines(rows) {
        if (rows.length === 0) return;
        // A row held back for deletion is deleted first, as the calls' order says.
        if (rows.some((r) => held.deleteDeadlines.has(r.id))) await flush();
        hold('Upsert deadlines');
        for (const r of rows) held.upsertDeadlines.set(r.id, r);
      },
      async deleteDeadlines(ids) {
        if (ids.length === 0) return;
        if (ids.some((id) => held.upsertDeadlines.has(id))) await flush();
        hold('Delete deadlines');
        for (const id of ids) held.deleteDeadlines.add(id);
      },
      async takeDeadlines(ids) {
        if (ids.length === 0) return [];
        return (await run(sql.takeDeadlines, [[...new Set(ids)]], 'Take deadlines')).map((r) => r.id as string);
      },
      async takeDueDeadlines(now, limit) {
        if (limit <= 0) return [];
        const rows = (await run(
          sql.takeDueDeadlines,
          [now, limit],
          'Take due deadlines',
        )) as unknown as DeadlineRecord[];
        // RETURNING has no order of its own.
        return rows.sort((a, b) => a.fireAt - b.fireAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      },
      async nextDeadlineAt() {
        const row = await readOne(sql.nextDeadlineAt, [], 'Read the next deadline');
        return row === undefined ? undefined : Number(row.fireAt);
      },

      async addSuppressions(rows) {
        if (rows.length === 0) return;
        await run(sql.addSuppressions, [JSON.stringify(rows)], 'Add suppressions');
      },
      async removeSuppression(scope, channel, address) {
        return (await run(sql.removeSuppression, [scope, channel, address], 'Remove a suppression')).length > 0;
      },
      async suppressedAmong(scope, channel, addresses) {
        if (addresses.length === 0) return new Set<string>();
        const found = new Set(
          (await read(sql.suppressedAmong, [scope, channel, [...addresses]], 'Read suppressions')).map(
            (r) => r.address as string,
          ),
        );
        return new Set(addresses.filter((a) => found.has(a)));
      },

      async markSeen(input) {
        if (input.length === 0) return [];
        const entries = input.map((k) => (typeof k === 'string' ? { key: k, campaignId: null } : k));
        const first = new Map<string, string | null>();
        for (const e of entries) if (!first.has(e.key)) first.set(e.key, e.campaignId);
        const fresh = new Set(
          (await run(sql.markSeen, [[...first.keys()], [...first.values()]], 'Record provider events')).map(
            (r) => r.key as string,
          ),
        );
        // A key repeated within the call is new only at its first occurrence.
        return entries.map((e) => fresh.delete(e.key));
      },
    };
    return { tx, flush };
  };

  /**
   * One attempt: fn on one connection, in BEGIN … COMMIT once it writes or locks (see {@link TxState}).
   * Returns `retry` when the attempt may be re-run.
   */
  const attempt = async <T>(fn: (t: StorageTransaction) => Promise<T>): Promise<{ value: T } | { retry: unknown }> => {
    let client: PgClientLike;
    try {
      client = await pool.connect();
    } catch (error) {
      return { retry: error };
    }
    const state: TxState = { open: true, begun: false, failure: undefined };
    let discard: Error | undefined;
    // pg-pool drops its own listener while the client is checked out: without ours, a connection lost
    // mid-transaction would be an uncaught 'error' event and end the process. The failed query says the rest.
    const onLost = (error: Error) => {
      discard ??= error;
    };
    client.on?.('error', onLost);
    const rollback = async () => {
      state.open = false;
      if (!state.begun) {
        // No transaction to end; a connection lost in a statement of its own is discarded all the same.
        const raw = state.failure?.raw;
        if (raw !== undefined && isConnectionLoss(raw)) discard ??= raw instanceof Error ? raw : new Error(String(raw));
        return;
      }
      try {
        await client.query('ROLLBACK');
      } catch (error) {
        discard = error instanceof Error ? error : new Error(String(error));
      }
    };
    try {
      const { tx, flush } = makeTx(client, state);
      let value: T;
      try {
        value = await fn(tx);
        // The writes held back go out before COMMIT; a failure there is one of the transaction's statements.
        if (!state.failure) await flush();
      } catch (error) {
        await rollback();
        const raw = state.failure?.raw;
        if (raw !== undefined && (isRetryable(raw) || isConnectionLoss(raw))) return { retry: raw };
        throw error;
      }
      if (state.failure) {
        // fn swallowed a failed statement; Postgres would turn COMMIT into ROLLBACK, so say so.
        await rollback();
        const raw = state.failure.raw;
        if (isRetryable(raw) || isConnectionLoss(raw)) return { retry: raw };
        throw state.failure.mapped;
      }
      state.open = false;
      if (!state.begun) return { value }; // it only read: nothing to commit
      try {
        await client.query('COMMIT');
      } catch (error) {
        // A failed COMMIT ends the transaction; the ROLLBACK makes sure of it whatever the driver did.
        await rollback();
        if (isRetryable(error)) return { retry: error };
        if (isConnectionLoss(error)) discard = error instanceof Error ? error : new Error(String(error));
        // A connection lost during COMMIT may or may not have committed: never re-run.
        throw new OutreachError(
          'STORAGE_ERROR',
          `Committing the transaction failed; it may or may not have been applied: ${describe(error)}`,
          {
            cause: error,
          },
        );
      }
      return { value };
    } finally {
      state.open = false;
      client.off?.('error', onLost);
      client.release(discard);
    }
  };

  return {
    info: { name: 'postgres', shared },
    schema,
    migrate,
    async transaction<T>(fn: (t: StorageTransaction) => Promise<T>): Promise<T> {
      await ready();
      for (let i = 0; ; i++) {
        const result = await attempt(fn);
        if ('value' in result) return result.value;
        if (i >= maxRetries) {
          throw new OutreachError(
            'STORAGE_ERROR',
            `Postgres transaction failed after ${i + 1} attempts: ${describe(result.retry)}. Check that the database is reachable and not overloaded.`,
            { cause: result.retry },
          );
        }
        // Jittered exponential backoff, so colliding transactions do not collide again in step.
        await sleep(Math.random() * Math.min(200, 5 * 2 ** i));
      }
    },
  };
}
