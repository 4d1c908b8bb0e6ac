/**
 * Timeouts, retry counts, backoff and the email deferral window: one policy object with the seed values as defaults.
 */
import * as z from 'zod';
import { type Duration, toMs } from './duration.js';
import { OutreachError } from './errors.js';
import { LIMITS } from './limits.js';
import { parseInput } from './validation.js';

/** What a user may pass: every field optional, durations as ms or strings like `'10m'`. */
export interface PolicyInput {
  /**
   * How long an SMS may stay in Sending before it is failed with `timed_out` (seed 000).
   * @defaultValue '10m'
   */
  smsSendingTimeout?: Duration;
  /**
   * How long an SMS may stay in Sent without a receipt before it becomes Assumed Delivered (seed 000).
   * @defaultValue '10m'
   */
  smsReceiptTimeout?: Duration;
  /**
   * How long an email may stay in Sending with no provider event before it is failed with `timed_out`,
   * so that a misconfigured webhook never leaves a campaign In Progress for ever.
   * @defaultValue '72h'
   */
  emailSendingTimeout?: Duration;
  /**
   * How long after its first deferral an email may keep retrying before it is failed with `expired`
   * (seed 000). `Infinity` keeps retrying indefinitely (the "soft bounce" of seed 001).
   * @defaultValue '72h'
   */
  emailDeferralWindow?: Duration;
  /**
   * Automatic retries after a pre-send error (network, 5xx, 429) before the message fails with
   * `pre_send_error`: 3 means up to 4 attempts in all (seed 000).
   * @defaultValue 3
   */
  maxPresendRetries?: number;
  /**
   * Wait before the first automatic retry; doubles for each further retry.
   * @defaultValue '30s'
   */
  presendBackoff?: Duration;
  /**
   * The longest wait between automatic retries.
   * @defaultValue '10m'
   */
  presendBackoffMax?: Duration;
  /**
   * Pause a running campaign automatically when the failure rate passes `threshold` after
   * `minSample` final messages (seed 002 advises 5 % over the first 100). `false` turns it off.
   * @defaultValue false
   */
  autoPause?: false | { threshold: number; minSample: number };
  /**
   * Pause a running email campaign when spam complaints (SendGrid `spamreport`) pass `rate` of the
   * mail delivered, once at least `minDelivered` were delivered (Gmail and Yahoo ask bulk senders to
   * stay below 0.3 %). The cause (`spam_complaints`) is on the campaign (`pauseCause`) and in its
   * `campaign.status` event. It pauses a campaign once; resuming is the sender's decision. `false`
   * turns it off.
   * @defaultValue { rate: 0.003, minDelivered: 1000 }
   */
  spamComplaintBrake?: false | { rate: number; minDelivered: number };
}

/** A resolved policy: every duration in milliseconds. */
export interface Policy {
  readonly smsSendingTimeout: number;
  readonly smsReceiptTimeout: number;
  readonly emailSendingTimeout: number;
  readonly emailDeferralWindow: number;
  readonly maxPresendRetries: number;
  readonly presendBackoff: number;
  readonly presendBackoffMax: number;
  readonly autoPause: false | { readonly threshold: number; readonly minSample: number };
  readonly spamComplaintBrake: false | { readonly rate: number; readonly minDelivered: number };
}

/** The seed values. */
export const DEFAULT_POLICY: Policy = Object.freeze({
  smsSendingTimeout: 10 * 60_000,
  smsReceiptTimeout: 10 * 60_000,
  emailSendingTimeout: 72 * 3_600_000,
  emailDeferralWindow: 72 * 3_600_000,
  maxPresendRetries: 3,
  presendBackoff: 30_000,
  presendBackoffMax: 10 * 60_000,
  autoPause: false as const,
  // Below ~1,000 delivered one complaint moves the rate by 0.1 % or more: a small list would stop on a
  // single report. From 1,000, it takes four (0.4 %) to pass 0.3 %.
  spamComplaintBrake: Object.freeze({ rate: 0.003, minDelivered: 1000 }),
});

/**
 * Resolves a policy from user input over the defaults.
 * @throws OutreachError `VALIDATION_FAILED` for a bad value, naming the field.
 * @example resolvePolicy({ emailDeferralWindow: Infinity, smsReceiptTimeout: '15m' })
 */
export function resolvePolicy(input: PolicyInput = {}): Policy {
  const p = parseInput('createOutreach', 'policy', PolicyInputSchema, input);
  const duration = (field: keyof PolicyInput, value: Duration | undefined, fallback: number, finite = true) => {
    if (value === undefined) return fallback;
    return checkedDuration(`policy.${field}`, value, { allowInfinity: !finite, max: LIMITS.maxDurationMs });
  };
  const retries = p.maxPresendRetries ?? DEFAULT_POLICY.maxPresendRetries;
  const autoPause = p.autoPause ?? DEFAULT_POLICY.autoPause;
  const spamBrake = p.spamComplaintBrake ?? DEFAULT_POLICY.spamComplaintBrake;
  return Object.freeze({
    smsSendingTimeout: duration('smsSendingTimeout', p.smsSendingTimeout, DEFAULT_POLICY.smsSendingTimeout),
    smsReceiptTimeout: duration('smsReceiptTimeout', p.smsReceiptTimeout, DEFAULT_POLICY.smsReceiptTimeout),
    emailSendingTimeout: duration('emailSendingTimeout', p.emailSendingTimeout, DEFAULT_POLICY.emailSendingTimeout),
    emailDeferralWindow: duration(
      'emailDeferralWindow',
      p.emailDeferralWindow,
      DEFAULT_POLICY.emailDeferralWindow,
      false,
    ),
    maxPresendRetries: retries,
    presendBackoff: duration('presendBackoff', p.presendBackoff, DEFAULT_POLICY.presendBackoff),
    presendBackoffMax: duration('presendBackoffMax', p.presendBackoffMax, DEFAULT_POLICY.presendBackoffMax),
    autoPause: autoPause === false ? false : Object.freeze({ ...autoPause }),
    spamComplaintBrake: spamBrake === false ? false : Object.freeze({ ...spamBrake }),
  });
}

