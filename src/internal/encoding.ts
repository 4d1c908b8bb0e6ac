/**
 * Byte and text encodings (base64, base64url, hex, HTML/XML escaping) and a constant-time comparison, shared by the core (unsubscribe tokens) and the
 * provider adapters (signatures, Basic auth). Web standards only (`btoa`/`atob`), so every runtime
 * runs them. Internal: no entry exports this module. The adapters import it by relative path (never
 * through `campaign-lifecycle`), and the JavaScript build puts it in one chunk shared by the entries
 * that use it. It imports nothing.
 * @internal
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes `& < > " '` so a value is text in HTML content and in quoted attributes (and in XML, e.g.
 * TwiML: the five entities are XML's too). Public as `escapeHtml` of campaign-lifecycle/templates.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

/** Base64 of bytes (standard alphabet, padded). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decodes strict base64 (standard alphabet, optional padding); `null` when malformed. */
export function fromBase64(text: string): Uint8Array | null {
  const t = text.trim();
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/.test(t)) return null;
  try {
    const binary = atob(t);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Base64url of bytes (RFC 4648 §5: `-` and `_`, no padding). */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes unpadded base64url; `null` when malformed (any character outside `A-Z a-z 0-9 - _`, or an impossible length). */
export function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  return fromBase64(text.replace(/-/g, '+').replace(/_/g, '/'));
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Compares two strings in time that depends only on their lengths, not on where they differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
