/**
 * `X-Twilio-Signature` verification with Web Crypto (Node's `createHmac` where the runtime has it):
 * HMAC-SHA1 over the URL and the sorted form parameters, the URL variants Twilio's own validator
 * accepts, and the `bodySHA256` JSON variant.
 * It follows twilio-node's `validateRequest` / `validateRequestWithBody` step by step.
 */
import { fromBase64, timingSafeEqual, toBase64, toHex } from '../../src/internal/encoding.js';

/** Form parameters as a signature sees them: a repeated name carries several values. */
export type TwilioParams = URLSearchParams | Readonly<Record<string, string | readonly string[]>>;

/** What {@link verifyTwilioSignature} checks. */
export interface VerifyTwilioSignatureInput {
  /** The auth token of the account (the HMAC key). */
  readonly authToken: string;
  /** The full URL Twilio requested, query string included (as configured, i.e. the public URL). */
  readonly url: string;
  /** The POST parameters. When absent they are parsed from `rawBody` (form-encoded). */
  readonly params?: TwilioParams | undefined;
  /** The raw body: form-encoded, or JSON when the URL carries `bodySHA256`. */
  readonly rawBody?: string | Uint8Array | undefined;
  /** The `X-Twilio-Signature` header value. */
  readonly signature: string | null | undefined;
}

const encoder = new TextEncoder();

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? encoder.encode(data) : data;
}

/** Splits a URL without normalising it (twilio-node `splitUrl`), so the signed characters stay as sent. */
function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const prefix = match[0];
  const scheme = match[1]!;
  const authority = match[2]!;
  const userInfoEnd = authority.lastIndexOf('@');
  const hostAndPort = authority.slice(userInfoEnd + 1);
  // A colon starts the port only after the closing bracket of an IPv6 literal.
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? '' : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

function addPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.port) return url;
  const port = parts.scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

function removePort(url: string): string {
  const parts = splitUrl(url);
  return parts ? parts.scheme + parts.userInfo + parts.host + parts.rest : url;
}

/**
 * Re-encodes the query string as Node's legacy `querystring.parse` + `stringify` would (names
 * grouped in first-seen order, `encodeURIComponent` escaping), for back ends that signed an
 * escaped form such as `%27` for `'`. Checked against `node:querystring` in the tests.
 */
function withLegacyQuerystring(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1 || queryStart === url.length - 1) return url;
  const groups = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(url.slice(queryStart + 1))) {
    const values = groups.get(name);
    if (values) values.push(value);
    else groups.set(name, [value]);
  }
  const parts: string[] = [];
  for (const [name, values] of groups) {
    for (const value of values) parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  }
  return `${url.slice(0, queryStart)}?${parts.join('&')}`;
}

/**
 * The URLs twilio-node accepts a signature for, without repeats: the URL as received first (the form
 * Twilio most often signed, so one HMAC usually decides), then the others in twilio-node's order.
 */
/** The URL as given first (what Twilio signs in the usual case), the other forms only when asked for. */
function* candidateUrls(url: string): Generator<string> {
  yield url;
  const seen = new Set([url]);
  const more = [removePort(url), addPort(url)];
  let normalized: string | undefined;
  try {
    normalized = new URL(url).toString();
  } catch {
    normalized = undefined;
  }
  if (normalized !== undefined) {
    const without = removePort(normalized);
    const withPort = addPort(normalized);
    more.push(without, withPort, withLegacyQuerystring(without), withLegacyQuerystring(withPort));
  }
  for (const u of more) {
    if (seen.has(u)) continue;
    seen.add(u);
    yield u;
  }
}

function groupParams(params: TwilioParams): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const add = (name: string, value: string) => {
    const values = groups.get(name);
    if (values) values.push(value);
    else groups.set(name, [value]);
  };
  if (params instanceof URLSearchParams) {
    for (const [name, value] of params) add(name, value);
  } else {
    for (const name of Object.keys(params)) {
      const value = params[name]!;
      if (typeof value === 'string') add(name, value);
      else for (const v of value) add(name, v);
    }
  }
  return groups;
}

/**
 * The string Twilio signs after the URL: names in UTF-16 order, each followed by its value; a
 * repeated name contributes each distinct value once, in sorted order.
 */
function paramsSuffix(params: TwilioParams): string {
  const groups = groupParams(params);
  let out = '';
  for (const name of [...groups.keys()].sort()) {
    const values = groups.get(name)!;
    const distinct = values.length === 1 ? values : [...new Set(values)].sort();
    for (const value of distinct) out += name + value;
  }
  return out;
}

async function hmacKey(authToken: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(authToken), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
}

async function sign(key: CryptoKey, data: string): Promise<string> {
  return toBase64(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(data))));
}

