/**
 * SendGrid `group_resubscribe`: the recipient joined the unsubscribe group again, so the suppression
 * a `group_unsubscribe` added is lifted, through the real webhook handler into the real engine.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import type { ProviderEvent } from 'campaign-lifecycle';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseSendgridEvents,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridWebhookHandler,
} from '../../../adapters/sendgrid/index.js';
import { allMessages, harness, mail, readyCampaign } from '../../support/harness.js';
import { serveWebHandler } from '../../support/loopback-http.js';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('sendgrid: group_resubscribe lifts a group_unsubscribe suppression', () => {
  it('should suppress on group_unsubscribe and lift it on group_resubscribe, posted to the signed handler', async () => {
    const { outreach, clock } = harness();
    const c = await readyCampaign(outreach, 'email', 1, { scope: 'school-a' });
    await outreach.run(c.id);
    await clock.advance('1m');
    const [message] = await allMessages(outreach, c.id);
    const seen: ProviderEvent[] = [];
    const server = await serveWebHandler(
      sendgridWebhookHandler({
        outreach: {
          ingest: (events) => {
            seen.push(...events);
            return outreach.ingest(events);
          },
        },
        publicKey: PUBLIC_KEY,
        scope: 'school-a',
      }),
    );
    close = server.close;
    const post = async (event: string, id: string, timestamp = 1_767_600_000) => {
      const body = `${JSON.stringify([
        { email: mail(0), timestamp, event, asm_group_id: 10, sg_event_id: id, message_id: message?.id },
      ])}\r\n`;
      const ts = String(Math.floor(clock.now() / 1000));
      const res = await fetch(`${server.url}/sendgrid/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SENDGRID_SIGNATURE_HEADER]: sign('sha256', Buffer.from(ts + body), privateKey).toString('base64'),
          [SENDGRID_TIMESTAMP_HEADER]: ts,
        },
        body,
      });
      return res.json();
    };
    const suppressed = () => outreach.isSuppressed({ channel: 'email', address: mail(0), scope: 'school-a' });
    expect(await suppressed()).toBe(false);
    expect(await post('group_unsubscribe', 'ev-1')).toEqual({ received: 1, skipped: 0 });
    expect(await suppressed()).toBe(true);
    expect(await post('group_resubscribe', 'ev-2')).toEqual({ received: 1, skipped: 0 });
    expect(await suppressed()).toBe(false);
    expect(seen[1]).toMatchObject({
      type: 'suppression',
      action: 'opt_in',
      channel: 'email',
      address: mail(0),
      scope: 'school-a',
      source: 'sendgrid_group_resubscribe',
      eventId: 'ev-2',
    });
    // A redelivered resubscribe is a duplicate: a later unsubscribe is not undone by it.
    expect(await post('group_unsubscribe', 'ev-3', 1_767_600_100)).toEqual({ received: 1, skipped: 0 });
    await post('group_resubscribe', 'ev-2');
    expect(await suppressed()).toBe(true);
  });

  it('should refuse a group_resubscribe without an email rather than guess the address', () => {
    const { suppressions, rejected } = parseSendgridEvents([{ event: 'group_resubscribe', sg_event_id: 'x' }]);
    expect(suppressions).toEqual([]);
    expect(rejected).toEqual([{ index: 0, reason: 'group_resubscribe without an email address' }]);
  });

  it.each([
    [1591726752372, 1591726752372],
    [1591726752, 1591726752000],
    [99_999_999_999, 99_999_999_999_000],
    [100_000_000_000, 100_000_000_000],
  ])('should read timestamp %d as %d ms', (timestamp, ms) => {
    const { events } = parseSendgridEvents([{ event: 'delivered', timestamp, message_id: 'msg_1' }]);
    expect(events[0]?.occurredAt).toBe(ms);
  });
});
