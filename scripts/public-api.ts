/**
 * Prints README.md's "Public API" table from the entries themselves: one row per entry with every value
 * it exports (types are documented in the API reference, `npm run docs:api`). Run after changing an entry:
 * npx tsx scripts/public-api.ts, and paste the table; tests/readme/public-api.test.ts fails until they agree.
 */
import { entries } from '../tsup.config.js';

const rows: string[] = ['| import | values |', '|---|---|'];
for (const [name, file] of Object.entries(entries)) {
  const module = (await import(`../${file}`)) as Record<string, unknown>;
  const specifier = name === 'index' ? 'campaign-lifecycle' : `campaign-lifecycle/${name}`;
  const values = Object.keys(module)
    .sort((a, b) => a.localeCompare(b))
    .map((value) => `\`${value}\``);
  rows.push(`| \`${specifier}\` | ${values.join(', ')} |`);
}
console.log(rows.join('\n'));
