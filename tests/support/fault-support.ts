/**
 * Shared pieces of the fault tests: an SMS transport that records every call and answers from a
 * script, an engine on memory storage and a fake clock, and the checks every fault must pass
 * (nothing lost, nothing sent twice, a final campaign, counters equal to a recount).
 */
import {
  createOutreach,
  isFinalMessageStatus,
  type MessageStatus,
  type OutgoingSms,
  type Outreach,
  type PolicyInput,
  type SendResult,
  type SmsTransport,
  type Storage,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import { expect } from 'vitest';
import { allMessages, readyCampaign } from './harness.js';

/** One call the transport received: which message, which attempt of it, when (fake clock), and what it answered. */
export interface SendCall {
  readonly messageId: string;
  readonly attempt: number;
  readonly at: number;
  readonly outcome: SendResult['outcome'] | 'threw';
}

/** What the script answers for a call: a result, or `'throw'` to break the transport contract. */
export type SendScript = (message: OutgoingSms, attempt: number) => SendResult | 'throw';

/** An SMS transport that answers from `script` and records every call. */
export function scriptedSms(clock: FakeClock, script: SendScript): SmsTransport & { calls: SendCall[] } {
  const calls: SendCall[] = [];
  const attempts = new Map<string, number>();
  return {
    channel: 'sms',
    name: 'scripted',
    calls,
    async send(message) {
      const attempt = (attempts.get(message.messageId) ?? 0) + 1;
      attempts.set(message.messageId, attempt);
      const answer = script(message, attempt);
      calls.push({
        messageId: message.messageId,
        attempt,
        at: clock.now(),
        outcome: answer === 'throw' ? 'threw' : answer.outcome,
      });
      if (answer === 'throw') throw new Error(`socket hang up while sending ${message.messageId}`);
      return answer;
    },
  };
}

/** An engine over `storage` (memory by default) with one SMS transport; errors the worker meets are collected. */
export function faultEngine(options: {
  clock: FakeClock;
  sms: SmsTransport;
  storage?: Storage;
  policy?: PolicyInput;
}): { outreach: Outreach; errors: unknown[] } {
  const errors: unknown[] = [];
  const outreach = createOutreach({
    storage: options.storage ?? memoryStorage(),
    clock: options.clock,
    transports: { sms: options.sms },
    policy: options.policy,
    onError: (e) => errors.push(e),
  });
  return { outreach, errors };
}

/** A fresh fake clock, an engine with `script` as its SMS transport, and a running campaign of `n` messages. */
export async function runningCampaign(n: number, script: SendScript, storage?: Storage) {
  const clock = createFakeClock();
  const sms = scriptedSms(clock, script);
  const { outreach, errors } = faultEngine({ clock, sms, ...(storage ? { storage } : {}) });
  const campaign = await readyCampaign(outreach, 'sms', n);
  outreach.worker.start();
  await outreach.run(campaign.id);
  await clock.advance(0);
  return { clock, sms, outreach, errors, campaignId: campaign.id };
}

/** Outcomes after which the provider may hold the message: any later send would be a double send. */
const MAYBE_SENT: ReadonlySet<SendCall['outcome']> = new Set(['accepted', 'unknown', 'threw', 'rejected']);

/** No message was handed to the transport again after a call that the provider may have accepted. */
export function expectNeverSentTwice(calls: readonly SendCall[]): void {
  const settled = new Set<string>();
  for (const call of calls) {
    expect(settled.has(call.messageId), `message ${call.messageId} was sent again (attempt ${call.attempt})`).toBe(
      false,
    );
    if (MAYBE_SENT.has(call.outcome)) settled.add(call.messageId);
  }
}

/** Callbacks from the provider for messages, by our message id (as Twilio's status callback URL carries it). */
export function callback(messageId: string, status: 'sent' | 'delivered', eventId?: string) {
  return { type: 'status' as const, channel: 'sms' as const, messageId, status, ...(eventId ? { eventId } : {}) };
}

/**
 * Every message is final, the campaign is final (complete or complete with errors), the counters
 * equal a recount, and each message's log ends in its status (no half-applied transition).
 */
export async function expectSettled(outreach: Outreach, campaignId: string) {
  const messages = await allMessages(outreach, campaignId);
  const recount: Partial<Record<MessageStatus, number>> = {};
  for (const m of messages) {
    expect(isFinalMessageStatus(m.status), `message ${m.id} is still ${m.status}`).toBe(true);
    recount[m.status] = (recount[m.status] ?? 0) + 1;
  }
  const stats = await outreach.getStats(campaignId);
  for (const [status, count] of Object.entries(stats.counts)) {
    expect(count, `counter ${status}`).toBe(recount[status as MessageStatus] ?? 0);
  }
  expect(stats.total).toBe(messages.length);
  expect(['complete', 'complete_with_errors']).toContain(stats.status);
  await expectLogsMatch(outreach, campaignId);
  return { messages, stats };
}

/** Each message's last changing log entry ends in its current status, and counters equal a recount. */
export async function expectLogsMatch(outreach: Outreach, campaignId: string) {
  const recount: Partial<Record<MessageStatus, number>> = {};
  for (const m of await allMessages(outreach, campaignId)) {
    recount[m.status] = (recount[m.status] ?? 0) + 1;
    const log = (await outreach.getMessage(m.id)).log.filter((e) => e.changed);
    expect(log.at(-1)?.to ?? 'waiting', `log of ${m.id}`).toBe(m.status);
  }
  const { counts } = await outreach.getStats(campaignId);
  for (const [status, count] of Object.entries(counts)) {
    expect(count, `counter ${status}`).toBe(recount[status as MessageStatus] ?? 0);
  }
}
