import {
  createOutreach,
  type EventSink,
  type IngestResult,
  type ProviderEvent,
  unsubscribeHandler,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createUnsubscribeToken } from 'campaign-lifecycle/templates';
import { createFakeClock, simulatedEmailCarrier } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';
import { asServed } from '../support/loopback-http.js';

const SECRET = 'unsubscribe-secret-for-tests-0123';
const BASE = 'https://example.org/unsubscribe';
const NOW = Date.parse('2026-01-05T09:00:00Z');

function recordingSink(fail = false): EventSink & { batches: ProviderEvent[][] } {
  const batches: ProviderEvent[][] = [];
  return {
    batches,
    async ingest(events): Promise<IngestResult> {
      if (fail) throw new Error('storage down');
      batches.push([...events]);
      return { applied: events.length, duplicates: 0, ignored: 0, unmatched: 0 };
    },
  };
}

const tokenFor = (overrides: { expiresAt?: number; secret?: string } = {}) =>
  createUnsubscribeToken({
    secret: overrides.secret ?? SECRET,
    messageId: 'msg_1',
    campaignId: 'cmp_1',
    scope: 'school-1',
    channel: 'email',
    address: 'ada@example.com',
    ...(overrides.expiresAt === undefined ? {} : { expiresAt: overrides.expiresAt }),
  });

const linkFor = (token: string) => `${BASE}?token=${encodeURIComponent(token)}`;

const oneClick = (url: string, body: BodyInit = 'List-Unsubscribe=One-Click', contentType?: string) =>
  new Request(url, {
    method: 'POST',
    body,
    ...(contentType ? { headers: { 'content-type': contentType } } : {}),
  });

function setup(options: { fail?: boolean; confirmationHtml?: string; pageTitle?: string; maxBodyBytes?: number } = {}) {
  const outreach = recordingSink(options.fail);
  const handle = asServed(unsubscribeHandler({ outreach, secret: SECRET, clock: { now: () => NOW }, ...options }));
  return { outreach, handle };
}

