import { OutreachError } from 'campaign-lifecycle';

/** Puts back what one write changed. */
export type Undo = () => void;

/**
 * The undo log and the lock: transactions run one at a time, each write records how to put back what
 * it changed, and a transaction that throws is undone newest first.
 */
export class UndoLog {
  private log: Undo[] | null = null;
  private commits: (() => void)[] = [];
  private tail: Promise<unknown> = Promise.resolve();

  /** Records how to undo a write of the running transaction. */
  record(fn: Undo): void {
    if (this.log === null) throw new OutreachError('STORAGE_ERROR', 'Storage used outside a transaction.');
    this.log.push(fn);
  }

  /** Runs `fn` once the running transaction has committed (dropped if it rolls back). */
  afterCommit(fn: () => void): void {
    if (this.log === null) throw new OutreachError('STORAGE_ERROR', 'Storage used outside a transaction.');
    this.commits.push(fn);
  }

  /** Runs `fn` after every transaction before it; undoes its writes if it throws. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const attempt = async () => {
      const log: Undo[] = [];
      this.log = log;
      this.commits = [];
      try {
        const result = await fn();
        for (const commit of this.commits) commit();
        return result;
      } catch (error) {
        for (let i = log.length - 1; i >= 0; i--) (log[i] as Undo)();
        throw error;
      } finally {
        this.log = null;
        this.commits = [];
      }
    };
    const result = this.tail.then(attempt, attempt);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
