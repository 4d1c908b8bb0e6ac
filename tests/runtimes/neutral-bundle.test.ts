/**
 * "The core and every entry but /node (Node-only by design) import no Node built-in and touch no
 * Node-only global at module load": every entry bundles for `platform: 'neutral'` with nothing external
 * (a Node built-in would not resolve), and the bundle loads inside Vercel's edge runtime, which has no
 * `Buffer`, `process`, `setImmediate` or `require`.
 */
import { EdgeVM } from '@edge-runtime/vm';
import { describe, expect, it } from 'vitest';
import { entries } from '../../tsup.config.js';
import { bundleNeutral, ROOT } from '../support/bundle.js';

/** Entries that are Node-only by design (README "Runtimes"): they import node:http and are not bundled here. */
const NODE_ONLY = new Set(['node']);

describe('runtimes: every entry bundles for a neutral platform and loads in the edge runtime', () => {
  it('should run in an edge VM that has none of the Node globals', () => {
    const vm = new EdgeVM();
    expect(vm.evaluate('[typeof Buffer, typeof process, typeof setImmediate, typeof require].join()')).toBe(
      'undefined,undefined,undefined,undefined',
    );
  });

  for (const [name, file] of Object.entries(entries).filter(([n]) => !NODE_ONLY.has(n))) {
    it(`should bundle ${name === 'index' ? 'the core' : `/${name}`} with nothing external and load it with no Node global`, async () => {
      const { code, warnings } = await bundleNeutral(`${ROOT}${file}`, { format: 'iife', globalName: 'entryExports' });
      expect(warnings).toEqual([]);
      expect(code).not.toMatch(/\brequire\(["']/);
      const vm = new EdgeVM();
      // Loading the IIFE runs every module's top level and leaves the entry's exports on a global.
      vm.evaluate(code);
      const exported = vm.evaluate('Object.keys(entryExports).length');
      expect(exported).toBeGreaterThan(0);
    });
  }

  it('should refuse to bundle the Node-only /node entry for a neutral platform (so it is rightly left out above)', async () => {
    expect([...NODE_ONLY].every((name) => name in entries)).toBe(true);
    await expect(
      bundleNeutral(`${ROOT}${entries.node}`, { format: 'iife', globalName: 'entryExports' }),
    ).rejects.toThrow(/node:http/);
  });

  it('should fail to bundle a source that imports a Node built-in (the check above can fail)', async () => {
    await expect(
      bundleNeutral('probe.ts', { stdin: "import { Readable } from 'node:stream'; export const r = Readable;" }),
    ).rejects.toThrow(/node:stream/);
  });
});
