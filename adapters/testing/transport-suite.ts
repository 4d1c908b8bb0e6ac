/**
 * The transport conformance suite: the contract every SMS or email transport keeps with the engine
 * (classified outcomes, never a throw), runnable with any runner that has `describe` and `it`.
 */
import type {
  FailureReasonId,
  LookupOptions,
  LookupResult,
  OutgoingEmail,
  OutgoingMessage,
  OutgoingSms,
  SendResult,
  Transport,
} from 'campaign-lifecycle';
import { FAILURE_REASON_IDS } from 'campaign-lifecycle';
import type { SuiteRunner } from './storage-suite.js';

/** A scenario the transport under test can be driven into; the suite checks the outcome class. */
export interface TransportScenario {
  /** The message to send. */
  message: OutgoingMessage;
  /** The outcome class the transport must report. */
  expect: SendResult['outcome'];
  /** For `rejected`: the failure reason expected. */
  reason?: FailureReasonId;
}

/**
 * A lookup the transport under test must answer (the optional part of the suite, for transports that
 * have `lookup`): the message and send window asked about, and the outcome the provider's state implies.
 */
export interface LookupScenario {
  /** The message asked about (as the engine re-renders it for the attempt in flight). */
  message: OutgoingMessage;
  /** The send's window. */
  options: LookupOptions;
  /** The outcome the transport must report. */
  expect: LookupResult['outcome'];
  /** For `found`: the provider's message id expected. */
  providerMessageId?: string;
}

/** A transport under test, the scenarios that drive it, and how to clean up. */
export interface TransportUnderTest {
  /** The transport. */
  transport: Transport;
  /** Messages and the outcome class each must get. */
  scenarios: TransportScenario[];
  /**
   * Lookups and the outcome each must get. Required when the transport has `lookup` (with at least
   * one `found` and one `absent`); omit it for a transport without one.
   */
  lookups?: LookupScenario[];
  /** Runs after the test (close servers). */
  dispose?: () => Promise<void> | void;
}

/** How to make the transport under test and drive it into each outcome. */
export interface TransportSuiteOptions {
  name: string;
  /** A fresh transport and its scenarios; called once per test. */
  create: () => Promise<TransportUnderTest> | TransportUnderTest;
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`transport conformance: ${message}`);
}

/** Whether a value is a well-formed {@link SendResult}. */
export function isSendResult(value: unknown): value is SendResult {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  switch (r.outcome) {
    case 'accepted':
      return (
        r.providerMessageId === undefined || (typeof r.providerMessageId === 'string' && r.providerMessageId.length > 0)
      );
    case 'presend':
      return (
        typeof r.error === 'string' &&
        (r.retryAfterMs === undefined || (typeof r.retryAfterMs === 'number' && r.retryAfterMs >= 0))
      );
    case 'rejected':
      return typeof r.error === 'string' && FAILURE_REASON_IDS.includes(r.reason as FailureReasonId);
    case 'unknown':
      return typeof r.error === 'string';
    default:
      return false;
  }
}

/** Whether a value is a well-formed {@link LookupResult}. */
export function isLookupResult(value: unknown): value is LookupResult {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  switch (r.outcome) {
    case 'found':
      return (
        typeof r.providerMessageId === 'string' &&
        r.providerMessageId.length > 0 &&
        ['sending', 'sent', 'delivered', 'failed'].includes(r.status as string) &&
        (r.reason === undefined || FAILURE_REASON_IDS.includes(r.reason as FailureReasonId)) &&
        (r.code === undefined || typeof r.code === 'string')
      );
    case 'absent':
      return true;
    case 'undecidable':
      return typeof r.error === 'string';
    default:
      return false;
  }
}

/** A plain SMS for transport tests. */
export function sampleSms(overrides: Partial<OutgoingSms> = {}): OutgoingSms {
  return {
    channel: 'sms',
    messageId: `msg_conformance_${Math.random().toString(36).slice(2)}`,
    campaignId: 'cmp_conformance',
    to: '+14155550100',
    body: 'Conformance test',
    encoding: 'GSM-7',
    segments: 1,
    attempt: 1,
    ...overrides,
  };
}

/** A plain email for transport tests. */
export function sampleEmail(overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  return {
    channel: 'email',
    messageId: `msg_conformance_${Math.random().toString(36).slice(2)}`,
    campaignId: 'cmp_conformance',
    to: 'ada@example.com',
    from: { email: 'school@example.com', name: 'School' },
    subject: 'Conformance test',
    html: '<p>Conformance test</p>',
    headers: {},
    attempt: 1,
    ...overrides,
  };
}

/**
 * Registers the transport conformance tests.
 * @example
 * transportConformanceSuite({ describe, it }, { name: 'my transport', create: () => ({ transport, scenarios }) });
 */
