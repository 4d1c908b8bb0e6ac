/**
 * Campaign storage in PostgreSQL (through `pg`) or PGlite, with its own migrations.
 * @module campaign-lifecycle/postgres
 */

export type { PGliteLike, PgClientLike, PgLike, PgQueryable, PgResult } from './pg-connection.js';
export { fromPGlite, fromPgPool } from './pg-connection.js';
export type { PostgresMigration } from './postgres-migrations.js';
export { migratePostgres, POSTGRES_MIGRATIONS } from './postgres-migrations.js';
export type { PostgresStorage, PostgresStorageOptions } from './postgres-storage.js';
export { postgresStorage } from './postgres-storage.js';