describe('sendgrid: unsubscribe handler, one-click POST (RFC 8058)', () => {
  it('should opt the message out and suppress its address on a form-urlencoded one-click POST, answering 200 without a redirect', async () => {
    const { outreach, handle } = setup();
    const res = await handle(
      oneClick(linkFor(await tokenFor()), 'List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded'),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(outreach.batches).toEqual([
      [
        {
          type: 'suppression',
          action: 'opt_out',
          channel: 'email',
          address: 'ada@example.com',
          scope: 'school-1',
          source: 'unsubscribe_link',
        },
        {
          type: 'status',
          channel: 'email',
          messageId: 'msg_1',
          status: 'opted_out',
          providerStatus: 'unsubscribe_link',
          eventId: 'unsub:msg_1',
        },
      ],
    ]);
  });

  it('should accept the one-click pair as multipart/form-data', async () => {
    const { outreach, handle } = setup();
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const res = await handle(oneClick(linkFor(await tokenFor()), form));
    expect(res.status).toBe(200);
    expect(outreach.batches).toHaveLength(1);
    expect(outreach.batches[0]?.[1]).toMatchObject({ messageId: 'msg_1', status: 'opted_out' });
  });

  it('should answer with the configured confirmation page', async () => {
    const { handle } = setup({ confirmationHtml: '<p>Done, Ada.</p>' });
    const res = await handle(
      oneClick(linkFor(await tokenFor()), 'List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded'),
    );
    expect(await res.text()).toBe('<p>Done, Ada.</p>');
  });

  it('should refuse a POST without List-Unsubscribe=One-Click with 400 and ingest nothing', async () => {
    const { outreach, handle } = setup();
    for (const body of ['', 'List-Unsubscribe=Yes', 'unsubscribe=1']) {
      const res = await handle(oneClick(linkFor(await tokenFor()), body, 'application/x-www-form-urlencoded'));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('List-Unsubscribe=One-Click');
    }
    const broken = await handle(
      oneClick(linkFor(await tokenFor()), 'not multipart', 'multipart/form-data; boundary=x'),
    );
    expect(broken.status).toBe(400);
    expect(outreach.batches).toEqual([]);
  });

  it('should refuse a body over the limit with 413 before parsing it', async () => {
    const { outreach, handle } = setup({ maxBodyBytes: 64 });
    const res = await handle(
      oneClick(
        linkFor(await tokenFor()),
        `List-Unsubscribe=One-Click&pad=${'x'.repeat(100)}`,
        'application/x-www-form-urlencoded',
      ),
    );
    expect(res.status).toBe(413);
    expect(outreach.batches).toEqual([]);
  });

  it('should answer 500 when the opt-out cannot be recorded, so that the click can be repeated', async () => {
    const { handle } = setup({ fail: true });
    const res = await handle(
      oneClick(linkFor(await tokenFor()), 'List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded'),
    );
    expect(res.status).toBe(500);
  });
});

describe('sendgrid: unsubscribe handler, tokens', () => {
  it('should refuse a missing, tampered, foreign or expired token with 400 and a plain message, ingesting nothing', async () => {
    const { outreach, handle } = setup();
    const good = await tokenFor();
    const [body, sig] = good.split('.') as [string, string];
    const flipped = `${body}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    const urls = [
      BASE,
      `${BASE}?token=`,
      linkFor(flipped),
      linkFor(`${body}x.${sig}`),
      linkFor('not-a-token'),
      linkFor(await tokenFor({ secret: 'another-secret-of-32-bytes-000000' })),
      linkFor(await tokenFor({ expiresAt: NOW })),
    ];
    for (const url of urls) {
      for (const request of [
        oneClick(url, 'List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded'),
        new Request(url),
      ]) {
        const res = await handle(request);
        expect(res.status, url).toBe(400);
        expect(res.headers.get('content-type')).toContain('text/plain');
        expect(await res.text()).toMatch(/unsubscribe link/i);
      }
    }
    expect(outreach.batches).toEqual([]);
  });

  it('should accept a token that expires after now', async () => {
    const { outreach, handle } = setup();
    const res = await handle(
      oneClick(
        linkFor(await tokenFor({ expiresAt: NOW + 1 })),
        'List-Unsubscribe=One-Click',
        'application/x-www-form-urlencoded',
      ),
    );
    expect(res.status).toBe(200);
    expect(outreach.batches).toHaveLength(1);
  });
});

describe('sendgrid: unsubscribe handler, the GET page', () => {
  it('should show a page whose button POSTs the one-click pair to the same link, and never unsubscribe on GET', async () => {
    const { outreach, handle } = setup({ pageTitle: 'Leave <Lincoln> news' });
    const token = await tokenFor();
    const res = await handle(new Request(linkFor(token)));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    expect(page).toContain('<title>Leave &lt;Lincoln&gt; news</title>');
    expect(page).toContain('<form method="post"');
    expect(page).toContain(`action="?token=${token}"`);
    expect(page).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(page).toContain('ada@example.com');
    expect(outreach.batches).toEqual([]);

    // What the browser sends when the button is pressed: the form's fields to the form's action.
    const action = new URL(`?token=${token}`, linkFor(token)).toString();
    const posted = await handle(oneClick(action, 'List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded'));
    expect(posted.status).toBe(200);
    expect(outreach.batches).toHaveLength(1);
  });

  it('should refuse a secret shorter than 16 bytes when it is created, not on the first click', () => {
    expect(() => unsubscribeHandler({ outreach: recordingSink(), secret: 'short' })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
    );
  });

  it('should refuse other methods with 405', async () => {
    const { outreach, handle } = setup();
    const res = await handle(
      new Request(linkFor(await tokenFor()), { method: 'PUT', body: 'List-Unsubscribe=One-Click' }),
    );
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(outreach.batches).toEqual([]);
  });
});

describe('sendgrid: unsubscribe handler with the engine', () => {
  async function emailCampaign() {
    const clock = createFakeClock({ start: NOW });
    const outreach = createOutreach({
      storage: memoryStorage(),
      clock,
      transports: { email: simulatedEmailCarrier({ clock }) },
      unsubscribe: { baseUrl: BASE, secret: SECRET },
      onError: (e) => {
        throw e;
      },
    });
    const c = await outreach.createCampaign({
      name: 'Newsletter',
      channel: 'email',
      scope: 'school-1',
      content: { subject: 'News', html: '<p>Hi</p>', from: { email: 'office@school.example' } },
    });
    await outreach.addContacts(c.id, [{ address: 'ada@example.com' }, { address: 'bob@example.com' }]);
    await outreach.save(c.id);
    await outreach.run(c.id);
    outreach.worker.start();
    await clock.advance('1m');
    const messages = await outreach.listMessages(c.id);
    const ada = messages.find((m) => m.to === 'ada@example.com');
    if (!ada) throw new Error('no message to ada');
    const token = await createUnsubscribeToken({
      secret: SECRET,
      messageId: ada.id,
      campaignId: c.id,
      scope: 'school-1',
      channel: 'email',
      address: ada.to,
    });
    const handle = asServed(unsubscribeHandler({ outreach, secret: SECRET, clock }));
    return { outreach, campaignId: c.id, ada, handle, link: linkFor(token) };
  }

  it('Opted Out: the recipient clicked the unsubscribe link in the email (and the address is suppressed; a repeat changes nothing)', async () => {
    const { outreach, campaignId, ada, handle, link } = await emailCampaign();
    expect((await outreach.getMessage(ada.id)).status).toBe('delivered');
    const res = await handle(oneClick(link, 'List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded'));
    expect(res.status).toBe(200);
    expect((await outreach.getMessage(ada.id)).status).toBe('opted_out');
    expect(await outreach.isSuppressed({ channel: 'email', address: 'ada@example.com', scope: 'school-1' })).toBe(true);
    expect(await outreach.isSuppressed({ channel: 'email', address: 'bob@example.com', scope: 'school-1' })).toBe(
      false,
    );
    const before = JSON.stringify(await outreach.listMessages(campaignId));
    const again = await handle(oneClick(link, 'List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded'));
    expect(again.status).toBe(200);
    expect(JSON.stringify(await outreach.listMessages(campaignId))).toBe(before);
  });

  it('should still suppress the address when the campaign was deleted before the click', async () => {
    const { outreach, campaignId, handle, link } = await emailCampaign();
    await outreach.delete(campaignId);
    const res = await handle(oneClick(link, 'List-Unsubscribe=One-Click', 'application/x-www-form-urlencoded'));
    expect(res.status).toBe(200);
    expect(await outreach.isSuppressed({ channel: 'email', address: 'ada@example.com', scope: 'school-1' })).toBe(true);
  });
});