export function transportConformanceSuite(runner: SuiteRunner, options: TransportSuiteOptions): void {
  const { describe, it } = runner;
  describe(`transport conformance: ${options.name}`, () => {
    it('should declare its channel, a name and sane limits', async () => {
      const { transport, dispose } = await options.create();
      try {
        check(transport.channel === 'sms' || transport.channel === 'email', 'channel is sms or email');
        check(typeof transport.name === 'string' && transport.name.length > 0, 'has a name');
        const l = transport.limits;
        if (l?.ratePerSecond !== undefined) check(l.ratePerSecond > 0, 'ratePerSecond is positive');
        if (l?.concurrency !== undefined)
          check(Number.isInteger(l.concurrency) && l.concurrency > 0, 'concurrency is a positive integer');
      } finally {
        await dispose?.();
      }
    });

    it('should classify every outcome without throwing', async () => {
      const { transport, scenarios, dispose } = await options.create();
      try {
        check(
          scenarios.some((s) => s.expect === 'accepted'),
          'the suite needs at least one accepted scenario',
        );
        for (const s of scenarios) {
          check(s.message.channel === transport.channel, `scenario message is ${transport.channel}`);
          let result: unknown;
          try {
            result = await (transport.send as (m: OutgoingMessage) => Promise<SendResult>)(s.message);
          } catch (error) {
            throw new Error(`transport conformance: send threw instead of classifying (${String(error)})`);
          }
          check(isSendResult(result), `a well-formed SendResult, got ${JSON.stringify(result)}`);
          check(result.outcome === s.expect, `scenario expects ${s.expect}, got ${result.outcome}`);
          if (s.reason && result.outcome === 'rejected')
            check(result.reason === s.reason, `reason ${s.reason}, got ${result.reason}`);
        }
      } finally {
        await dispose?.();
      }
    });

    it('should handle concurrent sends independently', async () => {
      const { transport, scenarios, dispose } = await options.create();
      try {
        const accepted = scenarios.filter((s) => s.expect === 'accepted');
        const messages = Array.from({ length: 8 }, (_, i) => ({
          ...(accepted[i % accepted.length] as TransportScenario).message,
          messageId: `msg_concurrent_${i}`,
        }));
        const results = await Promise.all(
          messages.map((m) => (transport.send as (m: OutgoingMessage) => Promise<SendResult>)(m)),
        );
        check(
          results.every((r) => isSendResult(r) && r.outcome === 'accepted'),
          'every concurrent send accepted',
        );
        const ids = results.map((r) => (r.outcome === 'accepted' ? r.providerMessageId : undefined)).filter(Boolean);
        check(new Set(ids).size === ids.length, 'provider ids are distinct');
      } finally {
        await dispose?.();
      }
    });

    it('should answer a batch with one well-formed result per message, in order, never throwing (optional part: email transports with sendBatch)', async () => {
      const { transport, scenarios, dispose } = await options.create();
      try {
        if (transport.channel !== 'email' || transport.sendBatch === undefined) return;
        check(typeof transport.sendBatch === 'function', 'sendBatch is a method');
        const batch = (messages: OutgoingEmail[]) => {
          try {
            return (transport.sendBatch as (m: OutgoingEmail[]) => Promise<readonly SendResult[]>)(messages);
          } catch (error) {
            throw new Error(`transport conformance: sendBatch threw instead of classifying (${String(error)})`);
          }
        };
        const empty = await batch([]);
        check(Array.isArray(empty) && empty.length === 0, 'an empty batch answers []');
        // Alone in its batch, each scenario gets the outcome `send` gives it.
        for (const s of scenarios) {
          const results = await batch([{ ...(s.message as OutgoingEmail), messageId: `msg_batch_alone` }]);
          check(
            results.length === 1 && isSendResult(results[0]),
            `one well-formed result, got ${JSON.stringify(results)}`,
          );
          const r = results[0] as SendResult;
          check(r.outcome === s.expect, `alone in a batch, scenario expects ${s.expect}, got ${r.outcome}`);
          if (s.reason && r.outcome === 'rejected') check(r.reason === s.reason, `reason ${s.reason}, got ${r.reason}`);
        }
        // Many messages that share content: every one accepted, one result each, in order.
        const accepted = scenarios.find((s) => s.expect === 'accepted') as TransportScenario;
        const many = Array.from({ length: 25 }, (_, i) => ({
          ...(accepted.message as OutgoingEmail),
          messageId: `msg_batch_${i}`,
        }));
        const results = await batch(many);
        check(results.length === many.length, `${many.length} results, got ${results.length}`);
        check(
          results.every((r) => isSendResult(r) && r.outcome === 'accepted'),
          'every message of a batch of accepted messages is accepted',
        );
        // Every scenario in one batch: whatever the requests' answers, one well-formed result per message.
        const mixed = scenarios.map((s, i) => ({ ...(s.message as OutgoingEmail), messageId: `msg_batch_mixed_${i}` }));
        const answers = await batch(mixed);
        check(answers.length === mixed.length, `${mixed.length} results, got ${answers.length}`);
        check(answers.every(isSendResult), `well-formed results, got ${JSON.stringify(answers)}`);
      } finally {
        await dispose?.();
      }
    });

    it('should answer lookups with well-formed results, found and absent as the provider holds them (optional part: transports with lookup)', async () => {
      const { transport, lookups, dispose } = await options.create();
      try {
        if (transport.lookup === undefined) {
          check(!lookups?.length, 'lookup scenarios given for a transport without lookup');
          return;
        }
        check(typeof transport.lookup === 'function', 'lookup is a method');
        check(
          lookups?.some((l) => l.expect === 'found') && lookups.some((l) => l.expect === 'absent'),
          'a transport with lookup needs at least one found and one absent lookup scenario',
        );
        for (const l of lookups ?? []) {
          check(l.message.channel === transport.channel, `lookup message is ${transport.channel}`);
          let result: unknown;
          try {
            result = await (transport.lookup as (m: OutgoingMessage, o: LookupOptions) => Promise<LookupResult>)(
              l.message,
              l.options,
            );
          } catch (error) {
            throw new Error(`transport conformance: lookup threw instead of answering undecidable (${String(error)})`);
          }
          check(isLookupResult(result), `a well-formed LookupResult, got ${JSON.stringify(result)}`);
          check(result.outcome === l.expect, `lookup expects ${l.expect}, got ${result.outcome}`);
          if (l.providerMessageId && result.outcome === 'found')
            check(
              result.providerMessageId === l.providerMessageId,
              `provider id ${l.providerMessageId}, got ${result.providerMessageId}`,
            );
        }
      } finally {
        await dispose?.();
      }
    });
  });
}
