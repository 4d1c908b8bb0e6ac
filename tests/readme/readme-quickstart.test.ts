import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

/** The first TypeScript block under "## Quick start" in README.md. */
function quickStartCode(): string {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error('README.md has no TypeScript block under "## Quick start"');
  return match[1];
}

describe('README: quick start', () => {
  it('should run as pasted and print what its comment says', async () => {
    const code = quickStartCode();
    const dir = fileURLToPath(new URL('../../.tmp/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const file = `${dir}readme-quickstart.ts`;
    writeFileSync(file, code);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      log.mockRestore();
    }
    const promised = /console\.log\(.*\);\s*\/\/\s*(.+)$/m.exec(code)?.[1]?.trim();
    expect(promised).toBeDefined();
    expect(lines).toEqual([promised]);
  });
});
