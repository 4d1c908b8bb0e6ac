/**
 * One graphile-worker process of the baseline in `postgres-million.bench.ts` (forked by it): what a
 * team would build instead of this library, one job per message whose task only updates that
 * message's status row. `run()` with the task list in code, its own pool, no signal handlers.
 *
 * Environment: DATABASE_URL, GW_SCHEMA (graphile-worker's schema), STATUS_TABLE (schema-qualified),
 * CONCURRENCY (jobs at once in this process), WORKER_ID.
 * IPC in: `{ type: 'go' }` starts the runner, `{ type: 'stop' }` stops it and reports.
 */
import { Logger, type Runner, run } from 'graphile-worker';
import { rssSampler } from './bench-report.js';

const env = process.env;
const url = env.DATABASE_URL ?? '';
const schema = env.GW_SCHEMA ?? '';
const table = env.STATUS_TABLE ?? '';
const concurrency = Number(env.CONCURRENCY ?? 8);
if (!url || !schema || !table) throw new Error('pg-million-graphile: DATABASE_URL, GW_SCHEMA, STATUS_TABLE required');

/** What a baseline worker tells its parent when it stops. */
export interface GraphileReport {
  type: 'stopped';
  worker: string;
  jobs: number;
  peakRss: number;
  cpuMs: number;
}

const rss = rssSampler(100);
let cpu = process.cpuUsage();
let jobs = 0;
let runner: Runner | undefined;

process.on('message', (m: { type?: string }) => {
  if (m?.type === 'go') {
    rss.reset();
    cpu = process.cpuUsage();
    void run({
      connectionString: url,
      schema,
      concurrency,
      maxPoolSize: concurrency + 2,
      pollInterval: 1000,
      noHandleSignals: true,
      // Silent: its per-job info lines would cost the baseline CPU (the parent checks every row instead).
      logger: new Logger(() => () => {}),
      taskList: {
        update_status: async (payload, helpers) => {
          const { id } = payload as { id: number };
          await helpers.query(`UPDATE ${table} SET status = 'sent', updated_at = now() WHERE id = $1`, [id]);
          jobs++;
        },
      },
    }).then((r) => {
      runner = r;
    });
  } else if (m?.type === 'stop') {
    void (async () => {
      await runner?.stop();
      const used = process.cpuUsage(cpu);
      const report: GraphileReport = {
        type: 'stopped',
        worker: env.WORKER_ID ?? String(process.pid),
        jobs,
        peakRss: rss.stop(),
        cpuMs: (used.user + used.system) / 1000,
      };
      process.send?.(report, () => process.exit(0));
    })();
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
