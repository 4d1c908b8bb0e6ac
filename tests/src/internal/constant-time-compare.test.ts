/**
 * Constant-time comparison. Twilio signatures (HMAC-SHA1) are compared with the adapters'
 * `timingSafeEqual`, whose loop visits every character whatever the first difference; SendGrid
 * signatures are ECDSA, checked by `crypto.subtle.verify` (no byte comparison in our code); and
 * unsubscribe tokens (HMAC-SHA256) by `crypto.subtle.verify`, which compares in constant time.
 * Timing cannot be asserted deterministically, so this file proves the helper's results and that
 * Twilio verification takes the same path, with the same comparisons, for a signature wrong in its
 * first byte and one wrong in its last.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { computeTwilioSignature, verifyTwilioSignature } from '../../../adapters/twilio/twilio-signature.js';
import * as encoding from '../../../src/internal/encoding.js';
import { fuzzParams } from '../../support/fuzz-support.js';

vi.mock('../../../src/internal/encoding.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/internal/encoding.js')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const compare = vi.mocked(encoding.timingSafeEqual);
const TOKEN = 'auth-token-for-constant-time';
const URL_SIGNED = 'https://hooks.example.com:8443/twilio/status?messageId=msg_1';
const PARAMS = { MessageSid: 'SM1', MessageStatus: 'delivered' };

beforeEach(() => {
  compare.mockClear();
});

/** The signature with the character at `index` replaced by another base64 character. */
const corrupt = (signature: string, index: number) =>
  signature.slice(0, index) + (signature[index] === 'A' ? 'B' : 'A') + signature.slice(index + 1);

describe('security: constant-time comparison helper', () => {
  it('should agree with === on every pair of strings', async () => {
    await fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        expect(compare(a, b)).toBe(a === b);
        expect(compare(a, a)).toBe(true);
      }),
      fuzzParams(),
    );
  });

  it('should say false for a difference in the first, a middle or the last character, and for another length', () => {
    const s = 'Tk9UIEEgUkVBTCBTSUdOQVRVUkU=';
    expect(compare(s, s)).toBe(true);
    expect(compare(s, corrupt(s, 0))).toBe(false);
    expect(compare(s, corrupt(s, 13))).toBe(false);
    expect(compare(s, corrupt(s, s.length - 1))).toBe(false);
    expect(compare(s, s.slice(0, -1))).toBe(false);
    expect(compare('', '')).toBe(true);
  });
});

describe('security: Twilio verification compares in constant time', () => {
  it('should compare every URL variant with timingSafeEqual, the same way for a wrong first and a wrong last byte', async () => {
    const good = await computeTwilioSignature(TOKEN, URL_SIGNED, PARAMS);
    const calls = async (signature: string) => {
      compare.mockClear();
      const ok = await verifyTwilioSignature({ authToken: TOKEN, url: URL_SIGNED, params: PARAMS, signature });
      return { ok, calls: compare.mock.calls.map(([a, b]) => [a === signature, b.length]) };
    };
    const wrongFirst = await calls(corrupt(good, 0));
    const wrongLast = await calls(corrupt(good, good.length - 2));
    const right = await calls(good);
    expect(wrongFirst.ok).toBe(false);
    expect(wrongLast.ok).toBe(false);
    expect(right.ok).toBe(true);
    // A forgery is compared, through the helper, with every candidate URL, the same way wherever it is
    // wrong; the right signature stops at the URL form Twilio signed (here the URL as received, tried
    // first), which tells nothing about the token.
    expect(wrongFirst.calls.length).toBeGreaterThan(1);
    expect(wrongFirst.calls).toEqual(wrongLast.calls);
    expect(right.calls).toEqual(wrongFirst.calls.slice(0, right.calls.length));
    expect(right.calls).toHaveLength(1);
    for (const [isSignature, length] of right.calls) {
      expect(isSignature).toBe(true);
      expect(length).toBe(28);
    }
  });
});
