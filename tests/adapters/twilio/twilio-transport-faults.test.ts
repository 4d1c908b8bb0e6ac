/**
 * The real `twilioTransport` against a loopback Twilio API, end to end through the engine on a
 * fake clock: 429 with Retry-After, 500, a hung response, a dropped connection and malformed JSON
 * after acceptance. Each request records the fake clock's time when it arrives.
 */
import type { OutgoingSms, SendResult, SmsTransport } from 'campaign-lifecycle';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { twilioTransport } from '../../../adapters/twilio/index.js';
import { twilioDate } from '../../support/fake-twilio-messages.js';
import {
  callback,
  expectNeverSentTwice,
  expectSettled,
  faultEngine,
  type SendCall,
} from '../../support/fault-support.js';
import { readyCampaign } from '../../support/harness.js';
import { fakeProvider, json, type Loopback, type RecordedRequest } from '../../support/loopback-http.js';

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Our message id, from the StatusCallback the transport put in the request. */
const messageIdOf = (r: RecordedRequest) =>
  new URL(new URLSearchParams(r.body).get('StatusCallback') as string).searchParams.get('messageId') as string;

type Answer = 'hang' | 'drop' | ((res: Parameters<Parameters<typeof fakeProvider>[0]>[1], sid: string) => void);

/**
 * A loopback Twilio API answering the nth request for each message with `answers[n]` (the last one
 * repeats), an engine whose SMS transport is the real `twilioTransport` pointed at it, and a
 * running campaign of `n` messages. `calls` records each request's arrival on the fake clock.
 */
async function twilioEndToEnd(n: number, answers: Answer[], timeoutMs = 2_000) {
  const clock: FakeClock = createFakeClock();
  const calls: SendCall[] = [];
  const perMessage = new Map<string, number>();
  // What Twilio holds: every create it read, whatever became of its answer (the lookup lists it).
  const held: Record<string, unknown>[] = [];
  server = await fakeProvider((request, res) => {
    if (request.method === 'GET') {
      const to = new URL(request.path, 'http://x').searchParams.get('To');
      return json(res, 200, { messages: held.filter((m) => m.to === to), next_page_uri: null });
    }
    const id = messageIdOf(request);
    const attempt = (perMessage.get(id) ?? 0) + 1;
    perMessage.set(id, attempt);
    const answer = answers[Math.min(attempt, answers.length) - 1] as Answer;
    calls.push({ messageId: id, attempt, at: clock.now(), outcome: 'accepted' });
    const form = new URLSearchParams(request.body);
    const hold = () =>
      held.push({
        sid: `SM${id.slice(4)}`,
        to: form.get('To'),
        from: form.get('From'),
        body: form.get('Body'),
        status: 'queued',
        error_code: null,
        date_created: twilioDate(clock.now()),
      });
    // A hung or dropped answer still means Twilio read the create, and made the message.
    if (answer === 'hang' || answer === 'drop') {
      hold();
      return answer;
    }
    answer(res, `SM${id.slice(4)}`);
    if (res.statusCode === 201) hold();
    return undefined;
  });
  const sms: SmsTransport = twilioTransport({
    accountSid: 'AC123',
    authToken: 'tok',
    from: '+15005550006',
    statusCallbackUrl: 'https://hooks.example.com/twilio/status',
    baseUrl: server.url,
    timeoutMs,
    clock,
  });
  // Record what the transport classified each answer as, for the never-sent-twice check.
  const outcomes: SendResult[] = [];
  const outcomesOf = new Map<string, SendResult[]>();
  const recorded: SmsTransport = {
    ...sms,
    async send(message: OutgoingSms) {
      const r = await sms.send(message);
      outcomes.push(r);
      outcomesOf.set(message.messageId, [...(outcomesOf.get(message.messageId) ?? []), r]);
      return r;
    },
  };
  const { outreach, errors } = faultEngine({ clock, sms: recorded });
  const campaign = await readyCampaign(outreach, 'sms', n);
  outreach.worker.start();
  await outreach.run(campaign.id);
  await clock.advance(0);
  /** The requests, each with the outcome the transport gave that attempt of that message. */
  const classified = (): SendCall[] =>
    calls.map((c) => ({ ...c, outcome: outcomesOf.get(c.messageId)?.[c.attempt - 1]?.outcome ?? 'unknown' }));
  return { clock, calls, classified, outcomes, outreach, errors, campaignId: campaign.id };
}

