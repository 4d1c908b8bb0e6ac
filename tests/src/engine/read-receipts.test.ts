/**
 * Read receipts (WhatsApp and RCS `read` from Twilio): the message is delivered, and its campaign counts
 * one read per message, however often the receipt comes; on memory and PGlite storage.
 */
import { PGlite } from '@electric-sql/pglite';
import type { Storage } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTwilioStatusCallback } from '../../../adapters/twilio/index.js';
import { allMessages, harness, readyCampaign } from '../../support/harness.js';

const db = new PGlite();
afterAll(() => db.close());
let schemas = 0;

const storages: [string, () => Storage][] = [
  ['memory', () => memoryStorage()],
  ['PGlite', () => postgresStorage({ pool: db, schema: `reads_${++schemas}` })],
];

/** Twilio's `read` status callback for a message, as the webhook handler parses it. */
const readCallback = (messageId: string, providerMessageId: string, doneDate: string) =>
  parseTwilioStatusCallback(
    new URLSearchParams({ MessageSid: providerMessageId, MessageStatus: 'read', RawDlrDoneDate: doneDate }),
    { url: `https://hooks.example.com/twilio?messageId=${messageId}` },
  );

describe.each(storages)('read receipts (%s storage)', (_, storage) => {
  it('a read receipt counts one read per message beside opens and clicks; a repeated receipt does not count twice', async () => {
    const { outreach, clock } = harness({ storage: storage(), sms: { mix: [[1, { kind: 'no_receipt' }]] } });
    const c = await readyCampaign(outreach, 'sms', 3);
    await outreach.run(c.id);
    await clock.advance('5s');
    const [a, b] = await allMessages(outreach, c.id);
    if (!a?.context.providerMessageId || !b?.context.providerMessageId) throw new Error('messages not sent');
    expect(a.status).toBe('sent');

    const first = await outreach.ingest([readCallback(a.id, a.context.providerMessageId, '2601050901')]);
    expect(first.applied).toBe(1);
    // The same read again under another key, and twice in one batch for the other message.
    const again = await outreach.ingest([
      readCallback(a.id, a.context.providerMessageId, '2601050902'),
      readCallback(b.id, b.context.providerMessageId, '2601050901'),
      readCallback(b.id, b.context.providerMessageId, '2601050903'),
    ]);
    expect(again.applied).toBe(1); // b's first read (and its delivery); the repeats change nothing
    expect((await outreach.getMessage(a.id)).status).toBe('delivered'); // read means delivered
    const campaign = await outreach.getCampaign(c.id);
    expect([campaign.reads, campaign.opens, campaign.clicks]).toEqual([2, 0, 0]);
    expect((await outreach.getStats(c.id)).reads).toBe(2);
  });
});
