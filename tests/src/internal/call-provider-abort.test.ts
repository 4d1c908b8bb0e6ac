import { afterEach, describe, expect, it } from 'vitest';
import { callProvider } from '../../../src/internal/http.js';

/** A fetch that answers only when its request is aborted (as a hung provider would). */
const hangingFetch = ((_url: string, init: RequestInit) =>
  new Promise<Response>((_resolve, reject) => {
    init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
  })) as unknown as typeof fetch;

describe('callProvider and a signal shared by many calls', () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  it('adds one listener to a worker signal shared by 200 calls in flight, no MaxListenersExceededWarning, and aborting it ends every call', async () => {
    process.on('warning', onWarning);
    const worker = new AbortController();
    let listeners = 0;
    const add = worker.signal.addEventListener.bind(worker.signal);
    worker.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++;
      return add(...args);
    }) as typeof add;
    const calls = Array.from({ length: 200 }, (_, i) =>
      callProvider({
        fetch: hangingFetch,
        url: `http://127.0.0.1:9/${i}`,
        init: { method: 'POST' },
        timeoutMs: 60_000,
        signal: worker.signal,
        provider: 'test',
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(listeners).toBe(1);
    worker.abort(new Error('worker stopping'));
    const answers = await Promise.all(calls);
    expect(answers.every((a) => a.kind === 'failure')).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('a call that ended is not aborted again, and a later call on the same signal still is', async () => {
    const worker = new AbortController();
    const quick = ((_url: string, _init: RequestInit) =>
      Promise.resolve(new Response('ok'))) as unknown as typeof fetch;
    const first = await callProvider({
      fetch: quick,
      url: 'http://x/',
      init: {},
      timeoutMs: 1000,
      signal: worker.signal,
      provider: 't',
    });
    expect(first.kind).toBe('answer');
    const hung = callProvider({
      fetch: hangingFetch,
      url: 'http://x/',
      init: {},
      timeoutMs: 60_000,
      signal: worker.signal,
      provider: 't',
    });
    worker.abort();
    expect((await hung).kind).toBe('failure');
  });
});
