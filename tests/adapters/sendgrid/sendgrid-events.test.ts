import { StatusEventSchema } from 'campaign-lifecycle';
import { describe, expect, it } from 'vitest';
import { parseSendgridEvents } from '../../../adapters/sendgrid/index.js';

const base = {
  email: 'ada@example.com',
  timestamp: 1619651146,
  sg_event_id: 'ZXZlbnQtMQ',
  sg_message_id: 'qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0',
  message_id: 'msg_e1',
  campaign_id: 'cmp_e',
};
const one = (fields: Record<string, unknown>) => {
  const { events, rejected } = parseSendgridEvents([{ ...base, ...fields }]);
  expect(rejected).toEqual([]);
  expect(StatusEventSchema.safeParse(events[0]).success).toBe(true);
  return events[0]!;
};

describe('sendgrid: every event type', () => {
  it.each([
    ['processed', {}, { status: 'sending' }],
    ['delivered', { response: '250 OK' }, { status: 'delivered', detail: '250 OK' }],
    [
      'deferred',
      { response: '400 try again later', attempt: '5' },
      { status: 'deferred', attempt: 5, detail: '400 try again later' },
    ],
    [
      'bounce',
      { type: 'bounce', reason: '550 unknown user', status: '5.1.1' },
      { status: 'failed', reason: 'bounced', code: '5.1.1', providerStatus: 'bounce:bounce' },
    ],
    [
      'bounce',
      { type: 'bounce', bounce_classification: 'Invalid Address', status: '5.1.1' },
      { status: 'failed', reason: 'invalid_address', code: 'Invalid Address', providerStatus: 'bounce:bounce' },
    ],
    [
      'bounce',
      { type: 'blocked', reason: '552 5.2.2 over quota', status: '5.2.2' },
      { status: 'failed', reason: 'blocked', providerStatus: 'bounce:blocked' },
    ],
    ['bounce', { type: 'expired' }, { status: 'failed', reason: 'expired', providerStatus: 'bounce:expired' }],
    ['bounce', {}, { status: 'failed', reason: 'bounced', providerStatus: 'bounce' }],
    [
      'dropped',
      { reason: 'Bounced Address', status: '5.0.0' },
      { status: 'failed', reason: 'dropped', code: '5.0.0', detail: 'Bounced Address' },
    ],
    ['dropped', { reason: 'Invalid' }, { status: 'failed', reason: 'invalid_address' }],
    ['dropped', { reason: 'Unsubscribed Address' }, { status: 'failed', reason: 'opted_out' }],
    ['dropped', { reason: 'Spam Reporting Address' }, { status: 'failed', reason: 'dropped' }],
    ['unsubscribe', {}, { status: 'opted_out', providerStatus: 'unsubscribe' }],
    ['group_unsubscribe', { asm_group_id: 7 }, { status: 'opted_out', providerStatus: 'group_unsubscribe' }],
    ['spamreport', {}, { status: 'opted_out', providerStatus: 'spamreport' }],
    ['open', { sg_machine_open: false }, { status: 'engagement', engagement: 'open' }],
    ['click', { url: 'https://school.example/dates' }, { status: 'engagement', engagement: 'click' }],
  ])('should map %s %j', (event, fields, expected) => {
    expect(one({ event, ...fields })).toMatchObject({
      type: 'status',
      channel: 'email',
      messageId: 'msg_e1',
      providerMessageId: 'qNwBLgPQQjW6DJvKQwSAbw',
      eventId: 'ZXZlbnQtMQ',
      occurredAt: 1619651146000,
      providerStatus: event,
      ...expected,
    });
  });

  it('should name the message by the sg_message_id prefix alone when the custom arg is missing', () => {
    const { message_id: _omit, ...withoutId } = base;
    const { events } = parseSendgridEvents([{ ...withoutId, event: 'delivered' }]);
    expect(events[0]?.messageId).toBeUndefined();
    expect(events[0]?.providerMessageId).toBe('qNwBLgPQQjW6DJvKQwSAbw');
  });
});

describe('sendgrid: bad and unknown input', () => {
  it('should list unknown types, non-objects and events naming no message in rejected, never throwing', () => {
    const { events, rejected } = parseSendgridEvents([
      { ...base, event: 'delivered' },
      { ...base, event: 'group_resubscribe', email: undefined }, // no address to opt back in
      { ...base, event: 'brand_new_event' },
      'junk',
      null,
      { ...base, event: undefined },
      { email: 'x@example.com', event: 'delivered', timestamp: 1 },
    ]);
    expect(events).toHaveLength(1);
    expect(rejected.map((r) => r.index)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rejected[1]?.reason).toContain('brand_new_event');
  });

  it.each([{}, 'text', null, 42])('should refuse a body that is not an array (%j) as VALIDATION_FAILED', (body) => {
    expect(() => parseSendgridEvents(body)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});

describe('sendgrid: dedupe keys', () => {
  it('should give the same event the same content key under a new sg_event_id (a retried batch)', () => {
    const a = one({ event: 'bounce', type: 'bounce', reason: '550 no such user' });
    const b = one({ event: 'bounce', type: 'bounce', reason: '550 no such user', sg_event_id: 'bmV3LWlk' });
    expect(a.eventId).not.toBe(b.eventId);
    expect(a.dedupeKey).toBe(b.dedupeKey);
  });

  it('should tell apart events that differ in type, reason, attempt, time or url', () => {
    const keys = [
      one({ event: 'deferred', attempt: '1' }),
      one({ event: 'deferred', attempt: '2' }),
      one({ event: 'bounce', type: 'bounce' }),
      one({ event: 'bounce', type: 'blocked' }),
      one({ event: 'bounce', type: 'bounce', reason: 'other' }),
      one({ event: 'delivered' }),
      one({ event: 'delivered', timestamp: 1619651147 }),
      one({ event: 'click', url: 'https://a.example' }),
      one({ event: 'click', url: 'https://b.example' }),
    ].map((e) => e.dedupeKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('should keep the dedupe key and detail within the schema limits for long reasons', () => {
    const e = one({ event: 'bounce', reason: 'x'.repeat(5000), sg_message_id: `${'y'.repeat(250)}.filter` });
    expect(e.dedupeKey!.length).toBeLessThanOrEqual(500);
    expect(e.detail!.length).toBeLessThanOrEqual(2000);
  });
});
