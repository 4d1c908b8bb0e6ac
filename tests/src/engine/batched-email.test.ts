/**
 * Batched email in the engine: when the email transport has `sendBatch`, the messages of one dispatch
 * round (one campaign's, sharing content) go in one call, each result is recorded exactly as a single
 * send's would be, and the rate limit counts recipients, not requests.
 */
import type { ServerResponse } from 'node:http';
import {
  createOutreach,
  type EmailTransport,
  type OutgoingEmail,
  type Outreach,
  type SendResult,
  type TransportLimits,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SENDGRID_MESSAGE_ID_ARG, sendgridTransport } from '../../../adapters/sendgrid/index.js';
import { allMessages, mail, readyCampaign } from '../../support/harness.js';
import { fakeProvider, type Loopback, type RecordedRequest } from '../../support/loopback-http.js';

/** The answer of the fake provider for the n-th recipient (by address number). */
const OUTCOMES: SendResult[] = [
  { outcome: 'accepted', providerMessageId: 'sg_0' },
  { outcome: 'rejected', reason: 'invalid_address', error: 'does not exist' },
  { outcome: 'presend', error: '503 before acceptance' },
  { outcome: 'unknown', error: 'timed out' },
  { outcome: 'accepted', providerMessageId: 'sg_4' },
];
const answer = (m: OutgoingEmail): SendResult =>
  OUTCOMES[Number(/person(\d+)@/.exec(m.to)?.[1]) % OUTCOMES.length] as SendResult;

/** A fake email transport recording its calls; with `sendBatch` when `batched`. */
function recordingTransport(batched: boolean, limits?: TransportLimits, batch?: EmailTransport['sendBatch']) {
  const calls: { at: number; kind: 'send' | 'batch'; to: string[] }[] = [];
  let clock: FakeClock | undefined;
  const transport: EmailTransport = {
    channel: 'email',
    name: 'recording',
    limits,
    async send(m) {
      calls.push({ at: clock?.now() ?? 0, kind: 'send', to: [m.to] });
      return answer(m);
    },
    ...(batched
      ? {
          async sendBatch(ms: readonly OutgoingEmail[], options?: { signal?: AbortSignal }) {
            calls.push({ at: clock?.now() ?? 0, kind: 'batch', to: ms.map((m) => m.to) });
            return batch ? batch(ms, options) : ms.map(answer);
          },
        }
      : {}),
  };
  return { transport, calls, bind: (c: FakeClock) => (clock = c) };
}

function engine(transport: EmailTransport, bind: (c: FakeClock) => unknown) {
  const clock = createFakeClock();
  bind(clock);
  const errors: unknown[] = [];
  const outreach = createOutreach({
    storage: memoryStorage(),
    clock,
    transports: { email: transport },
    onError: (e) => errors.push(e),
    unsubscribe: { baseUrl: 'https://example.com/unsubscribe', secret: 'test-secret-test-secret' },
  });
  outreach.worker.start();
  return { outreach, clock, errors };
}

/** Each message's status, failure reason and attempts, by address. */
async function outcomes(outreach: Outreach, campaignId: string) {
  const ms = await allMessages(outreach, campaignId);
  return Object.fromEntries(ms.map((m) => [m.to, [m.status, m.context.reason, m.context.attempts]]));
}

