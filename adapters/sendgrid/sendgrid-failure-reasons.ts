/**
 * SendGrid failure events (bounce, blocked, dropped, expired) → failure reasons. Provider
 * knowledge, so it lives in the SendGrid adapter; the core only knows the failure reasons.
 */
import type { FailureReasonId } from 'campaign-lifecycle';

/** The SendGrid event facts that decide a failure reason. */
export interface SendgridFailureFacts {
  /** `bounce`, `dropped`, `blocked`… (the `event` field). */
  event: string;
  /** For `bounce` events: `bounce` (hard) or `blocked` (soft); newer payloads may say `expired`. */
  type?: string | undefined;
  /** For `dropped` events, SendGrid's reason text (e.g. `Invalid`, `Bounced Address`). */
  reason?: string | undefined;
  /** `bounce_classification` where present (e.g. `Invalid Address`). */
  bounceClassification?: string | undefined;
}

/**
 * SendGrid drop reasons (the `reason` of a `dropped` event, compared whole and case-insensitively)
 * that have a reason of their own; every other drop reason (`Bounced Address`, `Spam Reporting
 * Address`, `Invalid SMTPAPI header`, `Spam Content…`, `Recipient List over Package Quota`…) is `dropped`.
 */
export const SENDGRID_DROP_REASONS: Readonly<Record<string, FailureReasonId>> = Object.freeze({
  invalid: 'invalid_address',
  'unsubscribed address': 'opted_out',
});

/** Maps a SendGrid failure event to a failure reason. */
export function reasonForSendgridEvent(facts: SendgridFailureFacts): FailureReasonId {
  const event = facts.event.toLowerCase();
  const classification = (facts.bounceClassification ?? '').toLowerCase();
  if (event === 'bounce') {
    const type = (facts.type ?? 'bounce').toLowerCase();
    if (type === 'blocked') return 'blocked';
    if (type === 'expired') return 'expired';
    if (classification === 'invalid address') return 'invalid_address';
    return 'bounced';
  }
  if (event === 'blocked') return 'blocked';
  if (event === 'expired') return 'expired';
  if (event === 'dropped') {
    // Whole reasons only: "Invalid SMTPAPI header" is about the request, not the address.
    const reason = (facts.reason ?? '').trim().toLowerCase();
    return Object.hasOwn(SENDGRID_DROP_REASONS, reason)
      ? (SENDGRID_DROP_REASONS[reason] as FailureReasonId)
      : 'dropped';
  }
  return 'unknown';
}
