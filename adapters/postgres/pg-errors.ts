/**
 * What the Postgres adapter makes of driver errors: which ones a transaction is re-run after, which
 * mean the connection is gone, and the library error each becomes.
 */
import { isOutreachError, OutreachError } from 'campaign-lifecycle';

/** SQLSTATEs after which a transaction is re-run: serialization failure and deadlock. */
export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set(['40001', '40P01']);

/** Whether an error is a serialization failure or a deadlock (the transaction may be re-run). */
export function isRetryable(error: unknown): boolean {
  return RETRYABLE_SQLSTATES.has(sqlState(error) ?? '');
}

/** Whether an error means the connection is gone (so nothing was committed and the client must be discarded). */
export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || /^E[A-Z]+$/.test(code);
  }
  return (
    error instanceof Error &&
    /connection terminated|connection timeout|connection error|not queryable/i.test(error.message)
  );
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Turns a driver error into the library's error, keeping the driver error as `cause`. */
export function mapError(error: unknown, what: string): OutreachError {
  if (isOutreachError(error)) return error;
  const state = sqlState(error);
  if (state === '23505') {
    const detail = (error as { detail?: unknown }).detail;
    return new OutreachError(
      'CONFLICT',
      `${what}: a record with this id already exists${typeof detail === 'string' ? ` (${detail})` : ''}.`,
      {
        cause: error,
      },
    );
  }
  return new OutreachError('STORAGE_ERROR', `${what} failed in Postgres: ${describe(error)}`, { cause: error });
}

/** A one-line description of a driver error, with its SQLSTATE when there is one. */
export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.message} (code ${code})` : error.message;
  }
  return String(error);
}
