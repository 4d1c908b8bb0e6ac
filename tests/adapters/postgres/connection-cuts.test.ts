import { isFinalMessageStatus, type MessageStatus } from 'campaign-lifecycle';
import { afterAll, describe, expect, it } from 'vitest';
import {
  doubleSends,
  nonZero,
  pendingDeadlines,
  poll,
  recount,
  runSmsCampaign,
  type SharedDatabase,
  sharedDatabase,
  startWorker,
  stopWorker,
  type WorkerHandle,
} from '../../support/mp-workers.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';

const url = process.env.DATABASE_URL;
const SIZE = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!url)('postgresStorage: connections cut under a running campaign', () => {
  let db: SharedDatabase | undefined;
  let proxy: TcpProxy | undefined;
  const workers: WorkerHandle[] = [];
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await proxy?.close();
    await db?.drop();
  });

  it('no storage failure ends a worker: every connection reset or closed mid-run, then the database unreachable for 2 s, and every message goes out exactly once', async () => {
    db = await sharedDatabase(url as string, `mp_cuts_${process.pid}`);
    const shared = db;
    proxy = await startTcpProxy(url as string);
    const id = await runSmsCampaign(db, SIZE, 'Cuts');
    // The engines' connections go through the proxy; the carrier records its sends directly.
    const env = {
      DATABASE_URL: proxy.via(url as string),
      SENDS_DATABASE_URL: url as string,
      CLAIM_LEASE: '2s',
      RATE_PER_SECOND: '500',
      SEND_LATENCY_MS: '20',
      BATCH_SIZE: '100',
      CONCURRENCY: '100',
      POOL_MAX: '4',
    };
    const started = await Promise.all([startWorker(db.schema, 'w1', env), startWorker(db.schema, 'w2', env)]);
    workers.push(...started);
    const alive = () => started.filter((w) => w.child.exitCode === null && w.child.signalCode === null).length;

    let cuts = 0;
    let cutConnections = 0;
    let lost = 0;
    for (let i = 0; i < 8; i++) {
      await sleep(400);
      cutConnections += proxy.cut(i % 2 === 0 ? 'reset' : 'close');
      cuts++;
      await sleep(100);
      lost = Math.max(lost, started.length - alive());
    }
    // The database goes away for 2 s: workers back off and carry on when it returns.
    proxy.refuse(true);
    cutConnections += proxy.cut('reset');
    cuts++;
    await sleep(2000);
    lost = Math.max(lost, started.length - alive());
    proxy.refuse(false);

    await poll(
      'the campaign to finish',
      async () => {
        const c = await shared.outreach.getCampaign(id);
        return c.status === 'complete' && (await pendingDeadlines(shared, id)) === 0 ? c : undefined;
      },
      { everyMs: 250, timeoutMs: 120_000 },
    );
    lost = Math.max(lost, started.length - alive());
    expect(lost).toBe(0);
    expect(await Promise.all(started.map(stopWorker))).toEqual([0, 0]);

    expect(await doubleSends(db)).toEqual([]);
    const { rows } = await db.pool.query<{ n: number; distinct: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct FROM ${db.schema}.sends`,
    );
    expect(rows[0]).toEqual({ n: SIZE, distinct: SIZE });
    const counted = await recount(db, id);
    expect(Object.keys(counted).filter((s) => !isFinalMessageStatus(s as MessageStatus))).toEqual([]);
    expect(counted).toEqual({ delivered: SIZE });
    expect(nonZero((await db.outreach.getCampaign(id)).counts)).toEqual(counted);

    const errors = started.flatMap((w) => w.errors);
    console.log(
      `[cuts] ${SIZE} messages, ${cuts} cuts (${cutConnections} connections cut, ${proxy.accepted} accepted), ` +
        `one 2 s outage: ${lost} workers lost, 0 sent twice, 0 never tried, ${errors.length} storage errors reported and survived`,
    );
  }, 180_000);
});
