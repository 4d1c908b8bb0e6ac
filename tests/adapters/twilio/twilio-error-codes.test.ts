/**
 * The Twilio error codes the catalogue review found unmapped or misread, through the parser, the
 * transport and a manual retry.
 */
import { sampleSms } from 'campaign-lifecycle/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseTwilioStatusCallback,
  reasonForTwilioCode,
  TWILIO_ERROR_CODES,
  twilioTransport,
} from '../../../adapters/twilio/index.js';
import { harness, phone, readyCampaign, statusesOf } from '../../support/harness.js';
import { fakeProvider, json, type Loopback } from '../../support/loopback-http.js';

let server: Loopback | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const transportFor = (url: string) =>
  twilioTransport({
    accountSid: 'AC0123456789abcdef0123456789abcdef',
    authToken: 'token',
    messagingServiceSid: 'MG0123456789abcdef0123456789abcdef',
    statusCallbackUrl: 'https://hooks.example.com/twilio',
    baseUrl: url,
  });

describe('twilio: error codes from the catalogue', () => {
  it.each([
    ['21606', 'sender_config'],
    ['21608', 'sender_config'],
    ['21611', 'throttled'],
    ['21617', 'content_rejected'],
    ['21635', 'landline_or_unreachable_carrier'],
    ['21703', 'sender_config'],
    ['21704', 'sender_config'],
    ['30017', 'provider_error'],
    ['30020', 'provider_error'],
    ['30021', 'provider_error'],
    ['30033', 'sender_config'],
    ['30035', 'sender_config'],
    ['30450', 'temporarily_blocked'],
  ])('should read a callback with ErrorCode %s as %s, keeping the raw code', (code, reason) => {
    const event = parseTwilioStatusCallback(
      { MessageSid: 'SM1', MessageStatus: 'undelivered', ErrorCode: code },
      { url: 'https://hooks.example.com/twilio?messageId=msg_1' },
    );
    expect(event).toMatchObject({ status: 'failed', reason, code });
    expect(reasonForTwilioCode(Number(code))).toBe(reason);
  });

  it.each([
    [21617, 'content_rejected'],
    [21606, 'sender_config'],
    [21611, 'throttled'],
  ])('should report a create refused with code %i as %s, not failed_to_create', async (code, reason) => {
    server = await fakeProvider((_r, res) => json(res, 400, { code, message: `Twilio says ${code}`, status: 400 }));
    expect(await transportFor(server.url).send(sampleSms())).toMatchObject({
      outcome: 'rejected',
      reason,
      code: String(code),
    });
  });

  it('should report 21704 (the Messaging Service contains no phone numbers) as fatal: no message can go', async () => {
    server = await fakeProvider((_r, res) =>
      json(res, 400, { code: 21704, message: 'The Messaging Service contains no phone numbers', status: 400 }),
    );
    const result = await transportFor(server.url).send(sampleSms());
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'sender_config', code: '21704', fatal: true });
    expect(result.outcome === 'rejected' && result.error).toMatch(/Add a sender to the Messaging Service/);
  });

  it('should let a message failed with 30450 (temporarily blocked) be retried by hand, and not one failed with 30006', async () => {
    expect(TWILIO_ERROR_CODES['30450']?.retryable).toBe(true);
    const { outreach, clock } = harness({
      sms: {
        byAddress: {
          [phone(0)]: { kind: 'undelivered', code: '30450' },
          [phone(1)]: { kind: 'undelivered', code: '30006' },
        },
      },
    });
    const c = await readyCampaign(outreach, 'sms', 2);
    await outreach.run(c.id);
    await clock.advance('1m');
    expect(await statusesOf(outreach, c.id)).toEqual({ failed: 2 });
    expect(await outreach.retryFailed(c.id)).toMatchObject({ retried: 1, skipped: 1 });
  });
});
