/**
 * Signed unsubscribe tokens: the link in an email carries who may be unsubscribed, signed with
 * HMAC-SHA256 (Web Crypto), so nobody can unsubscribe someone else by editing it.
 * Format: `base64url(JSON payload) "." base64url(HMAC-SHA256(secret, first part))`.
 */
import { OutreachError } from '../errors.js';
import { fromBase64Url, toBase64Url } from '../internal/encoding.js';
import type { Channel } from '../statuses.js';

/** What an unsubscribe token proves. */
export interface UnsubscribeTokenPayload {
  messageId: string;
  campaignId: string;
  scope: string;
  channel: Channel;
  /** The normalised address to put on the suppression list. */
  address: string;
  /** Epoch milliseconds after which the token is refused; absent: never expires. */
  expiresAt?: number;
}

/** Input of {@link createUnsubscribeToken}. */
export interface CreateUnsubscribeTokenInput extends UnsubscribeTokenPayload {
  /** At least 16 bytes (a string is taken as UTF-8). Keep it out of source control. */
  secret: string | Uint8Array;
}

/** Options of {@link verifyUnsubscribeToken}. */
export interface VerifyUnsubscribeTokenOptions {
  secret: string | Uint8Array;
  /** Epoch milliseconds; defaults to `Date.now()`. Pass the engine clock's time. */
  now?: number;
}

/** The signed payload as written in the token. */
interface Wire {
  v: 1;
  m: string;
  c: string;
  s: string;
  ch: Channel;
  a: string;
  e?: number;
}

// Checked by hand rather than with a zod schema, so that a webhook or unsubscribe handler that verifies
// tokens does not load zod.
function isWire(value: unknown): value is Wire {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const w = value as Record<string, unknown>;
  return (
    w.v === 1 &&
    typeof w.m === 'string' &&
    typeof w.c === 'string' &&
    typeof w.s === 'string' &&
    (w.ch === 'sms' || w.ch === 'email') &&
    typeof w.a === 'string' &&
    (w.e === undefined || (typeof w.e === 'number' && Number.isFinite(w.e)))
  );
}

const MAX_TOKEN_LENGTH = 4096;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

// Importing a key per message would cost more than the HMAC itself; campaigns use one secret.
const keys = new Map<string, Promise<CryptoKey>>();
function keyFor(secret: string | Uint8Array): Promise<CryptoKey> {
  const bytes = typeof secret === 'string' ? encoder.encode(secret) : secret;
  if (bytes.length < 16) {
    throw new OutreachError(
      'CONFIGURATION_ERROR',
      'The unsubscribe secret must be at least 16 bytes long; use a random 32-byte value.',
    );
  }
  const id = toBase64Url(bytes);
  let key = keys.get(id);
  if (!key) {
    if (keys.size >= 16) keys.clear();
    key = globalThis.crypto.subtle.importKey('raw', new Uint8Array(bytes), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    keys.set(id, key);
  }
  return key;
}

const refused = (why: string) =>
  new OutreachError(
    'SIGNATURE_INVALID',
    `The unsubscribe link is not valid: ${why}. Use the link from the latest email.`,
  );

/**
 * Creates a signed unsubscribe token for one message.
 * @throws OutreachError `CONFIGURATION_ERROR` when the secret is shorter than 16 bytes.
 * @example
 * const token = await createUnsubscribeToken({ secret, messageId, campaignId, scope: 'school-1', channel: 'email', address: 'ann@example.org' });
 * const url = `https://example.org/unsubscribe?token=${token}`;
 */
export async function createUnsubscribeToken(input: CreateUnsubscribeTokenInput): Promise<string> {
  const key = await keyFor(input.secret);
  const wire: Wire = {
    v: 1,
    m: input.messageId,
    c: input.campaignId,
    s: input.scope,
    ch: input.channel,
    a: input.address,
    ...(input.expiresAt === undefined ? {} : { e: input.expiresAt }),
  };
  const body = toBase64Url(encoder.encode(JSON.stringify(wire)));
  const signature = new Uint8Array(await globalThis.crypto.subtle.sign('HMAC', key, encoder.encode(body)));
  return `${body}.${toBase64Url(signature)}`;
}

/**
 * Verifies an unsubscribe token and returns what it proves. The signature is checked with
 * `crypto.subtle.verify`, which compares in constant time, before the payload is even parsed.
 * @throws OutreachError `SIGNATURE_INVALID` for a malformed, tampered, foreign (other secret) or
 * expired token.
 */
export async function verifyUnsubscribeToken(
  token: string,
  options: VerifyUnsubscribeTokenOptions,
): Promise<UnsubscribeTokenPayload> {
  const key = await keyFor(options.secret);
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) {
    throw refused('it is malformed');
  }
  const [body, signature] = token.split('.') as [string, string];
  const signatureBytes = fromBase64Url(signature);
  if (signatureBytes === null) throw refused('it is malformed');
  const ok = await globalThis.crypto.subtle.verify('HMAC', key, new Uint8Array(signatureBytes), encoder.encode(body));
  if (!ok) throw refused('its signature does not match');
  const bodyBytes = fromBase64Url(body);
  if (bodyBytes === null) throw refused('it is malformed');
  let wire: unknown;
  try {
    wire = JSON.parse(decoder.decode(bodyBytes));
  } catch {
    throw refused('it is malformed');
  }
  if (!isWire(wire)) throw refused('it is malformed');
  if (wire.e !== undefined && wire.e <= (options.now ?? Date.now())) throw refused('it has expired');
  const payload: UnsubscribeTokenPayload = {
    messageId: wire.m,
    campaignId: wire.c,
    scope: wire.s,
    channel: wire.ch,
    address: wire.a,
  };
  if (wire.e !== undefined) payload.expiresAt = wire.e;
  return payload;
}
