/**
 * One worker process of the postgres-workers example (forked by run-workers.ts): its own pool, its
 * own engine on the system clock and an instant simulated carrier, sending whatever it claims from
 * the shared database until the campaign is final. It reports the ids it sent to its parent.
 *
 * Environment: DATABASE_URL, PG_SCHEMA, CAMPAIGN_ID, WORKER_NAME.
 */
import { createOutreach, systemClock } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import pg from 'pg';

/** What a worker process tells its parent when it is done. */
export interface WorkerReport {
  name: string;
  /** Ids of the messages this process handed to its carrier. */
  sent: string[];
  campaignStatus: string;
}

const FINAL = new Set(['complete', 'complete_with_errors', 'failed', 'stopped']);

/** Runs one worker until the campaign is final; returns what it sent. */
export async function runWorkerProcess(env: NodeJS.ProcessEnv): Promise<WorkerReport> {
  const {
    DATABASE_URL: url,
    PG_SCHEMA: schema,
    CAMPAIGN_ID: campaignId,
    WORKER_NAME: name = `worker-${process.pid}`,
  } = env;
  if (!url || !schema || !campaignId) throw new Error('A worker needs DATABASE_URL, PG_SCHEMA and CAMPAIGN_ID.');
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  try {
    const clock = systemClock;
    // Instant: accepted, sent and delivered with no delay, so the campaign finishes in moments.
    const sms = simulatedSmsCarrier({ clock, latency: 0, receiptDelay: 0 });
    const outreach = createOutreach({
      storage: postgresStorage({ pool, schema, migrate: false }),
      clock,
      transports: { sms },
    });
    outreach.worker.start();
    let status = (await outreach.getCampaign(campaignId)).status as string;
    while (!FINAL.has(status)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      // A worker learns of work that another process queued only through the database: look again.
      await outreach.worker.runOnce();
      status = (await outreach.getCampaign(campaignId)).status;
    }
    await outreach.worker.stop();
    return { name, sent: [...sms.sends.keys()], campaignStatus: status };
  } finally {
    await pool.end();
  }
}

if (process.send) {
  runWorkerProcess(process.env).then(
    (report) => process.send?.(report, () => process.exit(0)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