// checkedDuration checks each duration (zod's number refuses the Infinity a deferral window may be).
const DurationInput = z.custom<Duration>(() => true);
const PolicyInputSchema = z.strictObject({
  smsSendingTimeout: DurationInput.optional(),
  smsReceiptTimeout: DurationInput.optional(),
  emailSendingTimeout: DurationInput.optional(),
  emailDeferralWindow: DurationInput.optional(),
  maxPresendRetries: z
    .int(`must be a whole number from 0 to ${LIMITS.maxPresendRetries}`)
    .min(0, `must be a whole number from 0 to ${LIMITS.maxPresendRetries}`)
    .max(LIMITS.maxPresendRetries, `must be a whole number from 0 to ${LIMITS.maxPresendRetries}`)
    .optional(),
  presendBackoff: DurationInput.optional(),
  presendBackoffMax: DurationInput.optional(),
  autoPause: z
    .union([
      z.literal(false),
      z.strictObject({
        threshold: z.number().gt(0, 'must be in (0, 1], e.g. 0.05').max(1, 'must be in (0, 1], e.g. 0.05'),
        minSample: z
          .int('must be a whole number of at least 1, e.g. 100')
          .min(1, 'must be a whole number of at least 1, e.g. 100')
          .max(LIMITS.autoPauseMaxSample, `must be at most ${LIMITS.autoPauseMaxSample}`),
      }),
    ])
    .optional(),
  spamComplaintBrake: z
    .union([
      z.literal(false),
      z.strictObject({
        rate: z.number().gt(0, 'must be in (0, 1], e.g. 0.003').max(1, 'must be in (0, 1], e.g. 0.003'),
        minDelivered: z
          .int('must be a whole number of at least 1, e.g. 1000')
          .min(1, 'must be a whole number of at least 1, e.g. 1000')
          .max(LIMITS.autoPauseMaxSample, `must be at most ${LIMITS.autoPauseMaxSample}`),
      }),
    ])
    .optional(),
});

/**
 * A duration in whole milliseconds within `[0, max]` (or `Infinity` when allowed).
 * @throws OutreachError `VALIDATION_FAILED` naming `field` and the range.
 */
export function checkedDuration(
  field: string,
  value: unknown,
  range: { allowInfinity?: boolean; min?: number; max: number },
): number {
  const min = range.min ?? 0;
  const allowed = `a whole number of milliseconds from ${min} to ${range.max}${range.allowInfinity ? ' or Infinity' : ''}, or a string like "500ms", "10s", "10m", "72h"`;
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new OutreachError('VALIDATION_FAILED', `${field} must be ${allowed}; got ${typeof value}.`, {
      details: { field },
    });
  }
  let ms: number;
  try {
    ms = toMs(typeof value === 'string' && value.length > 100 ? 'too long' : value);
  } catch (cause) {
    throw new OutreachError('VALIDATION_FAILED', `${field}: ${(cause as Error).message}`, {
      cause,
      details: { field },
    });
  }
  if (ms === Number.POSITIVE_INFINITY && range.allowInfinity) return ms;
  if (!Number.isInteger(ms) || ms < min || ms > range.max) {
    throw new OutreachError(
      'VALIDATION_FAILED',
      range.allowInfinity || Number.isFinite(ms) || field.startsWith('pollInterval')
        ? `${field} must be ${allowed}; got ${typeof value === 'string' ? `"${value.slice(0, 40)}"` : value}.`
        : `${field} must be finite; only emailDeferralWindow may be Infinity.`,
      { details: { field, min, max: range.max } },
    );
  }
  return ms;
}

/** The wait before automatic retry number `retry` (1-based): base × 2^(retry−1), capped. */
export function presendBackoffFor(policy: Policy, retry: number): number {
  return Math.min(policy.presendBackoffMax, policy.presendBackoff * 2 ** Math.max(0, retry - 1));
}

/**
 * A policy as a campaign stores it (JSON-safe: an infinite deferral window is `null`). A campaign's
 * policy is fixed when it runs, so that every process applies the same rules to its messages.
 */
export type StoredPolicy = Omit<Policy, 'emailDeferralWindow'> & { readonly emailDeferralWindow: number | null };

/** The JSON-safe form of a policy. */
export function storePolicy(policy: Policy): StoredPolicy {
  return {
    ...policy,
    emailDeferralWindow: Number.isFinite(policy.emailDeferralWindow) ? policy.emailDeferralWindow : null,
  };
}

/** The policy a campaign stored. */
export function policyFromStored(stored: StoredPolicy): Policy {
  return Object.freeze({
    ...stored,
    // A campaign that ran before the brake existed keeps running without it.
    spamComplaintBrake: stored.spamComplaintBrake ?? false,
    emailDeferralWindow: stored.emailDeferralWindow ?? Number.POSITIVE_INFINITY,
  });
}
