/**
 * The minimal structural types the Postgres adapter needs from a driver, and the adapters that make
 * a `pg.Pool` or a PGlite instance fit them. Nothing here imports a driver: users pass theirs in.
 */

/** The result shape both `pg` and PGlite return: rows as plain objects. */
export interface PgResult<R = Record<string, unknown>> {
  readonly rows: R[];
}

/** Anything that runs a parameterised query (a `pg` client, a PGlite instance). */
export interface PgQueryable {
  /** Runs one statement with `$1…` parameters. */
  query(text: string, params?: unknown[]): Promise<PgResult>;
}

/** One dedicated connection, held for the length of a transaction, then released. */
export interface PgClientLike extends PgQueryable {
  /** Returns the connection to its pool; pass the error when the connection should be discarded. */
  release(error?: Error | boolean): void;
  /**
   * `pg` clients are event emitters: a connection lost while the client is checked out emits `'error'`,
   * which ends the process unless someone listens (pg-pool removes its own listener on checkout).
   */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  /** Removes a listener added with `on` (before the client goes back to its pool). */
  off?(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * What the adapter needs from a database: dedicated connections. A `pg.Pool` fits as it is;
 * a PGlite instance fits through {@link fromPGlite}.
 */
export interface PgLike {
  /** A dedicated connection for one transaction (`pg.Pool#connect`). */
  connect(): Promise<PgClientLike>;
  /** `pg.Pool` emits `'error'` when an idle connection is lost. */
  on?(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Makes sure a lost idle connection of a `pg.Pool` cannot end the process: when nobody listens for the
 * pool's `'error'` (pg-pool re-emits an idle client's error there), adds a listener that ignores it;
 * the pool has already discarded that connection and the next transaction opens a new one.
 */
export function guardPoolErrors(pool: PgLike): void {
  if (typeof pool.on !== 'function') return;
  if (guarded.has(pool)) return;
  guarded.add(pool);
  pool.on('error', () => {});
}
const guarded = new WeakSet<PgLike>();

/** The structural shape of a PGlite instance (one connection, queries serialised by the adapter). */
export interface PGliteLike extends PgQueryable {
  /** PGlite's own transaction method; only its presence is checked, to tell PGlite from a pool. */
  transaction: unknown;
  readonly waitReady?: Promise<void>;
}

/**
 * Wraps a `pg.Pool` (or anything with `connect()`), unchanged; here for symmetry with {@link fromPGlite}.
 * @example
 * import pg from 'pg';
 * const storage = postgresStorage({ pool: fromPgPool(new pg.Pool({ connectionString })) });
 */
export function fromPgPool(pool: PgLike): PgLike {
  return pool;
}

/**
 * Makes a PGlite instance usable as a {@link PgLike}. PGlite has a single connection, so a
 * "connection" here is exclusive use of it: callers queue until the previous one is released,
 * which gives each transaction its own BEGIN … COMMIT without interleaving.
 * @example
 * import { PGlite } from '@electric-sql/pglite';
 * const storage = postgresStorage({ pool: fromPGlite(new PGlite()) });
 */
export function fromPGlite(db: PGliteLike): PgLike {
  // One queue per instance: two storages over the same PGlite must not interleave their transactions.
  const known = wrapped.get(db);
  if (known) return known;
  let tail: Promise<void> = Promise.resolve();
  const pool: PgLike = {
    async connect() {
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const previous = tail;
      tail = previous.then(() => held);
      await previous;
      if (db.waitReady) await db.waitReady;
      let released = false;
      return {
        query: (text, params) => db.query(text, params),
        release() {
          if (released) return;
          released = true;
          release();
        },
      };
    },
  };
  wrapped.set(db, pool);
  embedded.add(pool);
  return pool;
}

const wrapped = new WeakMap<PGliteLike, PgLike>();
const embedded = new WeakSet<PgLike>();

/** Whether connections come from one embedded PGlite (so the storage is not shared between processes). */
export function isEmbedded(pool: PgLike): boolean {
  return embedded.has(pool);
}

/** Whether a value looks like a `pg.Pool` (has `connect`) rather than a PGlite instance. */
function isPgLike(value: PgLike | PGliteLike): value is PgLike {
  return typeof (value as { connect?: unknown }).connect === 'function';
}

/** Accepts either driver: a pool is used as it is, a PGlite instance is wrapped. */
export function toPgLike(value: PgLike | PGliteLike): PgLike {
  return isPgLike(value) ? value : fromPGlite(value);
}
