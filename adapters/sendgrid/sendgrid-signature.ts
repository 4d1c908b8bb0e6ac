/**
 * SendGrid Signed Event Webhook verification with Web Crypto: ECDSA P-256 / SHA-256 over the
 * timestamp header followed by the raw body bytes.
 */
import { fromBase64 } from '../../src/internal/encoding.js';

/** The header that carries the base64 DER signature. */
export const SENDGRID_SIGNATURE_HEADER = 'X-Twilio-Email-Event-Webhook-Signature';
/** The header that carries the signed timestamp (Unix seconds). */
export const SENDGRID_TIMESTAMP_HEADER = 'X-Twilio-Email-Event-Webhook-Timestamp';

/** What {@link verifySendgridSignature} checks. */
export interface VerifySendgridSignatureInput {
  /** The verification key from SendGrid's Mail Settings: base64 DER SubjectPublicKeyInfo (P-256), no PEM armour. */
  readonly publicKey: string;
  /** The body exactly as received (keep its `\r\n`s): a re-serialised parse does not verify. */
  readonly rawBody: string | Uint8Array;
  /** The `X-Twilio-Email-Event-Webhook-Signature` header (base64 DER). */
  readonly signature: string | null | undefined;
  /** The `X-Twilio-Email-Event-Webhook-Timestamp` header. */
  readonly timestamp: string | number | null | undefined;
  /**
   * Refuse requests whose timestamp is further than this from `now`, against replays. SendGrid
   * defines no window; off when absent.
   */
  readonly maxAgeSeconds?: number | undefined;
  /** The current time in ms since the epoch, for `maxAgeSeconds`. @defaultValue Date.now() */
  readonly now?: number | undefined;
}

const encoder = new TextEncoder();

/**
 * Converts an ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }` into the 64-byte `r || s` that Web
 * Crypto expects: strips the sign byte, left-pads each half to 32 bytes. `null` when malformed.
 */
export function derSignatureToRaw(der: Uint8Array): Uint8Array | null {
  let i = 0;
  if (der[i++] !== 0x30) return null;
  let length = der[i++];
  if (length === undefined) return null;
  if (length === 0x81) {
    length = der[i++];
    if (length === undefined || length < 0x80) return null;
  } else if (length > 0x80) {
    return null;
  }
  if (i + length !== der.length) return null;
  const readInteger = (): Uint8Array | null => {
    if (der[i++] !== 0x02) return null;
    const size = der[i++];
    if (size === undefined || size === 0 || size > 33 || i + size > der.length) return null;
    let bytes = der.subarray(i, i + size);
    i += size;
    if ((bytes[0]! & 0x80) !== 0) return null; // negative: never a valid r or s
    while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
    return bytes.length > 32 ? null : bytes;
  };
  const r = readInteger();
  if (r === null) return null;
  const s = readInteger();
  if (s === null || i !== der.length) return null;
  const raw = new Uint8Array(64);
  raw.set(r, 32 - r.length);
  raw.set(s, 64 - s.length);
  return raw;
}

/** Imports a SendGrid verification key; `null` when it is not a P-256 SPKI key. */
export async function importSendgridPublicKey(publicKey: string): Promise<CryptoKey | null> {
  const der = fromBase64(publicKey);
  if (der === null) return null;
  try {
    return await crypto.subtle.importKey('spki', der as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'verify',
    ]);
  } catch {
    return null;
  }
}

/** Verifies with an imported key; shared by {@link verifySendgridSignature} and the handler (which caches the key). */
export async function verifyWithSendgridKey(
  key: CryptoKey,
  input: Omit<VerifySendgridSignatureInput, 'publicKey'>,
): Promise<boolean> {
  const { signature, timestamp } = input;
  if (!signature || timestamp === null || timestamp === undefined || timestamp === '') return false;
  const stamp = String(timestamp);
  if (input.maxAgeSeconds !== undefined) {
    if (!/^\d{1,12}$/.test(stamp)) return false;
    const ageSeconds = ((input.now ?? Date.now()) - Number(stamp) * 1000) / 1000;
    if (Math.abs(ageSeconds) > input.maxAgeSeconds) return false;
  }
  const der = fromBase64(signature);
  const raw = der === null ? null : derSignatureToRaw(der);
  if (raw === null) return false;
  const prefix = encoder.encode(stamp);
  const body = typeof input.rawBody === 'string' ? encoder.encode(input.rawBody) : input.rawBody;
  const data = new Uint8Array(prefix.length + body.length);
  data.set(prefix, 0);
  data.set(body, prefix.length);
  try {
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw as BufferSource, data);
  } catch {
    return false;
  }
}

/**
 * Checks a SendGrid Signed Event Webhook request: ECDSA P-256 with SHA-256 over `timestamp + raw
 * body`, the DER signature converted to Web Crypto's raw form; optionally refuses a timestamp
 * older (or further ahead) than `maxAgeSeconds`. Never throws: a malformed key, signature or
 * timestamp is `false`.
 * @example
 * const ok = await verifySendgridSignature({
 *   publicKey: process.env.SENDGRID_WEBHOOK_KEY!,
 *   rawBody,
 *   signature: request.headers.get('X-Twilio-Email-Event-Webhook-Signature'),
 *   timestamp: request.headers.get('X-Twilio-Email-Event-Webhook-Timestamp'),
 *   maxAgeSeconds: 600,
 * });
 */
export async function verifySendgridSignature(input: VerifySendgridSignatureInput): Promise<boolean> {
  const key = await importSendgridPublicKey(input.publicKey);
  return key === null ? false : verifyWithSendgridKey(key, input);
}