const created = (res: Parameters<Parameters<typeof fakeProvider>[0]>[1], sid: string) =>
  json(res, 201, { sid, status: 'queued' });

describe('faults: the real Twilio transport against a loopback API', () => {
  it('should honour Retry-After from a 429: the second request arrives no earlier than Retry-After on the clock', async () => {
    const retryAfterSeconds = 300;
    const { clock, calls, classified, outreach, campaignId } = await twilioEndToEnd(3, [
      (res) =>
        json(res, 429, { code: 20429, message: 'Too Many Requests' }, { 'retry-after': String(retryAfterSeconds) }),
      created,
    ]);
    expect(calls.map((c) => c.attempt)).toEqual([1, 1, 1]);
    await clock.advance(retryAfterSeconds * 1000 - 1);
    expect(calls).toHaveLength(3); // the 30 s backoff alone would have retried by now
    await clock.advance('1m');
    expect(calls).toHaveLength(6);
    for (const second of calls.filter((c) => c.attempt === 2)) {
      const first = calls.find((c) => c.messageId === second.messageId && c.attempt === 1) as SendCall;
      expect(second.at - first.at).toBeGreaterThanOrEqual(retryAfterSeconds * 1000);
    }
    await outreach.ingest(calls.filter((c) => c.attempt === 2).map((c) => callback(c.messageId, 'delivered')));
    expectNeverSentTwice(classified());
    expect((await expectSettled(outreach, campaignId)).stats.status).toBe('complete');
  });

  it('should retry a 500 with backoff and deliver once the API accepts', async () => {
    const { clock, calls, classified, outreach, campaignId } = await twilioEndToEnd(2, [
      (res) => json(res, 500, { message: 'Internal Server Error' }),
      created,
    ]);
    await clock.advance('1m');
    expect(calls.map((c) => c.attempt)).toEqual([1, 1, 2, 2]);
    await outreach.ingest(calls.filter((c) => c.attempt === 2).map((c) => callback(c.messageId, 'delivered')));
    expectNeverSentTwice(classified());
    expect((await expectSettled(outreach, campaignId)).stats.status).toBe('complete');
  });

  it.each<[string, Answer]>([
    ['a hung response (no answer within the timeout)', 'hang'],
    ['a connection dropped after the request was read', 'drop'],
    ['a 201 whose body is malformed JSON', (res) => json(res, 201, '{"sid": "SM1", "status": ')],
  ])('should treat %s as unknown, never resend it, and let the callback settle it', async (_what, answer) => {
    const { clock, calls, classified, outcomes, outreach, campaignId } = await twilioEndToEnd(2, [answer], 300);
    expect(outcomes.map((o) => o.outcome)).toEqual(['unknown', 'unknown']);
    await clock.advance('2m');
    await outreach.ingest([callback(calls[0]?.messageId as string, 'delivered')]);
    await clock.advance('1h');
    expect(calls).toHaveLength(2);
    expectNeverSentTwice(classified());
    // The one without a callback failed Timed Out after 10 minutes: the lookup found it still queued at
    // Twilio, so its SID is adopted and the Sending rule applies; its late callback still corrects it.
    const late = calls[1]?.messageId as string;
    expect((await outreach.getMessage(late)).context.reason).toBe('timed_out');
    expect((await outreach.getMessage(late)).context.providerMessageId).toBe(`SM${late.slice(4)}`);
    await outreach.ingest([callback(late, 'delivered')]);
    const { messages, stats } = await expectSettled(outreach, campaignId);
    for (const m of messages) expect(m.status).toBe('delivered');
    expect(stats.status).toBe('complete');
  });
});
