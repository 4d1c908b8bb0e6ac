/**
 * Runs the reproductions of known defects under tests/e2e/compliance/repro (kept out of `npm test`, which
 * stays green): `npx vitest run --config tests/e2e/compliance/repro/vitest.repro.config.ts`.
 */
import { defineConfig } from 'vitest/config';
import base from '../../../../vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/e2e/compliance/repro/**/*.repro.ts'],
  },
});
