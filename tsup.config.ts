import { defineConfig } from 'tsup';

/** One entry per public subpath; `tests/package-exports.test.ts` keeps this in step with package.json. */
export const entries = {
  index: 'src/index.ts',
  memory: 'adapters/memory/index.ts',
  postgres: 'adapters/postgres/index.ts',
  testing: 'adapters/testing/index.ts',
  twilio: 'adapters/twilio/index.ts',
  sendgrid: 'adapters/sendgrid/index.ts',
} as const;

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: true,
  treeshake: true,
  // Adapters import the core through its public name; keep it external so they share one copy.
  external: ['campaign-lifecycle', 'pg', '@electric-sql/pglite'],
});
