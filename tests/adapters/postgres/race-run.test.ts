import { createOutreach, isOutreachError, type Outreach, systemClock } from 'campaign-lifecycle';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Two pools, two engines: nothing shared but the server, as with two processes.
const url = process.env.DATABASE_URL;
const ROUNDS = 30;

describe.skipIf(!url)('postgresStorage: two engines race to run', () => {
  const schema = `mp_race_${process.pid}`;
  const poolA = new pg.Pool({ connectionString: url, max: 4 });
  const poolB = new pg.Pool({ connectionString: url, max: 4 });
  const engine = (pool: pg.Pool): Outreach =>
    createOutreach({ storage: postgresStorage({ pool, schema }), clock: systemClock, transports: {} });
  const a = engine(poolA);
  const b = engine(poolB);

  beforeAll(async () => {
    await poolA.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });
  afterAll(async () => {
    await poolA.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await Promise.all([poolA.end(), poolB.end()]);
  });

  const readyCampaign = async (outreach: Outreach, name: string) => {
    const c = await outreach.createCampaign({ name, channel: 'sms', scope: 'race', content: { body: 'Hello' } });
    await outreach.addContacts(c.id, [{ address: '+14155550100' }]);
    await outreach.save(c.id);
    return c.id;
  };

  it('two processes run two SMS campaigns of one scope at once, many times: exactly one wins each time', async () => {
    const wins = { a: 0, b: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const [idA, idB] = await Promise.all([readyCampaign(a, `A${round}`), readyCampaign(b, `B${round}`)]);
      // Both commands leave in the same tick, each on its own pool.
      const [ra, rb] = await Promise.allSettled([a.run(idA), b.run(idB)]);
      const outcomes = [ra, rb];
      const won = outcomes.filter((r) => r.status === 'fulfilled');
      const lost = outcomes.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const reason = (lost[0] as PromiseRejectedResult).reason;
      expect(isOutreachError(reason) && reason.code).toBe('CHANNEL_BUSY');

      const [winner, loser] = ra.status === 'fulfilled' ? [idA, idB] : [idB, idA];
      wins[ra.status === 'fulfilled' ? 'a' : 'b']++;
      expect((await a.getCampaign(winner)).status).toBe('in_progress');
      // A refused command changes nothing.
      expect((await b.getCampaign(loser)).status).toBe('ready');
      // Free the channel for the next round: stopping the winner releases it.
      await a.stop(winner);
    }
    console.log(`[race-run] ${ROUNDS} rounds: engine A won ${wins.a}, engine B won ${wins.b}`);
  }, 120_000);
});
