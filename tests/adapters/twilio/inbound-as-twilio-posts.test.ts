/**
 * Inbound messages shaped exactly as Twilio posts them (every parameter of the incoming-message
 * webhook, `SmsStatus=received` included), through the real handler over loopback HTTP into the
 * real engine: STOP must suppress the number, START lift it, HELP/INFO change nothing.
 */
import { readFileSync } from 'node:fs';
import { createOutreach, type EventSink, type Outreach, type ProviderEvent } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { isTwilioInbound, parseTwilioInbound, twilioWebhookHandler } from '../../../adapters/twilio/index.js';
import { serveWebHandler } from '../../support/loopback-http.js';

const TOKEN = 'auth-token-for-inbound-tests';
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/providers/twilio-inbound-message.json', import.meta.url), 'utf8'),
) as { params: Record<string, string> };
const FROM = fixture.params.From as string;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function world(scope?: string) {
  const outreach: Outreach = createOutreach({ storage: memoryStorage(), clock: createFakeClock(), transports: {} });
  const seen: ProviderEvent[] = [];
  const sink: EventSink = {
    async ingest(events) {
      seen.push(...events);
      return outreach.ingest(events);
    },
  };
  const server = await serveWebHandler(
    twilioWebhookHandler({ outreach: sink, authToken: TOKEN, ...(scope ? { scope } : {}) }),
  );
  close = server.close;
  const hook = `${server.url}/twilio/inbound`;
  let n = 0;
  /** Posts the fixture with `changes` applied (undefined removes a parameter), signed as Twilio signs it. */
  const inbound = async (changes: Record<string, string | undefined>) => {
    n++;
    const params: Record<string, string> = {
      ...fixture.params,
      MessageSid: `SM${String(n).padStart(32, '0')}`,
      SmsSid: `SM${String(n).padStart(32, '0')}`,
      SmsMessageSid: `SM${String(n).padStart(32, '0')}`,
    };
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete params[k];
      else params[k] = v;
    }
    const res = await fetch(hook, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, hook, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };
  const suppressed = () => outreach.isSuppressed({ channel: 'sms', address: FROM, ...(scope ? { scope } : {}) });
  return { inbound, suppressed, seen };
}

describe('twilio: inbound messages as Twilio posts them (SmsStatus=received)', () => {
  it('should suppress the number on a STOP posted with SmsStatus=received and answer TwiML', async () => {
    const { inbound, suppressed, seen } = await world();
    expect(await suppressed()).toBe(false);
    const res = await inbound({ Body: 'STOP' });
    expect(res).toEqual({ status: 200, type: 'text/xml; charset=utf-8', body: EMPTY_TWIML });
    expect(await suppressed()).toBe(true);
    // No status event for a message nobody sent: only the opt-out.
    expect(seen).toEqual([expect.objectContaining({ type: 'suppression', action: 'opt_out', address: FROM })]);
  });

  it('should lift the opt-out on a START posted with SmsStatus=received', async () => {
    const { inbound, suppressed } = await world();
    await inbound({ Body: 'STOP' });
    expect(await suppressed()).toBe(true);
    expect((await inbound({ Body: 'START' })).body).toBe(EMPTY_TWIML);
    expect(await suppressed()).toBe(false);
  });

  it.each([
    'stop',
    'Stop',
    'sToP',
    ' STOP ',
    'STOP\n',
    '\tstop\r\n',
    '\u00a0STOP\u00a0',
    'STOPALL',
    'unsubscribe',
    'Cancel',
    'END',
    'quit',
    'REVOKE',
    'optout',
  ])('should opt out on the single-word keyword %j', async (body) => {
    const { inbound, suppressed } = await world();
    await inbound({ Body: body });
    expect(await suppressed()).toBe(true);
  });

  it.each(['START', 'start', ' Yes ', 'UNSTOP\n', 'unstop'])('should opt back in on %j', async (body) => {
    const { inbound, suppressed } = await world();
    await inbound({ Body: 'STOP' });
    await inbound({ Body: body });
    expect(await suppressed()).toBe(false);
  });

  it.each(['STOP PLEASE', 'please stop', 'stop.', 'STOP!', 'Can you stop by tomorrow?', 'S T O P', 'STOPP', ''])(
    'should change nothing for %j (not a single keyword) and still answer TwiML',
    async (body) => {
      const { inbound, suppressed, seen } = await world();
      const res = await inbound({ Body: body });
      expect(res.body).toBe(EMPTY_TWIML);
      expect(await suppressed()).toBe(false);
      expect(seen).toEqual([]);
    },
  );

  it.each(['HELP', 'help', 'INFO', ' info '])(
    'should not change the suppression on %j, whether the number opted out or not',
    async (body) => {
      const { inbound, suppressed, seen } = await world();
      expect((await inbound({ Body: body })).body).toBe(EMPTY_TWIML);
      expect(await suppressed()).toBe(false);
      await inbound({ Body: 'STOP' });
      seen.length = 0;
      await inbound({ Body: body });
      expect(await suppressed()).toBe(true);
      expect(seen).toEqual([]);
    },
  );

  it('should follow OptOutType under Advanced Opt-Out: custom keywords STOP and START, HELP no change', async () => {
    const { inbound, suppressed } = await world();
    await inbound({ Body: 'remove me', OptOutType: 'STOP' });
    expect(await suppressed()).toBe(true);
    await inbound({ Body: 'HELP', OptOutType: 'HELP' });
    expect(await suppressed()).toBe(true);
    await inbound({ Body: 'subscribe me', OptOutType: 'START' });
    expect(await suppressed()).toBe(false);
    await inbound({ Body: 'help', OptOutType: 'HELP' });
    expect(await suppressed()).toBe(false);
  });

  it('should record the opt-out in the handler scope', async () => {
    const { inbound, suppressed } = await world('school-a');
    await inbound({ Body: 'stop' });
    expect(await suppressed()).toBe(true);
  });

  it('should take a STOP as inbound with or without SmsStatus, and whatever MessagingServiceSid says', async () => {
    for (const changes of [
      { SmsStatus: undefined },
      { MessagingServiceSid: undefined },
      { SmsStatus: 'RECEIVED' },
      { NumMedia: '1', MediaUrl0: 'https://api.twilio.com/media/ME1', MediaContentType0: 'image/jpeg' },
    ]) {
      const { inbound, suppressed } = await world();
      await inbound({ Body: 'STOP', ...changes });
      expect(await suppressed()).toBe(true);
      await close?.();
      close = undefined;
    }
  });

  it('should still read a status callback that carries SmsStatus beside MessageStatus as a status', () => {
    const callback = new URLSearchParams({
      SmsSid: 'SM1',
      SmsStatus: 'sent',
      MessageStatus: 'sent',
      MessageSid: 'SM1',
      AccountSid: 'AC1',
      From: '+14155550000',
      To: '+14155550123',
      ApiVersion: '2010-04-01',
    });
    expect(isTwilioInbound(callback)).toBe(false);
    expect(isTwilioInbound(new URLSearchParams(fixture.params))).toBe(true);
    expect(parseTwilioInbound(new URLSearchParams(fixture.params))).toEqual(
      expect.objectContaining({ action: 'opt_out', channel: 'sms', address: FROM, source: 'twilio_inbound' }),
    );
  });
});
