/**
 * HTTP helpers shared by the provider adapters and the core's unsubscribe handler: one provider
 * call with a timeout and the pre-send / unknown classification of a failed `fetch`,
 * `Retry-After`, bounded body reads, Basic auth and the 4xx reporting of web handlers. Web
 * standards only, so they run on Bun, Deno and edge runtimes. Internal: no entry exports this
 * module. The adapters import it by relative path (never through `campaign-lifecycle`), and the
 * JavaScript build puts it in one chunk shared by the entries that use it. It imports only
 * ./encoding.ts.
 * @internal
 */
import { toBase64 } from './encoding.js';

/**
 * Error codes that prove the request never left this host: the connection was refused, the
 * name did not resolve, or no route existed. Node's undici puts them on `error.cause.code`
 * (wrapped in an `AggregateError` when several addresses were tried); Bun uses `ConnectionRefused`.
 */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ConnectionRefused',
]);

/** How a failed call is classified: `presend` only when the request provably never left. */
export interface CallFailure {
  readonly kind: 'failure';
  readonly outcome: 'presend' | 'unknown';
  readonly error: string;
}

/** A provider answer: status line and headers, and the body text (or why it could not be read). */
export interface CallAnswer {
  readonly kind: 'answer';
  readonly status: number;
  readonly headers: Headers;
  /** `undefined` when the body could not be read (timeout or dropped connection mid-body). */
  readonly text: string | undefined;
  readonly bodyError?: string | undefined;
}

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (typeof e !== 'object' || e === null || depth > 3) return;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner)) for (const x of inner) visit(x, depth + 1);
    visit((e as { cause?: unknown }).cause, depth + 1);
  };
  visit(error, 0);
  return codes;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

/**
 * Classifies a rejected `fetch`. `fetch` does not say whether the request left, so we read the
 * error's cause: a refused connection or a failed DNS lookup (ECONNREFUSED, ENOTFOUND, EAI_AGAIN…)
 * happens before a single byte of the request is written, so the provider cannot have accepted
 * it (`presend`). Everything else is `unknown`: an abort or timeout (AbortError / TimeoutError),
 * a reset or closed socket (ECONNRESET, UND_ERR_SOCKET), a TLS failure, or an error shape we do
 * not recognise (other runtimes) may all come after the provider read the request, and resending
 * could deliver the message twice.
 */
export function classifyFetchError(error: unknown, provider: string): CallFailure {
  const name = (error as { name?: unknown } | null)?.name;
  const codes = errorCodes(error);
  if (
    name !== 'AbortError' &&
    name !== 'TimeoutError' &&
    codes.length > 0 &&
    codes.every((c) => NOT_SENT_CODES.has(c))
  ) {
    return {
      kind: 'failure',
      outcome: 'presend',
      error: `${provider}: the request was not sent (${codes[0]}): ${describeError(error)}`,
    };
  }
  return {
    kind: 'failure',
    outcome: 'unknown',
    error: `${provider}: the request may have reached the provider, outcome unknown: ${describeError(error)}`,
  };
}

/** The calls waiting on each shared signal, behind the one listener {@link onAbort} adds to it. */
const abortSubscribers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `fn` once when `signal` aborts; returns the unsubscribe. However many calls wait on one signal
 * (a worker's, shared by every send in flight), the signal gets a single listener: a listener per call
 * would make Node warn `MaxListenersExceededWarning` past 10 sends in flight.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let subscribers = abortSubscribers.get(signal);
  if (!subscribers) {
    const set = new Set<() => void>();
    subscribers = set;
    abortSubscribers.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        abortSubscribers.delete(signal);
        for (const f of set) f();
      },
      { once: true },
    );
  }
  const mine = subscribers;
  mine.add(fn);
  return () => {
    mine.delete(fn);
  };
}

/** What {@link callProvider} needs. */
export interface CallOptions {
  readonly fetch: typeof fetch;
  readonly url: string;
  readonly init: RequestInit;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** For error messages, e.g. `twilio`. */
  readonly provider: string;
}

/**
 * Makes one provider call and reads the whole answer within `timeoutMs`. Never throws: a failure
 * before any answer is classified by {@link classifyFetchError}; an answer whose body could not be
 * read keeps its status so that the caller decides.
 */
export async function callProvider(options: CallOptions): Promise<CallAnswer | CallFailure> {
  const { signal, provider } = options;
  if (signal?.aborted) {
    return { kind: 'failure', outcome: 'presend', error: `${provider}: aborted before the request was sent` };
  }
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${options.timeoutMs} ms`, 'TimeoutError')),
    options.timeoutMs,
  );
  const unsubscribe = signal ? onAbort(signal, () => controller.abort(signal.reason)) : undefined;
  try {
    let response: Response;
    try {
      response = await options.fetch(options.url, { ...options.init, signal: controller.signal });
    } catch (error) {
      return classifyFetchError(error, provider);
    }
    try {
      const text = await response.text();
      return { kind: 'answer', status: response.status, headers: response.headers, text };
    } catch (error) {
      return {
        kind: 'answer',
        status: response.status,
        headers: response.headers,
        text: undefined,
        bodyError: describeError(error),
      };
    }
  } finally {
    clearTimeout(timer);
    unsubscribe?.();
  }
}

/**
 * Parses a `Retry-After` value (delay in seconds, or an HTTP date) into milliseconds from `now`;
 * `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Reads a JSON body; `undefined` when it is not valid JSON. */
export function tryParseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Shortens provider text kept in results and events. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never cut a surrogate pair in two: half of one is not text any storage can keep.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

/**
 * Reads a request body, refusing it as soon as it passes `maxBytes` (by `Content-Length` first,
 * then while streaming) so that an oversize body is never buffered whole nor parsed.
 * @returns the bytes, or `null` when the body is too large.
 */
export async function readBodyWithLimit(request: Request, maxBytes: number): Promise<Uint8Array | null> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) return null;
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Basic auth header value for `user:password` (UTF-8). */
export function basicAuth(user: string, password: string): string {
  return `Basic ${toBase64(new TextEncoder().encode(`${user}:${password}`))}`;
}

/** A request a webhook handler refused with a 4xx status, and why (the body it answered). */
export interface WebhookRejection {
  /** The handler that refused it: `twilio`, `sendgrid` or `unsubscribe`. */
  readonly handler: string;
  readonly status: number;
  readonly reason: string;
  readonly method: string;
  /** The request path (no query string: it may carry an unsubscribe token). */
  readonly path: string;
}
