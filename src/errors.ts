/**
 * The one error class of the library, with a stable `code`.
 */

/** Every error code the library throws. Stable: switch on it. */
export type OutreachErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_STATE'
  | 'CHANNEL_BUSY'
  | 'VALIDATION_FAILED'
  | 'NOT_RETRYABLE'
  | 'SIGNATURE_INVALID'
  | 'PAYLOAD_TOO_LARGE'
  | 'TEMPLATE_INVALID'
  | 'CSV_INVALID'
  | 'CONFLICT'
  | 'STORAGE_ERROR'
  | 'TRANSPORT_ERROR'
  | 'CONFIGURATION_ERROR';

/** Every error code, for docs and exhaustive tests. */
export const OUTREACH_ERROR_CODES: readonly OutreachErrorCode[] = [
  'NOT_FOUND',
  'INVALID_STATE',
  'CHANNEL_BUSY',
  'VALIDATION_FAILED',
  'NOT_RETRYABLE',
  'SIGNATURE_INVALID',
  'PAYLOAD_TOO_LARGE',
  'TEMPLATE_INVALID',
  'CSV_INVALID',
  'CONFLICT',
  'STORAGE_ERROR',
  'TRANSPORT_ERROR',
  'CONFIGURATION_ERROR',
];

/** Options of an {@link OutreachError}. */
export interface OutreachErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Structured facts about the refusal (ids, statuses, field issues). */
  details?: Record<string, unknown>;
}

/**
 * An error the library throws on purpose: a refused command, bad input, a failed check.
 * A refused command changes nothing.
 * @example
 * try { await outreach.run(id) } catch (e) { if (isOutreachError(e) && e.code === 'CHANNEL_BUSY') … }
 */
export class OutreachError extends Error {
  override readonly name = 'OutreachError';
  /** Stable machine-readable code. */
  readonly code: OutreachErrorCode;
  /** Structured facts about the error. */
  readonly details: Record<string, unknown>;

  constructor(code: OutreachErrorCode, message: string, options: OutreachErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** Whether a value is an {@link OutreachError}; checks `name`, so it works across the ESM and CJS copies. */
export function isOutreachError(value: unknown): value is OutreachError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { name?: unknown }).name === 'OutreachError' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
