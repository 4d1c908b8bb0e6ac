/**
 * Identifiers that sort by creation time (ULID-like: 48-bit milliseconds + 80 random bits, Crockford
 * base32), monotonic within a process, so storage can page by id and claim oldest first.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
const lastRandom = new Uint8Array(10);

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits → 16 base32 characters.
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

/**
 * A new id with a prefix (`cmp_`, `msg_`, `ctc_`). Ids made later sort after ids made earlier in the
 * same process; the time part uses the wall clock (not the engine clock), so ids never collide when
 * a fake clock is set back.
 */
export function createId(prefix: string): string {
  const now = Date.now();
  if (now <= lastTime) {
    // Same millisecond (or the wall clock stepped back): increment the random part to stay monotonic.
    for (let i = lastRandom.length - 1; i >= 0; i--) {
      lastRandom[i] = ((lastRandom[i] as number) + 1) & 0xff;
      if (lastRandom[i] !== 0) break;
    }
  } else {
    lastTime = now;
    crypto.getRandomValues(lastRandom);
    lastRandom[0] = (lastRandom[0] as number) & 0x7f; // room to increment without overflow
  }
  return `${prefix}_${encodeTime(lastTime)}${encodeRandom(lastRandom)}`;
}
