import { isFinalMessageStatus, type MessageStatus } from 'campaign-lifecycle';
import { afterAll, describe, expect, it } from 'vitest';
import { plannedReport } from '../../support/mp-carrier-plan.js';
import {
  doubleSends,
  killWorker,
  nonZero,
  pendingDeadlines,
  poll,
  recount,
  runSmsCampaign,
  type SharedDatabase,
  sendsPerWorker,
  sharedDatabase,
  startWorker,
  stopWorker,
  type WorkerHandle,
  workerErrors,
} from '../../support/mp-workers.js';

const url = process.env.DATABASE_URL;
const SIZE = 5000;
// The 10-minute rules shortened to 2 s so that they fire on the system clock within the test; sends
// are paced (a rate limit and a provider latency) so that the victim dies with sends in flight.
const WORKER_ENV = {
  CARRIER: 'crash',
  SMS_SENDING_TIMEOUT: '2s',
  SMS_RECEIPT_TIMEOUT: '2s',
  CLAIM_LEASE: '2s',
  RATE_PER_SECOND: '600',
  SEND_LATENCY_MS: '200',
  BATCH_SIZE: '200',
  CONCURRENCY: '200',
};

describe.skipIf(!url)('postgresStorage: a worker killed mid-campaign', () => {
  let db: SharedDatabase | undefined;
  const workers: WorkerHandle[] = [];
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await db?.drop();
  });

  it('kill -9 a worker mid-campaign, start another: nothing is sent twice, nothing claimed goes untried, and messages the dead worker sent end by the sending rule', async () => {
    // The campaign runs with the shortened rules; the workers apply the campaign's policy.
    db = await sharedDatabase(url as string, `mp_crash_${process.pid}`, {
      smsSendingTimeout: '2s',
      smsReceiptTimeout: '2s',
    });
    const shared = db;
    const id = await runSmsCampaign(db, SIZE, 'Crash');
    const [victim, survivor] = await Promise.all([
      // The victim waits 100 ms between each claim and its hand-over, so that the kill can land there.
      startWorker(db.schema, 'victim', { ...WORKER_ENV, PAUSE_AFTER_CLAIM_MS: '100' }),
      startWorker(db.schema, 'survivor', WORKER_ENV),
    ]);
    workers.push(victim, survivor);

    // Some thousands sent, the victim among the senders: kill it where it stands.
    await poll(
      'two thousand sends',
      async () => {
        const per = await sendsPerWorker(shared);
        if ((per.victim ?? 0) + (per.survivor ?? 0) < 2000 || (per.victim ?? 0) === 0) return undefined;
        // Kill while a claim waits for its hand-over: a lease held for 30 ms is the victim's (its pause).
        const leaseSql = `SELECT id FROM ${shared.schema}.deadlines WHERE id LIKE '%|lease:%' LIMIT 1`;
        const { rows } = await shared.pool.query<{ id: string }>(leaseSql);
        if (rows.length === 0) return undefined;
        await new Promise((resolve) => setTimeout(resolve, 30));
        const { rows: still } = await shared.pool.query(`SELECT 1 FROM ${shared.schema}.deadlines WHERE id = $1`, [
          rows[0]?.id,
        ]);
        return still.length > 0 ? per : undefined;
      },
      { everyMs: 5, timeoutMs: 60_000 },
    );
    expect(await killWorker(victim)).toBe('SIGKILL');
    const atKill = await sendsPerWorker(db);
    const { rows: sendingAtKill } = await db.pool.query(
      `SELECT count(*)::int AS n FROM ${db.schema}.messages WHERE campaign_id = $1 AND status = 'sending'`,
      [id],
    );
    const fresh = await startWorker(db.schema, 'fresh', WORKER_ENV);
    workers.push(fresh);

    // Complete, with no timer rule left to fire: nothing more will change.
    const finished = await poll(
      'the campaign to finish',
      async () => {
        const c = await shared.outreach.getCampaign(id);
        const done = c.status === 'complete' || c.status === 'complete_with_errors';
        return done && (await pendingDeadlines(shared, id)) === 0 ? c : undefined;
      },
      { everyMs: 250, timeoutMs: 120_000 },
    );
    const codes = await Promise.all([stopWorker(survivor), stopWorker(fresh)]);
    expect(codes).toEqual([0, 0]);
    const errors = workerErrors([survivor, fresh]);
    expect(errors.other).toEqual([]);

    // Nothing sent twice.
    expect(await doubleSends(db)).toEqual([]);

    // Nothing lost: every message final, and the counters equal a recount.
    const counted = await recount(db, id);
    expect(Object.keys(counted).filter((s) => !isFinalMessageStatus(s as MessageStatus))).toEqual([]);
    expect(Object.values(counted).reduce((a, b) => a + (b ?? 0), 0)).toBe(SIZE);
    expect(nonZero((await db.outreach.getCampaign(id)).counts)).toEqual(counted);
    expect(finished.status).toBe('complete_with_errors');

    // Each message's fate, with who sent it and whether the sending rule failed it.
    const { rows } = await db.pool.query<{
      id: string;
      status: string;
      reason: string | null;
      sender: string | null;
      timed_out_in_sending: boolean;
    }>(
      `SELECT m.id, m.status, m.context->>'reason' AS reason, s.worker AS sender,
         EXISTS (SELECT 1 FROM ${db.schema}.message_log l WHERE l.message_id = m.id AND l.from_status = 'sending'
           AND l.to_status = 'failed' AND l.event LIKE 'TIMEOUT(%') AS timed_out_in_sending
       FROM ${db.schema}.messages m LEFT JOIN ${db.schema}.sends s ON s.message_id = m.id
       WHERE m.campaign_id = $1`,
      [id],
    );
    expect(rows).toHaveLength(SIZE);

    // Messages the survivors sent end as the carrier reported them; the silent ones by the sending rule.
    for (const m of rows.filter((r) => r.sender === 'survivor' || r.sender === 'fresh')) {
      const plan = plannedReport('crash', m.id);
      const expected =
        plan === 'delivered'
          ? { status: 'delivered', reason: null }
          : plan === 'sent_only'
            ? { status: 'assumed_delivered', reason: null }
            : { status: 'failed', reason: 'timed_out' };
      expect({ id: m.id, status: m.status, reason: m.reason }).toEqual({ id: m.id, ...expected });
    }

    // Every message was tried exactly once: what the victim claimed and never handed over went back
    // to the queue when its lease expired, and a survivor sent it.
    const neverTried = rows.filter((r) => r.sender === null);
    expect(neverTried.map((m) => m.id)).toEqual([]);
    const { rows: sendRows } = await db.pool.query<{ n: number; distinct: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct FROM ${db.schema}.sends`,
    );
    expect(sendRows[0]).toEqual({ n: SIZE, distinct: SIZE });
    const { rows: released } = await db.pool.query<{ n: number }>(
      `SELECT count(DISTINCT message_id)::int AS n FROM ${db.schema}.message_log l
       WHERE l.campaign_id = $1 AND l.event = 'RELEASE' AND l.changed`,
      [id],
    );
    // The kill landed between a claim and its hand-over.
    expect(released[0]?.n).toBeGreaterThan(0);

    // The dead worker's leftovers: handed to its transport and never reported. Only the sending rule ends them.
    const leftovers = rows.filter(
      (r) => r.sender === 'victim' && plannedReport('crash', r.id) !== 'silent' && r.status === 'failed',
    );
    for (const m of leftovers) expect([m.reason, m.timed_out_in_sending]).toEqual(['timed_out', true]);

    const perWorker = await sendsPerWorker(db);
    console.log(
      `[crash] ${SIZE} messages; at the kill: sends ${JSON.stringify(atKill)}, ${sendingAtKill[0].n} in Sending; ` +
        `after: sends ${JSON.stringify(perWorker)}; ${released[0]?.n ?? 0} claims released by lease expiry and sent by another worker; ` +
        `${leftovers.length} sent by the victim and never reported, failed timed_out; 0 sent twice, ${neverTried.length} never tried; ` +
        `counts ${JSON.stringify(counted)}; ${errors.deadlocks.length} deadlocked transactions retried`,
    );
  }, 180_000);
});
