/**
 * Runs the reproductions of known defects under tests/compliance/repro (kept out of `npm test`, which
 * stays green): `npx vitest run --config tests/compliance/repro/vitest.repro.config.ts`.
 */
import { defineConfig } from 'vitest/config';
import base from '../../../vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/compliance/repro/**/*.repro.ts'],
  },
});
