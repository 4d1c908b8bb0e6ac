import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { campaignsCsv } from '../../../src/export/campaigns-csv.js';
import { messagesCsv } from '../../../src/export/messages-csv.js';
import { neutralizeCell } from '../../../src/export/neutralize-cell.js';
import type { CampaignRecord, ContactRecord, MessageRecord } from '../../../src/records.js';
import { emptyCounts } from '../../../src/statuses.js';

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);

const campaign = (over: Partial<CampaignRecord> = {}): CampaignRecord => ({
  id: 'cmp_1',
  scope: 'school-1',
  channel: 'sms',
  name: '=HYPERLINK("http://evil.example","click")',
  description: '',
  status: 'complete_with_errors',
  state: {
    value: 'complete_with_errors',
    context: { channel: 'sms', scheduledAt: null, failureCause: null, hasRun: true, autoPaused: false },
  },
  content: { body: 'hi' },
  metadata: {},
  messageCount: 3,
  createdAt: T0,
  updatedAt: T0,
  startedAt: T0 + 1000,
  finishedAt: null,
  ...over,
});

const message = (over: Partial<MessageRecord> = {}): MessageRecord => ({
  id: 'msg_1',
  campaignId: 'cmp_1',
  contactId: 'ct_1',
  scope: 'school-1',
  channel: 'sms',
  to: '+447400123456',
  status: 'failed',
  state: 'failed',
  context: {
    channel: 'sms',
    attempts: 2,
    reason: 'unreachable',
    code: '30003',
    providerMessageId: 'SM123',
    firstDeferredAt: null,
    deferrals: 0,
    updatedAt: T0,
  },
  createdAt: T0,
  updatedAt: T0 + 60_000,
  ...over,
});

const contact: ContactRecord = {
  id: 'ct_1',
  campaignId: 'cmp_1',
  address: '+447400123456',
  fields: { name: '@SUM(A1:A9)', class: 'Year 3' },
  createdAt: T0,
};

describe('neutralizeCell: CSV injection', () => {
  it('should prefix an apostrophe to cells a spreadsheet would run', () => {
    for (const v of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) expect(neutralizeCell(v)).toBe(`'${v}`);
    expect(neutralizeCell('Ann')).toBe('Ann');
    expect(neutralizeCell('')).toBe('');
  });

  it('should never return text that starts with a formula character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (v) => {
        expect(neutralizeCell(v)).not.toMatch(/^[=+\-@\t\r]/);
        expect(neutralizeCell(v).endsWith(v)).toBe(true);
      }),
      { seed: 3, numRuns: 500 },
    );
  });
});

describe('campaignsCsv: one row per campaign', () => {
  it('should write labels, ISO times, counts per status, and open a =HYPERLINK name as text', async () => {
    const counts = { ...emptyCounts(), delivered: 2, failed: 1 };
    const csv = await text(campaignsCsv([{ campaign: campaign(), counters: { counts, opens: 0, clicks: 0 } }]));
    const [header, row] = parse(csv) as string[][];
    expect(header?.slice(0, 10)).toEqual([
      'Campaign ID',
      'Name',
      'Channel',
      'Scope',
      'Status',
      'Created At',
      'Started At',
      'Finished At',
      'Messages',
      'Waiting',
    ]);
    const cell = (name: string) => row?.[header?.indexOf(name) ?? -1];
    expect(cell('Name')).toBe('\'=HYPERLINK("http://evil.example","click")');
    expect(cell('Status')).toBe('Complete (with errors)');
    expect(cell('Created At')).toBe('2025-01-02T03:04:05.000Z');
    expect(cell('Finished At')).toBe('');
    expect(cell('Messages')).toBe('3');
    expect(cell('Delivered')).toBe('2');
    expect(cell('Failed')).toBe('1');
    expect(cell('Assumed Delivered')).toBe('0');
  });

  it('should stream rows from an async iterable in chunks', async () => {
    async function* many() {
      for (let i = 0; i < 1200; i++)
        yield {
          campaign: campaign({ id: `c${i}`, name: `N${i}` }),
          counters: { counts: emptyCounts(), opens: 0, clicks: 0 },
        };
    }
    const chunks: string[] = [];
    for await (const c of campaignsCsv(many(), { chunkRows: 500 })) chunks.push(c);
    expect(chunks).toHaveLength(4); // header + 500 + 500 + 200
    expect(parse(chunks.join(''))).toHaveLength(1201);
  });
});

describe('messagesCsv: one row per message', () => {
  it('should write recipient, contact fields, status, reason label and id, code, attempts and times', async () => {
    const csv = await text(
      messagesCsv(
        [
          { message: message(), contact },
          {
            message: message({
              id: 'msg_2',
              to: '+447508123456',
              status: 'delivered',
              context: { ...message().context, reason: null, code: null },
            }),
          },
        ],
        { fields: ['name', 'class'] },
      ),
    );
    expect(parse(csv)).toEqual([
      [
        'Message ID',
        'Recipient',
        'name',
        'class',
        'Status',
        'Delivery',
        'Failure Reason',
        'Failure Reason ID',
        'Provider Code',
        'Attempts',
        'Provider Message ID',
        'Created At',
        'Updated At',
      ],
      [
        'msg_1',
        "'+447400123456",
        "'@SUM(A1:A9)",
        'Year 3',
        'Failed',
        'Failed',
        'Unreachable Number',
        'unreachable',
        '30003',
        '2',
        'SM123',
        '2025-01-02T03:04:05.000Z',
        '2025-01-02T03:05:05.000Z',
      ],
      [
        'msg_2',
        "'+447508123456",
        '',
        '',
        'Delivered',
        'Delivered',
        '',
        '',
        '',
        '2',
        'SM123',
        '2025-01-02T03:04:05.000Z',
        '2025-01-02T03:05:05.000Z',
      ],
    ]);
  });

  it('should leave cells as written when neutralize is false', async () => {
    const csv = await text(messagesCsv([{ message: message() }], { neutralize: false }));
    expect(parse(csv)[1]?.[1]).toBe('+447400123456');
  });
});