/** The part of `node:crypto` used here. */
interface NodeCrypto {
  createHmac(
    algorithm: string,
    key: string,
  ): { update(data: string, encoding: 'utf8'): { digest(encoding: 'base64'): string } };
}

/**
 * Base64 HMAC-SHA1 through Node's synchronous `createHmac` where the runtime offers it
 * (`process.getBuiltinModule`: Node ≥ 20.16, Bun, Deno), looked up at call time, never at module load:
 * a Web Crypto HMAC costs a trip through the thread pool per request. `null` elsewhere (edge runtimes,
 * browsers), which use Web Crypto. Both give the same signature.
 */
function nodeHmacSha1(): ((key: string, data: string) => string) | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return null;
  let nodeCrypto: NodeCrypto | undefined;
  try {
    nodeCrypto = proc.getBuiltinModule('node:crypto') as NodeCrypto | undefined;
  } catch {
    return null;
  }
  if (typeof nodeCrypto?.createHmac !== 'function') return null;
  const c = nodeCrypto;
  return (key, data) => c.createHmac('sha1', key).update(data, 'utf8').digest('base64');
}

/**
 * Computes the `X-Twilio-Signature` Twilio would send for this exact URL and parameters (no URL
 * variants). Useful to sign requests in tests and local tools.
 * @example
 * const signature = await computeTwilioSignature('12345', 'https://example.com/hook', { MessageSid: 'SM1' });
 */
export async function computeTwilioSignature(
  authToken: string,
  url: string,
  params: TwilioParams = {},
): Promise<string> {
  return sign(await hmacKey(authToken), url + paramsSuffix(params));
}

/** Lower-case hex SHA-256 of a body, as Twilio puts it in the `bodySHA256` query parameter. */
export async function twilioBodySha256(rawBody: string | Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', toBytes(rawBody) as BufferSource)));
}

/**
 * A verifier bound to one auth token: the HMAC key is imported once and reused for every request.
 * @example
 * const verify = createTwilioVerifier(process.env.TWILIO_AUTH_TOKEN!);
 * if (!(await verify({ url, rawBody, signature }))) return new Response(null, { status: 401 });
 */
export function createTwilioVerifier(
  authToken: string,
): (input: Omit<VerifyTwilioSignatureInput, 'authToken'>) => Promise<boolean> {
  let key: Promise<CryptoKey> | undefined;
  const nodeHmac = nodeHmacSha1();
  const hmac = nodeHmac
    ? async (data: string) => nodeHmac(authToken, data)
    : async (data: string) => {
        key ??= hmacKey(authToken);
        return sign(await key, data);
      };
  return async (input) => {
    const signature = input.signature ?? '';
    // A well-formed HMAC-SHA1 signature is 20 bytes: refuse anything else before hashing.
    if (signature.length !== 28 || fromBase64(signature)?.length !== 20) return false;
    const url = input.url;
    let suffix: string;
    let bodyHash: string | undefined;
    if (input.params === undefined && url.includes('bodySHA256')) {
      // JSON bodies: the URL alone is signed, and the body must hash to its bodySHA256 parameter.
      suffix = '';
      let expected: string | null = null;
      try {
        expected = new URL(url).searchParams.get('bodySHA256');
      } catch {
        return false;
      }
      bodyHash = expected ?? '';
      const actual = await twilioBodySha256(input.rawBody ?? '{}');
      if (!timingSafeEqual(bodyHash, actual)) return false;
    } else {
      const params =
        input.params ??
        (input.rawBody === undefined
          ? {}
          : new URLSearchParams(
              typeof input.rawBody === 'string' ? input.rawBody : new TextDecoder().decode(input.rawBody),
            ));
      suffix = paramsSuffix(params);
    }
    // Each comparison is constant-time. Stopping at the first matching URL form reveals only which
    // public form of the URL Twilio signed, never anything about the token; a forgery still costs
    // every candidate.
    for (const candidate of candidateUrls(url)) {
      if (timingSafeEqual(signature, await hmac(candidate + suffix))) return true;
    }
    return false;
  };
}

/**
 * Checks an `X-Twilio-Signature` header: HMAC-SHA1 (Web Crypto) keyed by the auth token over the
 * URL and the sorted parameters, accepted for the URL with the port removed or the standard port
 * added, and with the query string re-encoded the legacy way; for JSON bodies (`bodySHA256` in
 * the URL) the URL alone is signed and the body hash is checked. Constant-time comparison.
 * Never throws: a malformed URL or signature is `false`.
 * @example
 * const ok = await verifyTwilioSignature({ authToken, url: 'https://example.com/twilio', params, signature });
 */
export async function verifyTwilioSignature(input: VerifyTwilioSignatureInput): Promise<boolean> {
  return createTwilioVerifier(input.authToken)(input);
}
