/**
 * The fuzz run (`npm run test:fuzz`, FUZZ_RUNS=10000): the settings of vitest.config.ts, only the
 * fuzz tests, and a timeout that fits ten thousand cases per property.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/**/*.fuzz.test.ts'],
    testTimeout: 900_000,
  },
});
