/**
 * Every export is a promise kept across versions: each entry exports exactly the values README.md's
 * "Public API" table lists for it, no more and no fewer (scripts/public-api.ts prints the table).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { entries } from '../../tsup.config.js';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

/** The values README.md's "Public API" table lists per import specifier. */
function documented(): Map<string, string[]> {
  const start = readme.indexOf('### Public API');
  if (start < 0) throw new Error('README.md has no "### Public API" section');
  const table = new Map<string, string[]>();
  for (const line of readme.slice(start).split('\n')) {
    const row = /^\| `(campaign-lifecycle[^`]*)` \| (.*) \|$/.exec(line);
    if (!row?.[1] || row[2] === undefined) continue;
    const values = [...row[2].matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
    table.set(row[1], values.sort());
  }
  return table;
}

describe('README: public API', () => {
  const listed = documented();

  it('should list every entry of the build', () => {
    const specifiers = Object.keys(entries).map((name) =>
      name === 'index' ? 'campaign-lifecycle' : `campaign-lifecycle/${name}`,
    );
    expect([...listed.keys()].sort()).toEqual(specifiers.sort());
  });

  for (const [name, file] of Object.entries(entries)) {
    const specifier = name === 'index' ? 'campaign-lifecycle' : `campaign-lifecycle/${name}`;
    it(`should export from ${specifier} exactly the values the README documents`, async () => {
      const module = (await import(/* @vite-ignore */ `../../${file}`)) as Record<string, unknown>;
      expect(Object.keys(module).sort()).toEqual(listed.get(specifier) ?? []);
    });
  }
});
