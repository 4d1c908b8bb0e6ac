import { StatusEventSchema, SuppressionEventSchema } from 'campaign-lifecycle';
import { describe, expect, it } from 'vitest';
import {
  parseTwilioInbound,
  parseTwilioStatusCallback,
  TWILIO_ERROR_CODES,
  TWILIO_OPT_IN_KEYWORDS,
  TWILIO_OPT_OUT_KEYWORDS,
} from '../../../adapters/twilio/index.js';

const URL_ = 'https://hooks.example.com/twilio?messageId=msg_42';
const form = (fields: Record<string, string>) =>
  new URLSearchParams({ AccountSid: 'AC1', From: '+15005550006', To: '+14155550100', MessageSid: 'SM42', ...fields });

describe('twilio: status callbacks, every MessageStatus', () => {
  it.each([
    ['accepted', 'sending'],
    ['scheduled', 'sending'],
    ['queued', 'sending'],
    ['sending', 'sending'],
    ['sent', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'delivered'],
    ['undelivered', 'failed'],
    ['failed', 'failed'],
    ['canceled', 'failed'],
    ['receiving', 'sending'],
    ['received', 'sending'],
    ['partially_delivered', 'sending'],
    ['some_future_status', 'sending'],
  ])('should map %s to %s and keep the raw status', (raw, status) => {
    const event = parseTwilioStatusCallback(form({ MessageStatus: raw }), { url: URL_ });
    expect(event).toMatchObject({
      type: 'status',
      channel: 'sms',
      status,
      providerStatus: raw,
      messageId: 'msg_42',
      providerMessageId: 'SM42',
    });
    expect(StatusEventSchema.safeParse(event).success).toBe(true);
  });

  it('should keep the fact that a WhatsApp or RCS message was read (read: true) and mark no other status read', () => {
    const read = parseTwilioStatusCallback(form({ MessageStatus: 'read' }), { url: URL_ });
    expect(read).toMatchObject({ status: 'delivered', read: true });
    expect(StatusEventSchema.safeParse(read).success).toBe(true);
    expect(parseTwilioStatusCallback(form({ MessageStatus: 'delivered' }), { url: URL_ }).read).toBeUndefined();
  });

  it('should fail a canceled message with reason unknown', () => {
    expect(parseTwilioStatusCallback(form({ MessageStatus: 'canceled' }), { url: URL_ }).reason).toBe('unknown');
  });
});

describe('twilio: status callbacks, every mapped ErrorCode', () => {
  it.each(Object.entries(TWILIO_ERROR_CODES).map(([code, e]) => [code, e.reason]))(
    'should map ErrorCode %s to %s on undelivered and failed',
    (code, reason) => {
      for (const status of ['undelivered', 'failed']) {
        const event = parseTwilioStatusCallback(
          form({ MessageStatus: status, ErrorCode: code, ErrorMessage: 'carrier says no' }),
          { url: URL_ },
        );
        expect(event).toMatchObject({ status: 'failed', reason, code, detail: 'carrier says no' });
      }
    },
  );

  it.each(['30003', '30004', '30005', '30006', '30007', '30008', '30009'])(
    'should keep the seed reason of %s',
    (code) => {
      expect(
        parseTwilioStatusCallback(form({ MessageStatus: 'undelivered', ErrorCode: code }), { url: URL_ }).reason,
      ).toBe(TWILIO_ERROR_CODES[code]?.reason);
    },
  );

  it('should map an unknown error code to reason unknown and keep the raw code, without throwing', () => {
    const event = parseTwilioStatusCallback(form({ MessageStatus: 'undelivered', ErrorCode: '39999' }), { url: URL_ });
    expect(event).toMatchObject({ status: 'failed', reason: 'unknown', code: '39999' });
  });

  it('should fail with reason unknown when ErrorCode is missing', () => {
    const event = parseTwilioStatusCallback(form({ MessageStatus: 'failed' }), { url: URL_ });
    expect(event).toMatchObject({ status: 'failed', reason: 'unknown' });
    expect(event.code).toBeUndefined();
  });
});

