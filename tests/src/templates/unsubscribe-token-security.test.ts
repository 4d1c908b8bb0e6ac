/**
 * Unsubscribe links: a tampered, expired, foreign or moved token is refused by
 * `verifyUnsubscribeToken` and by the unsubscribe handler over real HTTP, and changes nothing in a
 * real engine; the untouched token for the same message does unsubscribe it.
 */
import {
  createOutreach,
  type EmailTransport,
  type Message,
  type Outreach,
  unsubscribeHandler,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createUnsubscribeToken, verifyUnsubscribeToken } from 'campaign-lifecycle/templates';
import { createFakeClock, type FakeClock } from 'campaign-lifecycle/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineSnapshot } from '../../support/fuzz-support.js';
import { mail, readyCampaign } from '../../support/harness.js';
import { serveWebHandler } from '../../support/loopback-http.js';

const SECRET = 'unsubscribe-secret-for-security-tests';

const acceptingEmail: EmailTransport = {
  channel: 'email',
  name: 'accepting-email',
  send: async () => ({ outcome: 'accepted' }),
};

let clock: FakeClock;
let outreach: Outreach;
let campaignId: string;
let messages: Message[];
let server: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  clock = createFakeClock();
  outreach = createOutreach({
    storage: memoryStorage(),
    clock,
    transports: { email: acceptingEmail },
    unsubscribe: { baseUrl: 'https://example.org/unsubscribe', secret: SECRET },
    onError: (e) => {
      throw e;
    },
  });
  const c = await readyCampaign(outreach, 'email', 2);
  campaignId = c.id;
  await outreach.run(c.id);
  await outreach.worker.runOnce();
  messages = await Promise.all((await outreach.listMessages(c.id)).map((m) => outreach.getMessage(m.id)));
  server = await serveWebHandler(unsubscribeHandler({ outreach, secret: SECRET, clock }));
});

afterAll(async () => {
  await server.close();
});

/** The token the engine would put in message `i`'s email. */
const tokenFor = (i: number, extra: { expiresAt?: number; secret?: string } = {}) => {
  const m = messages[i] as Message;
  return createUnsubscribeToken({
    secret: extra.secret ?? SECRET,
    messageId: m.id,
    campaignId: m.campaignId,
    scope: m.scope,
    channel: 'email',
    address: m.to,
    ...(extra.expiresAt === undefined ? {} : { expiresAt: extra.expiresAt }),
  });
};

/** Changes one base64url character of the part (0: payload, 1: signature) at `index`. */
function flip(token: string, part: 0 | 1, index: number): string {
  const parts = token.split('.') as [string, string];
  const s = parts[part];
  const i = ((index % s.length) + s.length) % s.length;
  parts[part] = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  return parts.join('.');
}

const bad = async () => ({
  'payload tampered (first character)': flip(await tokenFor(0), 0, 0),
  'payload tampered (last character)': flip(await tokenFor(0), 0, -1),
  'signature tampered (first character)': flip(await tokenFor(0), 1, 0),
  'signature tampered (last character)': flip(await tokenFor(0), 1, -2),
  expired: await tokenFor(0, { expiresAt: clock.now() - 1 }),
  'expiring exactly now': await tokenFor(0, { expiresAt: clock.now() }),
  'signed with another secret': await tokenFor(0, { secret: 'another-secret-another-secret' }),
  // Contact 1's signature on contact 0's payload, and contact 0's on contact 1's: a token moved to another contact.
  'moved to another contact (payload of 0, signature of 1)': `${(await tokenFor(0)).split('.')[0]}.${(await tokenFor(1)).split('.')[1]}`,
  'moved to another contact (payload of 1, signature of 0)': `${(await tokenFor(1)).split('.')[0]}.${(await tokenFor(0)).split('.')[1]}`,
  'payload rewritten to another address, old signature': `${Buffer.from(
    JSON.stringify({ v: 1, m: messages[0]?.id, c: campaignId, s: 'default', ch: 'email', a: mail(1) }),
  ).toString('base64url')}.${(await tokenFor(0)).split('.')[1]}`,
  'signature removed': `${(await tokenFor(0)).split('.')[0]}.`,
  'not a token': 'hello',
});

describe('security: unsubscribe tokens', () => {
  it('should refuse every tampered, expired, foreign or moved token with SIGNATURE_INVALID', async () => {
    for (const [what, token] of Object.entries(await bad())) {
      await expect(verifyUnsubscribeToken(token, { secret: SECRET, now: clock.now() }), what).rejects.toMatchObject({
        name: 'OutreachError',
        code: 'SIGNATURE_INVALID',
      });
    }
  });

  it('should accept the untouched token and return exactly the contact it was made for', async () => {
    const payload = await verifyUnsubscribeToken(await tokenFor(1), { secret: SECRET, now: clock.now() });
    expect(payload).toEqual({
      messageId: messages[1]?.id,
      campaignId,
      scope: 'default',
      channel: 'email',
      address: mail(1),
    });
  });

  it('should answer 400 to a one-click POST with any refused token, and change nothing in the engine', async () => {
    const addresses = [0, 1].map((i) => ({ channel: 'email' as const, address: mail(i) }));
    const before = await engineSnapshot(outreach, [campaignId], addresses);
    for (const [what, token] of Object.entries(await bad())) {
      const res = await fetch(`${server.url}/unsubscribe?token=${encodeURIComponent(token)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(res.status, what).toBe(400);
      await res.arrayBuffer();
    }
    expect(await engineSnapshot(outreach, [campaignId], addresses)).toBe(before);
    for (const m of await outreach.listMessages(campaignId)) expect(m.status).toBe('sending');
  });

  it('should unsubscribe the one message its untouched token names (the control)', async () => {
    const res = await fetch(`${server.url}/unsubscribe?token=${encodeURIComponent(await tokenFor(0))}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    expect((await outreach.getMessage(messages[0]?.id as string)).status).toBe('opted_out');
    expect((await outreach.getMessage(messages[1]?.id as string)).status).toBe('sending');
    expect(await outreach.isSuppressed({ channel: 'email', address: mail(0) })).toBe(true);
    expect(await outreach.isSuppressed({ channel: 'email', address: mail(1) })).toBe(false);
  });
});
