/**
 * The chaos suite (`npm run test:chaos`, needs DATABASE_URL): the settings of vitest.config.ts, only
 * tests/chaos, one file at a time (its worker processes need the machine to themselves).
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/chaos/**/*.chaos.ts'],
    testTimeout: 300_000,
    fileParallelism: false,
  },
});
