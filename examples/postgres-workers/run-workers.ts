/**
 * Several worker processes over one PostgreSQL database: this script creates an SMS campaign in
 * Postgres, runs it, and forks N worker processes (worker-process.ts) that share the sending.
 * Messages are claimed with `FOR UPDATE SKIP LOCKED`, so no message is sent twice however many
 * workers run. Prints who sent how many.
 *
 * Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx examples/postgres-workers/run-workers.ts [workers] [messages]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CampaignStats, createOutreach } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import pg from 'pg';
import type { WorkerReport } from './worker-process.js';

/** Options of {@link runPostgresWorkers}. */
export interface PostgresWorkersOptions {
  databaseUrl: string;
  /** Worker processes to fork. @defaultValue 3 */
  workers?: number;
  /** Contacts in the campaign. @defaultValue 1000 */
  messages?: number;
  /** The schema that holds the tables. @defaultValue 'campaign_lifecycle_example' */
  schema?: string;
  print?: (line: string) => void;
}

/** What {@link runPostgresWorkers} returns. */
export interface PostgresWorkersResult {
  stats: CampaignStats;
  reports: WorkerReport[];
}

const WORKER = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function forkWorker(env: Record<string, string>): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    // Each worker is a separate Node process running the TypeScript source through tsx.
    const child = fork(WORKER, [], { cwd: ROOT, env: { ...process.env, ...env }, execArgv: ['--import', 'tsx'] });
    let report: WorkerReport | undefined;
    child.once('message', (m) => {
      report = m as WorkerReport;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0 && report) resolve(report);
      else reject(new Error(`${env.WORKER_NAME} exited with code ${code}`));
    });
  });
}

/**
 * Creates and runs a campaign in Postgres, forks the workers, and waits until the campaign is final.
 * @example
 * const { stats, reports } = await runPostgresWorkers({ databaseUrl: process.env.DATABASE_URL!, workers: 2, messages: 200 });
 */
export async function runPostgresWorkers(options: PostgresWorkersOptions): Promise<PostgresWorkersResult> {
  const print = options.print ?? (() => {});
  const schema = options.schema ?? 'campaign_lifecycle_example';
  const messages = options.messages ?? 1000;
  const workers = options.workers ?? 3;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  try {
    const storage = postgresStorage({ pool, schema });
    await storage.migrate();
    // This process only sets the campaign up: it has no transport and starts no worker.
    const outreach = createOutreach({ storage, transports: {} });
    const { id } = await outreach.createCampaign({
      name: `Workers demo ${new Date().toISOString()}`,
      channel: 'sms',
      scope: `workers-${Date.now()}`,
      content: { body: 'Hi {{first_name}}, the school trip leaves at 8.' },
    });
    const contacts = Array.from({ length: messages }, (_, i) => ({
      address: `+1415555${String(i).padStart(4, '0')}`,
      fields: { first_name: `Parent ${i + 1}` },
    }));
    await outreach.addContacts(id, contacts);
    await outreach.save(id);
    await outreach.run(id);
    print(`Campaign ${id}: ${messages} messages queued in schema "${schema}"; forking ${workers} workers`);

    const names = Array.from({ length: workers }, (_, i) => `worker-${i + 1}`);
    const reports = await Promise.all(
      names.map((name) =>
        forkWorker({ DATABASE_URL: options.databaseUrl, PG_SCHEMA: schema, CAMPAIGN_ID: id, WORKER_NAME: name }),
      ),
    );
    for (const r of reports) print(`  ${r.name} sent ${r.sent.length}`);
    const stats = await outreach.getStats(id);
    print(`Campaign ${stats.status}: ${stats.delivered} delivered of ${stats.total}`);
    return { stats, reports };
  } finally {
    await pool.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('Set DATABASE_URL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test');
    process.exit(1);
  }
  await runPostgresWorkers({
    databaseUrl,
    workers: Number(process.argv[2] ?? 3),
    messages: Number(process.argv[3] ?? 1000),
    print: console.log,
  });
}
