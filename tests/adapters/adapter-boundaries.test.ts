/**
 * Adapters stand alone (issue 16): a provider adapter imports the core only through
 * `campaign-lifecycle` (src/adapter-core.ts in the build), its own files, and the shared internal
 * module src/internal/ — never another adapter. The internal module imports nothing but itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);

function importsOf(dir: string): { file: string; specifier: string }[] {
  const out: { file: string; specifier: string }[] = [];
  for (const file of readdirSync(new URL(dir, ROOT), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const source = readFileSync(new URL(`${dir}/${file}`, ROOT), 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'([^']+)'/gm)) {
      out.push({ file: `${dir}/${file}`, specifier: m[1] as string });
    }
  }
  return out;
}

describe('adapter boundaries', () => {
  it.each(['adapters/twilio', 'adapters/sendgrid'])(
    'should let %s import only the core entry, its own files and src/internal',
    (dir) => {
      const found = importsOf(dir);
      expect(found.length).toBeGreaterThan(5);
      const stray = found.filter(
        ({ specifier }) =>
          specifier !== 'campaign-lifecycle' &&
          !/^\.\/[\w-]+\.js$/.test(specifier) &&
          !/^\.\.\/\.\.\/src\/internal\/[\w-]+\.js$/.test(specifier),
      );
      expect(stray).toEqual([]);
    },
  );

  it('should let adapters/node import only node: built-ins, its own files and src/internal (no core value)', () => {
    const found = importsOf('adapters/node');
    expect(found.length).toBeGreaterThan(3);
    const stray = found.filter(
      ({ specifier }) =>
        !/^node:[\w/]+$/.test(specifier) &&
        !/^\.\/[\w-]+\.js$/.test(specifier) &&
        !/^\.\.\/\.\.\/src\/internal\/[\w-]+\.js$/.test(specifier),
    );
    expect(stray).toEqual([]);
  });

  it('should keep src/internal free of every other import', () => {
    const stray = importsOf('src/internal').filter(({ specifier }) => !/^\.\/[\w-]+\.js$/.test(specifier));
    expect(stray).toEqual([]);
  });
});
