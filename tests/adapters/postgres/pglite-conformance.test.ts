import { PGlite } from '@electric-sql/pglite';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { storageConformanceSuite } from 'campaign-lifecycle/testing';
import { afterAll, afterEach, describe, it } from 'vitest';

// One embedded engine for the file (starting one takes seconds); a fresh schema for every test.
const db = new PGlite();
let serial = 0;
afterAll(() => db.close());

storageConformanceSuite(
  { describe, it, afterEach },
  { name: 'postgresStorage on PGlite', create: () => postgresStorage({ pool: db, schema: `conformance_${serial++}` }) },
);
