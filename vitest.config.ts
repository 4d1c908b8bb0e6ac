import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^campaign-lifecycle$/, replacement: here('./src/index.ts') },
      {
        find: /^campaign-lifecycle\/(machines|templates|csv)$/,
        replacement: here('./src/$1/index.ts'),
      },
      {
        find: /^campaign-lifecycle\/(memory|postgres|twilio|sendgrid|testing|node)$/,
        replacement: here('./adapters/$1/index.ts'),
      },
    ],
  },
  test: {
    include: ['tests/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
