/**
 * The raw form of our web handlers (Twilio, SendGrid, unsubscribe): the request as a method, an
 * absolute URL, a header getter and a bounded body reader; the answer as a status, headers and a
 * body string. The Web `(Request) => Promise<Response>` handler every entry exports wraps it, and
 * carries it under {@link RAW_HANDLER} (a non-enumerable symbol-keyed property) so that a server
 * adapter (`campaign-lifecycle/node`'s `toNodeListener`) can call it without building a Web
 * `Request` and `Response` per call. Both paths run the same code, so they give the same answers.
 * Web standards only. Internal: no entry exports it.
 * @internal
 */
import { clip, readBodyWithLimit, type WebhookRejection } from './http.js';

/** A request as the handlers read it. */
export interface RawRequest {
  /** Upper-case, as the HTTP request line has it. */
  readonly method: string;
  /** Absolute: scheme, host, path and query. */
  readonly url: string;
  /** A header's value (several joined with `, `), `null` when absent. `name` is lower-case. */
  header(name: string): string | null;
  /**
   * The whole body, or `null` when it is over `maxBytes` (refused by `Content-Length` first, then while
   * reading, so that an oversize body is never buffered whole). Called at most once.
   */
  body(maxBytes: number): Promise<Uint8Array | null>;
}

/** An answer as the handlers give it. */
export interface RawResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** `null` for no body. */
  readonly body: string | null;
}

/** The raw form of a handler. */
export type RawHandler = (request: RawRequest) => Promise<RawResponse>;

/** A Web handler as the entries export them. */
export type WebHandler = (request: Request) => Promise<Response>;

/** Where a Web handler of ours keeps its raw form. A registered symbol: two copies of the package agree on it. */
export const RAW_HANDLER: unique symbol = Symbol.for('campaign-lifecycle.rawHandler') as never;

/** A plain-text answer. */
export function rawText(status: number, body: string, headers: Record<string, string> = {}): RawResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body };
}

/** A Web `Request` seen as a {@link RawRequest}. */
export function rawFromWeb(request: Request): RawRequest {
  return {
    method: request.method,
    url: request.url,
    header: (name) => request.headers.get(name),
    body: (maxBytes) => readBodyWithLimit(request, maxBytes),
  };
}

/** The Web `(Request) => Promise<Response>` handler over `raw`, carrying `raw` under {@link RAW_HANDLER}. */
export function webHandler(raw: RawHandler): WebHandler {
  const handle: WebHandler = async (request) => {
    const answer = await raw(rawFromWeb(request));
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };
  Object.defineProperty(handle, RAW_HANDLER, { value: raw, enumerable: false });
  return handle;
}

/** The raw form a handler of ours carries; `undefined` for any other function. */
export function rawHandlerOf(handler: WebHandler): RawHandler | undefined {
  const raw = (handler as unknown as { [RAW_HANDLER]?: unknown })[RAW_HANDLER];
  return typeof raw === 'function' ? (raw as RawHandler) : undefined;
}

/**
 * Wraps a raw handler so that every 4xx answer is reported to `onReject` (by default a
 * `console.warn` line) with its reason: a refused webhook is never silent.
 */
export function reportingRawRejections(
  handler: string,
  handle: RawHandler,
  onReject: ((rejection: WebhookRejection) => void) | undefined,
): RawHandler {
  const report =
    onReject ??
    ((r: WebhookRejection) =>
      console.warn(
        `[campaign-lifecycle] ${r.handler} webhook refused ${r.method} ${r.path} with ${r.status}: ${r.reason}`,
      ));
  return async (request) => {
    const response = await handle(request);
    if (response.status >= 400 && response.status < 500) {
      let path = '';
      try {
        path = new URL(request.url).pathname;
      } catch {}
      const reason = clip(response.body ?? '', 500);
      try {
        report({ handler, status: response.status, reason, method: request.method, path });
      } catch {
        // A throwing logger must not turn a refusal into a 500.
      }
    }
    return response;
  };
}
