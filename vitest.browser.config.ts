/**
 * The browser suite (`npm run test:browser`): the settings of vitest.config.ts, only tests/e2e/*.browser.ts,
 * driving Debian's Chromium (`/usr/bin/chromium`, or CHROMIUM_PATH) headless through playwright-core.
 * Plain `npm test` never needs a browser.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/e2e/**/*.browser.ts'],
    testTimeout: 60_000,
  },
});
