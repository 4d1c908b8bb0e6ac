import type { OutreachEvent } from 'campaign-lifecycle';
import { describe, expect, it } from 'vitest';
import { harness, phone, readyCampaign, snapshot } from '../../support/harness.js';

async function text(chunks: AsyncIterable<string>) {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

describe('engine: contacts, previews and exports', () => {
  it('should import a CSV into a draft, report bad rows with line numbers, and refuse imports once saved', async () => {
    const { outreach } = harness({ start: false });
    const c = await outreach.createCampaign({ name: 'Import', channel: 'sms', content: { body: 'Hi {{first_name}}' } });
    const csv =
      '\uFEFFfirst_name,phone\r\nAda,+14155550101\r\nBad,12\r\n"Lovelace, Ada",+1 (415) 555-0101\r\nGrace,+14155550102\r\n';
    const r = await outreach.importContacts(c.id, csv);
    expect(r.imported).toBe(2);
    expect(r.duplicates).toBe(1);
    expect(r.rejected.find((x) => x.code !== 'duplicate')?.line).toBe(3);
    await outreach.save(c.id);
    const before = await snapshot(outreach, c.id);
    await expect(outreach.importContacts(c.id, csv)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await snapshot(outreach, c.id)).toBe(before);
  });

  it('should preview one message as the recipient would see it, with SMS encoding and segments', async () => {
    const { outreach } = harness({ start: false });
    const c = await outreach.createCampaign({
      name: 'Preview',
      channel: 'sms',
      content: { body: 'Hi {{first_name|friend}} ☃' },
    });
    await outreach.addContacts(c.id, [{ address: phone(1), fields: { first_name: 'Ada' } }]);
    const [contact] = await outreach.listContacts(c.id);
    const p = await outreach.preview(c.id, contact?.id as string);
    expect(p).toMatchObject({ channel: 'sms', body: 'Hi Ada ☃', encoding: 'UCS-2', segments: 1, to: phone(1) });
    await expect(outreach.preview(c.id, 'ctc_missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('should preview an email with escaped values and a signed one-click unsubscribe link', async () => {
    const { outreach } = harness({ start: false });
    const c = await outreach.createCampaign({
      name: 'Email',
      channel: 'email',
      content: {
        subject: 'Hello {{first_name}}',
        html: '<p>Hi {{first_name}}</p>',
        from: { email: 'office@school.example' },
      },
    });
    await outreach.addContacts(c.id, [{ address: 'Ada@Example.com', fields: { first_name: '<script>x</script>' } }]);
    const [contact] = await outreach.listContacts(c.id);
    expect(contact?.address).toBe('ada@example.com');
    const p = await outreach.preview(c.id, contact?.id as string);
    if (p.channel !== 'email') throw new Error('expected an email');
    expect(p.html).toContain('&lt;script&gt;');
    expect(p.html).not.toContain('<script>');
    expect(p.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(p.headers['List-Unsubscribe']).toMatch(/^<https:\/\/example\.com\/unsubscribe\?token=/);
  });

  it('should export campaigns and messages as CSV, neutralising formula cells', async () => {
    const { outreach, clock } = harness({ sms: { byAddress: { [phone(1)]: { kind: 'undelivered', code: '30003' } } } });
    const c = await outreach.createCampaign({
      name: '=HYPERLINK("x")',
      channel: 'sms',
      content: { body: 'Hi {{first_name}}' },
    });
    await outreach.addContacts(c.id, [
      { address: phone(0), fields: { first_name: '=cmd()' } },
      { address: phone(1), fields: { first_name: 'Ada' } },
    ]);
    await outreach.save(c.id);
    await outreach.run(c.id);
    await clock.advance('1m');
    const campaigns = await text(outreach.exportCampaigns());
    expect(campaigns).toContain(`'=HYPERLINK`);
    expect(campaigns).toContain('Complete (with errors)');
    const messages = await text(outreach.exportMessages(c.id, { fields: ['first_name'] }));
    const lines = messages.trim().split(/\r?\n/);
    expect(lines).toHaveLength(3);
    expect(messages).toContain(`'=cmd()`);
    expect(messages).toContain('Unreachable Number');
    expect(messages).toContain('30003');
  });
});

describe('engine: queries and events', () => {
  it('should tell subscribers about status changes and progress, after each commit', async () => {
    const { outreach, clock } = harness();
    const events: OutreachEvent[] = [];
    const off = outreach.subscribe((e) => events.push(e));
    const c = await readyCampaign(outreach, 'sms', 3);
    await outreach.run(c.id);
    await clock.advance('1m');
    off();
    const statuses = events
      .filter((e) => e.type === 'campaign.status')
      .map((e) => (e.type === 'campaign.status' ? `${e.from}->${e.to}` : ''));
    expect(statuses).toEqual(['draft->ready', 'ready->in_progress', 'in_progress->complete']);
    const progress = events.filter((e) => e.type === 'campaign.progress');
    const last = progress[progress.length - 1];
    expect(last?.type === 'campaign.progress' && last.done).toBe(3);
    expect(events.filter((e) => e.type === 'message.status').length).toBe(3 * 4); // queued, sending, sent, delivered
  });

  it('should report stats from counters, grouped as Delivered / Pending / Failed', async () => {
    const { outreach, clock } = harness({
      sms: { byAddress: { [phone(0)]: { kind: 'undelivered', code: '30005' }, [phone(1)]: { kind: 'no_receipt' } } },
    });
    const c = await readyCampaign(outreach, 'sms', 4);
    await outreach.run(c.id);
    await clock.advance('1m');
    expect(await outreach.getStats(c.id)).toMatchObject({
      total: 4,
      delivered: 2,
      pending: 1,
      failed: 1,
      status: 'in_progress',
    });
    await clock.advance('10m');
    expect(await outreach.getStats(c.id)).toMatchObject({
      total: 4,
      delivered: 3,
      pending: 0,
      failed: 1,
      status: 'complete_with_errors',
    });
  });

  it('should refuse commands on unknown campaigns with NOT_FOUND and bad input with VALIDATION_FAILED', async () => {
    const { outreach } = harness({ start: false });
    await expect(outreach.run('cmp_nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(outreach.createCampaign({ name: '', channel: 'sms' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(outreach.createCampaign({ name: 'x', channel: 'fax' as 'sms' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(
      outreach.createCampaign({ name: 'x', channel: 'sms', content: { body: 5 } as never }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await outreach.listCampaigns()).toEqual([]);
    const c = await outreach.createCampaign({ name: 'x', channel: 'sms', content: { body: 'hi' } });
    const r = await outreach.addContacts(c.id, [{ address: 'not a phone' }, { address: phone(1) }]);
    expect(r.added).toBe(1);
    expect(r.rejected[0]?.index).toBe(0);
    await expect(outreach.schedule(c.id, Number.NaN)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