describe('twilio: status callback identity and dedupe', () => {
  it('should take our id from the URL, else from a body parameter, else name the message by MessageSid only', () => {
    expect(parseTwilioStatusCallback(form({ MessageStatus: 'sent' }), { url: new URL(URL_) }).messageId).toBe('msg_42');
    expect(parseTwilioStatusCallback(form({ MessageStatus: 'sent', messageId: 'msg_body' })).messageId).toBe(
      'msg_body',
    );
    const bySid = parseTwilioStatusCallback(
      { MessageStatus: 'sent', MessageSid: 'SM9' },
      { url: 'https://x.example/t' },
    );
    expect(bySid.messageId).toBeUndefined();
    expect(bySid.providerMessageId).toBe('SM9');
  });

  it('should build the dedupe key from MessageSid, status, ErrorCode and RawDlrDoneDate', () => {
    const a = parseTwilioStatusCallback(form({ MessageStatus: 'delivered', RawDlrDoneDate: '2303072155' }), {
      url: URL_,
    });
    const b = parseTwilioStatusCallback(
      form({ MessageStatus: 'delivered', RawDlrDoneDate: '2303072155', ApiVersion: '2010-04-01' }),
      { url: URL_ },
    );
    const c = parseTwilioStatusCallback(form({ MessageStatus: 'delivered', RawDlrDoneDate: '2303072156' }), {
      url: URL_,
    });
    const d = parseTwilioStatusCallback(form({ MessageStatus: 'undelivered', ErrorCode: '30003' }), { url: URL_ });
    const e = parseTwilioStatusCallback(form({ MessageStatus: 'undelivered', ErrorCode: '30005' }), { url: URL_ });
    expect(a.dedupeKey).toBe(b.dedupeKey);
    expect(new Set([a.dedupeKey, c.dedupeKey, d.dedupeKey, e.dedupeKey]).size).toBe(4);
  });

  it('should keep I-Twilio-Idempotency-Token as the event id', () => {
    const event = parseTwilioStatusCallback(form({ MessageStatus: 'sent' }), {
      url: URL_,
      idempotencyToken: 'tok-123',
    });
    expect(event.eventId).toBe('tok-123');
    expect(parseTwilioStatusCallback(form({ MessageStatus: 'sent' }), { url: URL_ }).eventId).toBeUndefined();
  });

  it.each([
    ['no MessageStatus', { MessageSid: 'SM1' }, URL_],
    ['no message id and no MessageSid', { MessageStatus: 'sent' }, 'https://x.example/t'],
  ])('should refuse a callback with %s as VALIDATION_FAILED', (_name, fields, url) => {
    expect(() => parseTwilioStatusCallback(fields, { url })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});

describe('twilio: inbound STOP / START', () => {
  const inbound = (fields: Record<string, string>) =>
    new URLSearchParams({ MessageSid: 'SMin1', From: '+14155550100', To: '+15005550006', ...fields });

  it('should turn OptOutType=STOP into an opt-out of the sender, whatever the keyword, keeping the text received', () => {
    const event = parseTwilioInbound(inbound({ Body: 'arret', OptOutType: 'STOP' }), { scope: 'school-1' });
    expect(event).toEqual({
      type: 'suppression',
      action: 'opt_out',
      channel: 'sms',
      address: '+14155550100',
      scope: 'school-1',
      source: 'twilio_inbound',
      eventId: 'twilio-inbound:SMin1',
      text: 'arret',
    });
    expect(SuppressionEventSchema.safeParse(event).success).toBe(true);
  });

  it('should keep an OptOutType=STOP opt-out whose text would not pass the checks, leaving the text out', () => {
    const event = parseTwilioInbound(inbound({ Body: 'arr\u0000et', OptOutType: 'STOP' }));
    expect(event?.action).toBe('opt_out');
    expect(event?.text).toBeUndefined();
    expect(SuppressionEventSchema.safeParse(event).success).toBe(true);
  });

  it('should turn OptOutType=START into an opt-in, and ignore HELP', () => {
    expect(parseTwilioInbound(inbound({ Body: 'start', OptOutType: 'START' }))?.action).toBe('opt_in');
    expect(parseTwilioInbound(inbound({ Body: 'help', OptOutType: 'HELP' }))).toBeNull();
  });

  it.each(TWILIO_OPT_OUT_KEYWORDS)('should opt out on the single word %s without OptOutType', (word) => {
    expect(parseTwilioInbound(inbound({ Body: ` ${word.toLowerCase()} ` }))?.action).toBe('opt_out');
  });

  it.each(TWILIO_OPT_IN_KEYWORDS)('should opt in on the single word %s without OptOutType', (word) => {
    expect(parseTwilioInbound(inbound({ Body: word }))?.action).toBe('opt_in');
  });

  it.each(['STOP PLEASE', 'Thanks!', 'HELP', ''])('should ignore the reply %j', (body) => {
    expect(parseTwilioInbound(inbound({ Body: body }))).toBeNull();
  });

  it('should refuse an opt-out without From as VALIDATION_FAILED', () => {
    expect(() => parseTwilioInbound({ Body: 'STOP' })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
