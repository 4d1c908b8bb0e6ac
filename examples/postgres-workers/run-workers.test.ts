import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runPostgresWorkers } from './run-workers.js';

const url = process.env.DATABASE_URL;

describe.skipIf(!url)('examples: postgres workers (DATABASE_URL)', () => {
  const schema = `example_workers_${process.pid}`;
  afterAll(async () => {
    const pool = new pg.Pool({ connectionString: url });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  it('should send every one of 200 messages exactly once with 2 worker processes over one database', async () => {
    const lines: string[] = [];
    const { stats, reports } = await runPostgresWorkers({
      databaseUrl: url as string,
      workers: 2,
      messages: 200,
      schema,
      print: (line) => lines.push(line),
    });
    expect(reports.map((r) => r.name).sort()).toEqual(['worker-1', 'worker-2']);
    const sent = reports.flatMap((r) => r.sent);
    expect(sent).toHaveLength(200);
    expect(new Set(sent).size).toBe(200);
    expect(stats.status).toBe('complete');
    expect(stats.delivered).toBe(200);
    for (const r of reports) expect(lines).toContain(`  ${r.name} sent ${r.sent.length}`);
  }, 120_000);
});
