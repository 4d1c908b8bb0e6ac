import type { Storage } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { storageConformanceSuite } from 'campaign-lifecycle/testing';
import pg from 'pg';
import { afterAll, afterEach, describe, it } from 'vitest';

// Against a real server only when DATABASE_URL is set (CI starts one); each test its own schema, dropped after.
const url = process.env.DATABASE_URL;

describe.skipIf(!url)('postgresStorage: a real PostgreSQL server', () => {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  const schemas = new Map<Storage, string>();
  let serial = 0;
  afterAll(() => pool.end());

  storageConformanceSuite(
    { describe, it, afterEach },
    {
      name: 'postgresStorage on pg.Pool',
      create: () => {
        const storage = postgresStorage({ pool, schema: `srv_conformance_${process.pid}_${serial++}` });
        schemas.set(storage, storage.schema);
        return storage;
      },
      destroy: async (storage) => {
        await pool.query(`DROP SCHEMA IF EXISTS ${schemas.get(storage)} CASCADE`);
      },
    },
  );
});
