import { defineConfig } from 'tsup';

/** One entry per public subpath; `tests/package/package-exports.test.ts` keeps this in step with package.json. */
export const entries = {
  index: 'src/index.ts',
  memory: 'adapters/memory/index.ts',
  postgres: 'adapters/postgres/index.ts',
  testing: 'adapters/testing/index.ts',
  twilio: 'adapters/twilio/index.ts',
  sendgrid: 'adapters/sendgrid/index.ts',
  machines: 'src/machines/index.ts',
  templates: 'src/templates/index.ts',
  csv: 'src/csv/index.ts',
  node: 'adapters/node/index.ts',
} as const;

const peers = ['pg', '@electric-sql/pglite'];
// Resolved when the package is used, by package.json "imports" (csv-parse's Node or neutral build).
const packageImports = ['#csv-parse'];

// Two builds into dist/ (`npm run build` empties it first, so neither cleans under the other):
export default defineConfig([
  {
    // JavaScript. Adapters import the core through its public name, resolved here to src/adapter-core.ts
    // (the few core values they use), not to the whole core: esbuild splits chunks by which entries
    // reach a file, so an adapter reaching src/index.ts would load the engine, XState and
    // libphonenumber-js. Files used by several entries go to shared chunks, so there is still one copy
    // of each (one `OutreachError` class) per format.
    // `phone-worker` is no entry of the package: it is the file the CSV import starts worker threads
    // with, found beside the built chunks (src/contacts/phone-pool.ts).
    entry: { ...entries, 'phone-worker': 'src/contacts/phone-worker.ts' },
    format: ['esm', 'cjs'],
    dts: false,
    clean: false,
    sourcemap: true,
    target: 'node20',
    splitting: true,
    // Rollup's pass also keeps the CSV parser's `import()` an `import()` in the CommonJS build (esbuild alone
    // would turn it into a `require` of an ESM-only module).
    treeshake: true,
    external: [...peers, ...packageImports],
    esbuildOptions(options) {
      options.alias = { 'campaign-lifecycle': './src/adapter-core.ts' };
    },
  },
  {
    // Declarations. Here the core stays external, so the adapters' types refer to the core's own.
    entry: entries,
    format: ['esm', 'cjs'],
    dts: { only: true },
    clean: false,
    external: ['campaign-lifecycle', ...peers],
  },
]);