describe('batched email: one sendBatch call per dispatch round', () => {
  it('a round of emails goes in one sendBatch call, and each result is recorded exactly as the same single send would be', async () => {
    const single = recordingTransport(false);
    const one = engine(single.transport, single.bind);
    const a = await readyCampaign(one.outreach, 'email', 10);
    await one.outreach.run(a.id);
    await one.clock.advance('1s');

    const batched = recordingTransport(true);
    const two = engine(batched.transport, batched.bind);
    const b = await readyCampaign(two.outreach, 'email', 10);
    await two.outreach.run(b.id);
    await two.clock.advance('1s');

    expect(single.calls.filter((c) => c.kind === 'send')).toHaveLength(10);
    const first = batched.calls[0];
    expect(first).toMatchObject({ kind: 'batch' });
    expect(first?.to).toHaveLength(10);
    expect(batched.calls.filter((c) => c.kind === 'send')).toEqual([]);
    expect(await outcomes(two.outreach, b.id)).toEqual(await outcomes(one.outreach, a.id));
    // And over the whole lifecycle: retries, the unknown outcome's timeout.
    await one.clock.advance('3d');
    await two.clock.advance('3d');
    expect(await outcomes(two.outreach, b.id)).toEqual(await outcomes(one.outreach, a.id));
  });

  it('the rate limit counts recipients, not requests: 10 emails at 3 a second go 3, 3, 3, 1', async () => {
    const t = recordingTransport(true, { ratePerSecond: 3 });
    const { outreach, clock } = engine(t.transport, t.bind);
    const c = await readyCampaign(outreach, 'email', 10, { address: (i) => mail(i * 5) }); // all accepted
    const start = clock.now();
    await outreach.run(c.id);
    await clock.advance('5s');
    expect(t.calls.map((call) => [call.at - start, call.to.length])).toEqual([
      [0, 3],
      [1000, 3],
      [2000, 3],
      [3000, 1],
    ]);
  });

  it('a sendBatch that throws or answers the wrong number of results leaves each message of the call unknown, never resent', async () => {
    for (const broken of [
      async () => {
        throw new Error('boom');
      },
      async (ms: readonly OutgoingEmail[]) => ms.slice(1).map(answer),
    ]) {
      const t = recordingTransport(true, undefined, broken);
      const { outreach, clock, errors } = engine(t.transport, t.bind);
      const c = await readyCampaign(outreach, 'email', 4, { address: (i) => mail(i * 5) });
      await outreach.run(c.id);
      await clock.advance('1s');
      expect((await allMessages(outreach, c.id)).map((m) => m.status)).toEqual(Array(4).fill('sending'));
      await clock.advance('3d');
      expect(t.calls).toHaveLength(1); // nothing handed over again
      if (broken.length === 0) expect(errors).toEqual([new Error('boom')]); // a throw is reported
    }
  });
});

describe('batched email through the real sendgridTransport', () => {
  let server: Loopback | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('a campaign of 50 emails is one mail send request with a personalization per message, each message accepted with the id of the request', async () => {
    server = await fakeProvider((_r: RecordedRequest, res: ServerResponse) => {
      res.writeHead(202, { 'x-message-id': 'batch1' });
      res.end();
    });
    const transport = sendgridTransport({
      apiKey: 'SG.key',
      from: { email: 'office@school.example' },
      baseUrl: server.url,
      timeoutMs: 5_000,
      // Counts recipients; a round hands over up to `concurrency` messages, so one round takes all 50.
      limits: { concurrency: 1000 },
    });
    const { outreach, clock } = engine(transport, () => {});
    const campaign = await outreach.createCampaign({
      name: 'Snow day',
      channel: 'email',
      content: {
        subject: 'School closed',
        html: '<p>School is closed today.</p>',
        from: { email: 'office@school.example' },
      },
    });
    await outreach.addContacts(
      campaign.id,
      Array.from({ length: 50 }, (_, i) => ({ address: mail(i) })),
    );
    await outreach.save(campaign.id);
    await outreach.run(campaign.id);
    await clock.advance('1s');
    expect(server.requests).toHaveLength(1);
    const body = JSON.parse(server.requests[0]?.body ?? '{}') as {
      personalizations: { custom_args: Record<string, string> }[];
    };
    const ms = await allMessages(outreach, campaign.id);
    expect(body.personalizations.map((p) => p.custom_args[SENDGRID_MESSAGE_ID_ARG]).sort()).toEqual(
      ms.map((m) => m.id).sort(),
    );
    // Accepted: each waits in Sending for its events, with the request's id.
    expect(new Set(ms.map((m) => `${m.status} ${m.context.providerMessageId}`))).toEqual(new Set(['sending batch1']));
  });
});
