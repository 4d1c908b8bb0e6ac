import { describe, expect, it } from 'vitest';
import { isOutreachError } from '../../../src/errors.js';
import { createUnsubscribeToken, verifyUnsubscribeToken } from '../../../src/templates/unsubscribe-token.js';

const secret = 'a-test-secret-of-32-bytes-length';
const base = {
  secret,
  messageId: 'msg_1',
  campaignId: 'cmp_1',
  scope: 'school-1',
  channel: 'email' as const,
  address: 'ann@example.org',
};

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    if (isOutreachError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

describe('unsubscribe token: signed so that nobody can unsubscribe someone else', () => {
  it('should round-trip the payload', async () => {
    const token = await createUnsubscribeToken({ ...base, expiresAt: 2_000 });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const { secret: _, ...payload } = { ...base, expiresAt: 2_000 };
    expect(await verifyUnsubscribeToken(token, { secret, now: 1_000 })).toEqual(payload);
  });

  it('should refuse a token moved to another address (payload edited)', async () => {
    const [body, sig] = (await createUnsubscribeToken(base)).split('.') as [string, string];
    const moved = `${b64({ ...decode(body), a: 'bob@example.org' })}.${sig}`;
    const e = await refusal(verifyUnsubscribeToken(moved, { secret }));
    expect(e.code).toBe('SIGNATURE_INVALID');
    expect(e.message).toContain('signature does not match');
  });

  it('should refuse a tampered signature, a wrong secret, and malformed tokens', async () => {
    const token = await createUnsubscribeToken(base);
    const flipped = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    expect((await refusal(verifyUnsubscribeToken(flipped, { secret }))).code).toBe('SIGNATURE_INVALID');
    expect((await refusal(verifyUnsubscribeToken(token, { secret: 'another-secret-of-enough-length' }))).code).toBe(
      'SIGNATURE_INVALID',
    );
    for (const bad of ['', 'abc', 'a.b.c', `${token}!`, 'x'.repeat(5000)]) {
      expect((await refusal(verifyUnsubscribeToken(bad, { secret }))).message).toContain('malformed');
    }
  });

  it('should refuse an expired token', async () => {
    const token = await createUnsubscribeToken({ ...base, expiresAt: 1_000 });
    expect((await refusal(verifyUnsubscribeToken(token, { secret, now: 1_000 }))).message).toContain('expired');
  });

  it('should refuse a secret shorter than 16 bytes', async () => {
    expect((await refusal(createUnsubscribeToken({ ...base, secret: 'short' }))).code).toBe('CONFIGURATION_ERROR');
  });
});
