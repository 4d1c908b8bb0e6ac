/**
 * Phone-number checks on worker threads, for large CSV imports: libphonenumber-js spends 15–25 µs per
 * number, far more than parsing the row, so the numbers go to one worker per core while the calling
 * thread reads the file.
 *
 * Runtime-neutral: `node:worker_threads` and `node:os` are loaded only when a pool starts, through
 * `import()` of a computed name (bundlers leave it alone); where they do not load (edge runtimes,
 * browsers) or the worker file cannot be found, no pool starts and the import checks numbers on the
 * calling thread, with the same results. The worker file is `phone-worker.js` (`.cjs`) beside the
 * built chunk; from the TypeScript sources (this repository's tests and benchmarks) it is
 * `phone-worker.ts`, loaded through tsx.
 */
import { checkPhone, type PhoneCheck, type PhoneOptions } from './phone.js';

/** Checks batches of numbers on worker threads. */
export interface PhonePool {
  /** The threads it runs. */
  readonly threads: number;
  /** Batches sent and not yet answered. */
  readonly pending: number;
  /** The checks of `raws`, in order; rejects when a worker fails (the caller then checks them itself). */
  check(raws: readonly string[]): Promise<PhoneCheck[]>;
  /** Stops the workers. */
  close(): Promise<void>;
}

interface WorkerLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: { id: number; results: PhoneCheck[] }) => void): unknown;
  on(event: 'error' | 'exit', listener: (value: unknown) => void): unknown;
  unref(): void;
  terminate(): Promise<number>;
}

interface WorkerThreadsModule {
  Worker: new (
    file: string | URL,
    options: { workerData?: unknown; eval?: boolean; stdout?: boolean; stderr?: boolean },
  ) => WorkerLike;
}

// Built as a computed name, so that bundlers (esbuild for edge runtimes) do not try to resolve it.
const load = (name: string): Promise<unknown> => import(/* @vite-ignore */ name);

// The CommonJS build has no `import.meta.url`; its chunks have `__filename`.
declare const __filename: string | undefined;

/** Where this module was loaded from: a `file:` URL or an absolute path, or null when unknown. */
function hereOf(): string | null {
  try {
    const url = (import.meta as { url?: unknown }).url;
    if (typeof url === 'string') return url;
  } catch {
    // A build without import.meta.
  }
  return typeof __filename === 'string' ? __filename : null;
}

/** How to start the worker: a file, or for TypeScript sources a bootstrap that loads it through tsx. */
function workerSource(): { file: string | URL; eval: boolean } | null {
  const here = hereOf();
  if (here === null) return null;
  const ext = /\.(c?js|mjs|ts)$/.exec(here)?.[1];
  if (ext === undefined) return null;
  if (!here.startsWith('file:')) {
    // An absolute path (CommonJS): the worker file sits in the same folder.
    const cut = Math.max(here.lastIndexOf('/'), here.lastIndexOf('\\'));
    return { file: `${here.slice(0, cut + 1)}phone-worker.${ext}`, eval: false };
  }
  const file = new URL(`./phone-worker.${ext}`, here);
  if (ext !== 'ts') return { file, eval: false };
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`;
  return { file: bootstrap, eval: true };
}

/** How many threads the runtime offers (1 when it cannot tell). */
export async function availableThreads(): Promise<number> {
  try {
    const os = (await load('node:os')) as { availableParallelism?: () => number; cpus?: () => unknown[] };
    return Math.max(1, os.availableParallelism?.() ?? os.cpus?.().length ?? 1);
  } catch {
    return 1;
  }
}

/**
 * Starts `threads` workers that check numbers with `options`, or returns null when the runtime has no
 * worker threads (or the worker file is not found): the caller then checks numbers itself.
 */
export async function startPhonePool(threads: number, options: PhoneOptions): Promise<PhonePool | null> {
  const source = workerSource();
  if (source === null || threads < 1) return null;
  let Worker: WorkerThreadsModule['Worker'];
  try {
    ({ Worker } = (await load('node:worker_threads')) as WorkerThreadsModule);
  } catch {
    return null;
  }
  const workerData = { defaultCountry: options.defaultCountry, allowedCountries: options.allowedCountries };
  const pending = new Map<number, { resolve(r: PhoneCheck[]): void; reject(e: unknown): void; worker: number }>();
  const load_ = new Array<number>(threads).fill(0);
  let broken: unknown = null;
  let closed = false;
  let nextId = 0;
  const fail = (error: unknown) => {
    broken ??= error ?? new Error('A phone-check worker stopped.');
    for (const p of pending.values()) p.reject(broken);
    pending.clear();
  };
  const workers: WorkerLike[] = [];
  try {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(source.file, { workerData, eval: source.eval });
      worker.unref();
      worker.on('message', (message) => {
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        load_[p.worker] = (load_[p.worker] as number) - 1;
        p.resolve(message.results);
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!closed) fail(new Error(`A phone-check worker exited (code ${String(code)}).`));
      });
      workers.push(worker);
    }
  } catch (error) {
    for (const w of workers) void w.terminate();
    if (workers.length === 0) return null;
    fail(error);
  }
  return {
    threads: workers.length,
    get pending() {
      return pending.size;
    },
    check(raws) {
      if (broken !== null) return Promise.reject(broken);
      // The least busy worker.
      let w = 0;
      for (let i = 1; i < workers.length; i++) if ((load_[i] as number) < (load_[w] as number)) w = i;
      const id = nextId++;
      return new Promise<PhoneCheck[]>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: w });
        load_[w] = (load_[w] as number) + 1;
        (workers[w] as WorkerLike).postMessage({ id, raws });
      });
    },
    async close() {
      closed = true;
      fail(new Error('The phone-check pool is closed.'));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Checks numbers on the calling thread, as the workers do. */
export function checkPhonesHere(raws: readonly string[], options: PhoneOptions): PhoneCheck[] {
  const results = new Array<PhoneCheck>(raws.length);
  for (let i = 0; i < raws.length; i++) results[i] = checkPhone(raws[i] as string, options);
  return results;
}
