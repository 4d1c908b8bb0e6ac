/**
 * The chaos suite (`npm run test:chaos`, needs DATABASE_URL): the settings of vitest.config.ts, only
 * the `.chaos.ts` files under tests/, one file at a time (its worker processes need the machine to themselves).
 */

import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/**/*.chaos.ts'],
    testTimeout: 300_000,
    fileParallelism: false,
  },
});
