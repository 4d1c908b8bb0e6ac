import { createOutreach } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { describe, expect, it } from 'vitest';
import { type ImportedContact, importContactsCsv } from '../../../src/contacts/csv-import.js';
import { type ContentRenderer, defaultRenderer } from '../../../src/engine/render-message.js';

/**
 * A renderer whose numbers are internal extensions: `x1234` stands for `+441632961234`, and nothing
 * else is a number. The built-in normaliser accepts none of the extensions and all of the others.
 */
const extensionRenderer: ContentRenderer = {
  ...defaultRenderer,
  normalizeAddress(channel, raw) {
    const m = /^x(\d{4})$/.exec(raw.trim());
    if (channel === 'sms' && m) return { ok: true, address: `+44163296${m[1]}` };
    return { ok: false, message: `"${raw}" is not an extension.` };
  },
};

const CSV = 'name,phone\nAnn,x1234\nBen,+447400000001\nCid,x1234\nDee,x0001\n';

describe('importContactsCsv: the address normaliser', () => {
  it('should normalise CSV rows with the custom renderer of createOutreach, as addContacts does', async () => {
    const outreach = createOutreach({
      storage: memoryStorage(),
      clock: createFakeClock({ start: Date.UTC(2026, 0, 5) }),
      transports: {},
      renderer: extensionRenderer,
    });
    const campaign = await outreach.createCampaign({ name: 'ext', channel: 'sms', content: { body: 'Hi' } });
    const r = await outreach.importContacts(campaign.id, CSV);
    expect(r).toMatchObject({ imported: 2, duplicates: 1, rejectedCount: 1, rows: 4 });
    expect(r.rejected).toEqual([
      expect.objectContaining({ line: 3, code: 'invalid_number', reason: '"+447400000001" is not an extension.' }),
      expect.objectContaining({ line: 4, code: 'duplicate' }),
    ]);
    const contacts = await outreach.listContacts(campaign.id);
    expect(contacts.map((c) => c.address).sort()).toEqual(['+441632960001', '+441632961234']);

    // addContacts goes through the same renderer and so agrees with the import.
    const other = await outreach.createCampaign({ name: 'ext2', channel: 'sms', content: { body: 'Hi' } });
    const added = await outreach.addContacts(other.id, [{ address: 'x1234' }, { address: '+447400000001' }]);
    expect(added.added).toBe(1);
  });

  it('should use the normaliser passed, its reason when it gives one and the channel’s code otherwise', async () => {
    const rows: ImportedContact[] = [];
    const r = await importContactsCsv(
      'email\nann@x.org\nnot-an-address\nblocked@x.org\nANN@x.org\n',
      {
        channel: 'email',
        normalizeAddress: (raw) => {
          if (raw.startsWith('blocked')) return { ok: false, message: 'Blocked.', reason: 'unsupported_country' };
          return raw.includes('@') ? { ok: true, address: raw.toUpperCase() } : { ok: false, message: 'No @.' };
        },
      },
      async (batch) => void rows.push(...batch),
    );
    expect(rows.map((c) => [c.address, c.line])).toEqual([['ANN@X.ORG', 2]]);
    expect(r.rejected.map((x) => [x.line, x.code, x.reason])).toEqual([
      [3, 'invalid_email', 'No @.'],
      [4, 'unsupported_country', 'Blocked.'],
      [5, 'duplicate', 'ANN@X.ORG already appears on line 2.'],
    ]);
  });
});
