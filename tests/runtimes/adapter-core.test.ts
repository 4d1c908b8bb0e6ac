/**
 * The JavaScript build resolves the adapters' `campaign-lifecycle` imports to src/adapter-core.ts, so
 * that importing a handler or a storage does not load the engine, XState, zod or libphonenumber-js
 * (tsup.config.ts). This keeps that file complete, and free of those libraries.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as adapterCore from '../../src/adapter-core.js';
import * as core from '../../src/index.js';
import { ROOT } from '../support/bundle.js';

/** Every value (not `type`) name an adapter imports from `campaign-lifecycle`. */
function valuesImportedByAdapters(): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(`${ROOT}adapters`, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const source = readFileSync(`${ROOT}adapters/${file}`, 'utf8');
    for (const match of source.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'campaign-lifecycle'/g)) {
      if (match[1]) continue;
      for (const part of (match[2] as string).split(',')) {
        const name = part.trim();
        if (name !== '' && !name.startsWith('type ')) names.add(name.split(/\s+as\s+/)[0] as string);
      }
    }
  }
  return [...names].sort();
}

describe('runtimes: the part of the core the adapters load', () => {
  it('should export every value an adapter imports from campaign-lifecycle, the same binding as the core', () => {
    const imported = valuesImportedByAdapters();
    expect(imported.length).toBeGreaterThan(5);
    const missing = imported.filter((name) => !(name in adapterCore));
    expect(missing, `add these to src/adapter-core.ts: ${missing.join(', ')}`).toEqual([]);
    for (const name of imported) {
      expect((adapterCore as Record<string, unknown>)[name]).toBe((core as Record<string, unknown>)[name]);
    }
  });

  it('should not reach XState, zod or libphonenumber-js', async () => {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [`${ROOT}src/adapter-core.ts`],
      bundle: true,
      platform: 'neutral',
      write: false,
      metafile: true,
      packages: 'external',
      logLevel: 'silent',
    });
    const packages = Object.values(result.metafile.inputs).flatMap((input) =>
      input.imports.filter((i) => i.external).map((i) => i.path),
    );
    expect(packages).toEqual([]);
  });
});
