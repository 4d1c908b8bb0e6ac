import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { quickstart } from './quickstart.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('examples: quickstart', () => {
  it('should run three contacts to Complete, all delivered, and print the status and counts', async () => {
    const lines: string[] = [];
    const stats = await quickstart((line) => lines.push(line));
    expect(stats.status).toBe('complete');
    expect(stats.total).toBe(3);
    expect(stats.counts.delivered).toBe(3);
    expect(stats.pending).toBe(0);
    expect(lines).toEqual(['Snow day: complete (delivered 3)']);
  });

  it('should run with one command, as the README says', async () => {
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const { stdout } = await promisify(execFile)(tsx, ['examples/quickstart/quickstart.ts'], { cwd: root });
    expect(stdout.trim()).toBe('Snow day: complete (delivered 3)');
  });
});
