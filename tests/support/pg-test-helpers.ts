/** Test helpers: a PGlite connection source that records every statement and can inject driver errors. */
import type { PGlite } from '@electric-sql/pglite';
import { fromPGlite, type PgLike } from 'campaign-lifecycle/postgres';

/** A driver error as `pg` and PGlite shape it: a message and a SQLSTATE `code`. */
export function driverError(code: string, message = `injected ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** What {@link instrumented} returns. */
export interface Instrumented {
  pool: PgLike;
  /** Every statement sent, in order. */
  statements: string[];
  /** Called before each statement; throw from it to make that statement fail without running. */
  before: (text: string) => void;
}

/** Wraps a PGlite instance so that tests can count round trips and inject failures. */
export function instrumented(db: PGlite): Instrumented {
  const base = fromPGlite(db);
  const out: Instrumented = {
    statements: [],
    before: () => {},
    pool: {
      async connect() {
        const client = await base.connect();
        return {
          async query(text: string, params?: unknown[]) {
            out.statements.push(text);
            out.before(text);
            return client.query(text, params);
          },
          release: (error?: Error | boolean) => client.release(error),
        };
      },
    },
  };
  return out;
}

/** Statements sent by storage calls, without the transaction framing. */
export function work(statements: readonly string[]): string[] {
  return statements.filter((s) => !/^(BEGIN|COMMIT|ROLLBACK)$/.test(s));
}
