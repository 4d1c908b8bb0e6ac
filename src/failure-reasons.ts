/**
 * Failure reasons: one typed table of ids with a label (seed 001's wording where it has one),
 * a description, and whether a manual retry may help. Provider codes are mapped to these ids by the
 * adapters (`TWILIO_ERROR_CODES` in campaign-lifecycle/twilio, `reasonForSendgridEvent` in
 * campaign-lifecycle/sendgrid).
 */

/** The id of a failure reason. Stable: store it, switch on it. */
export type FailureReasonId =
  | 'carrier_blocked'
  | 'blocked_number'
  | 'unsupported_country'
  | 'invalid_number'
  | 'unknown_number'
  | 'opted_out'
  | 'sender_config'
  | 'unknown'
  | 'partial_failure'
  | 'unreachable'
  | 'landline_or_unreachable_carrier'
  | 'failed_to_create'
  | 'throttled'
  | 'temporarily_blocked'
  | 'provider_error'
  | 'content_rejected'
  | 'bounced'
  | 'blocked'
  | 'expired'
  | 'invalid_address'
  | 'dropped'
  | 'timed_out'
  | 'pre_send_error'
  | 'closed_by_user'
  | 'deadline_passed';

/** One failure reason. */
export interface FailureReason {
  readonly id: FailureReasonId;
  /** Short label for a status column (seed 001's wording where it has one). */
  readonly label: string;
  /** One sentence a person can read in a tooltip. */
  readonly description: string;
  /** Whether a manual retry may succeed. `false` refuses `retryFailed` for such messages with `NOT_RETRYABLE`. */
  readonly retryable: boolean;
}

const table: Record<FailureReasonId, Omit<FailureReason, 'id'>> = {
  carrier_blocked: {
    label: 'Blocked by Carrier/User',
    description: 'This message was filtered or blocked by the carrier.',
    retryable: false,
  },
  blocked_number: {
    label: 'Blocked by Carrier/User',
    description: 'This number is blocked from receiving this message.',
    retryable: false,
  },
  unsupported_country: {
    label: 'International Number',
    description: 'Phone number contains unsupported country code.',
    retryable: false,
  },
  invalid_number: { label: 'Invalid Number', description: 'Phone number is invalid.', retryable: false },
  unknown_number: {
    label: 'Invalid Number',
    description: 'This number is unknown and may no longer exist.',
    retryable: false,
  },
  opted_out: { label: 'Opted out', description: 'This number has opted out of a previous campaign.', retryable: false },
  sender_config: {
    label: 'Sending Issue',
    description: 'There was an issue sending messages, please contact support.',
    retryable: true,
  },
  unknown: { label: 'Unknown', description: 'This message delivery failed for an unknown reason.', retryable: true },
  partial_failure: {
    label: 'Partial Failure',
    description: 'One or more segments associated with your multi-part inbound message was not received.',
    retryable: true,
  },
  unreachable: {
    label: 'Unreachable Number',
    description: 'This number is switched off or otherwise unavailable.',
    retryable: false,
  },
  landline_or_unreachable_carrier: {
    label: 'Unreachable Number',
    description: 'This number was sent to a landline or unreachable carrier for this phone number type.',
    retryable: false,
  },
  failed_to_create: { label: 'Failed to create message', description: 'Failed to create message.', retryable: true },
  throttled: {
    label: 'Sending Limit Reached',
    description: 'A sending rate or daily limit was reached; a later retry should work.',
    retryable: true,
  },
  temporarily_blocked: {
    label: 'Temporarily Blocked',
    description:
      'The destination is temporarily blocked from receiving this message (fraud protection); a retry later should work.',
    retryable: true,
  },
  provider_error: {
    label: 'Provider Error',
    description: 'The provider failed temporarily; a later retry should work.',
    retryable: true,
  },
  content_rejected: {
    label: 'Content Rejected',
    description: 'The message content was refused (too large or not allowed).',
    retryable: false,
  },
  bounced: {
    label: 'Bounced',
    description: 'The receiving server permanently refused the email.',
    retryable: false,
  },
  blocked: {
    label: 'Blocked',
    description: 'The receiving server blocked the email (often temporary or reputation related).',
    retryable: true,
  },
  expired: {
    label: 'Expired',
    description: 'The email was deferred for longer than the retry window and was given up.',
    retryable: true,
  },
  invalid_address: { label: 'Invalid Address', description: 'The email address is invalid.', retryable: false },
  dropped: {
    label: 'Dropped',
    description: 'The provider dropped the email without sending it (suppressed or invalid).',
    retryable: false,
  },
  timed_out: {
    label: 'Timed Out',
    description: 'No progress was reported in time; a late receipt still corrects it.',
    retryable: true,
  },
  pre_send_error: {
    label: 'Pre-send Error',
    description: 'The message could not be handed to the provider after the automatic retries.',
    retryable: true,
  },
  closed_by_user: {
    label: 'Closed by User',
    description: 'The campaign was closed before this message reached a final status.',
    retryable: false,
  },
  deadline_passed: {
    label: 'Deadline Passed',
    description: "The campaign's deadline passed before this message was handed to the provider; it was not sent.",
    retryable: false,
  },
};

/** Every failure reason, keyed by id. */
export const FAILURE_REASONS: Readonly<Record<FailureReasonId, FailureReason>> = Object.freeze(
  Object.fromEntries(Object.entries(table).map(([id, r]) => [id, Object.freeze({ id, ...r })])) as Record<
    FailureReasonId,
    FailureReason
  >,
);

/** Every failure reason id. */
export const FAILURE_REASON_IDS = Object.keys(table) as FailureReasonId[];

/** Whether a string is a known failure reason id. */
export function isFailureReasonId(value: unknown): value is FailureReasonId {
  return typeof value === 'string' && Object.hasOwn(table, value);
}

/** The failure reason for an id. */
export function failureReason(id: FailureReasonId): FailureReason {
  return FAILURE_REASONS[id];
}
