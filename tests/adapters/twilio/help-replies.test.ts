/**
 * HELP/INFO replies (issue 20, CTIA): the Twilio webhook handler answers them with the configured
 * TwiML and changes no suppression. Inbound messages shaped as Twilio posts them
 * (tests/fixtures/providers/twilio-inbound-message.json), signed, through the real handler over
 * loopback HTTP into the real engine.
 */
import { readFileSync } from 'node:fs';
import { createOutreach, isOutreachError, type Outreach, type ProviderEvent } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { type TwilioWebhookHandlerOptions, twilioWebhookHandler } from '../../../adapters/twilio/index.js';
import { serveWebHandler } from '../../support/loopback-http.js';

const TOKEN = 'auth-token-for-help-tests';
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/providers/twilio-inbound-message.json', import.meta.url), 'utf8'),
) as { params: Record<string, string> };
const FROM = fixture.params.From as string;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
const HELP_TEXT = 'Springfield Schools alerts. Help: 555-0100. Msg&data rates may apply. Reply STOP to opt out.';
const HELP_TWIML = `<?xml version="1.0" encoding="UTF-8"?><Response><Message>Springfield Schools alerts. Help: 555-0100. Msg&amp;data rates may apply. Reply STOP to opt out.</Message></Response>`;

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function world(options: Partial<TwilioWebhookHandlerOptions> = {}) {
  const outreach: Outreach = createOutreach({ storage: memoryStorage(), clock: createFakeClock(), transports: {} });
  const seen: ProviderEvent[] = [];
  const server = await serveWebHandler(
    twilioWebhookHandler({
      outreach: {
        async ingest(events) {
          seen.push(...events);
          return outreach.ingest(events);
        },
      },
      authToken: TOKEN,
      ...options,
    }),
  );
  close = server.close;
  const hook = `${server.url}/twilio/inbound`;
  let n = 0;
  const inbound = async (changes: Record<string, string | undefined>) => {
    n++;
    const sid = `SM${String(n).padStart(32, '0')}`;
    const params: Record<string, string> = { ...fixture.params, MessageSid: sid, SmsSid: sid, SmsMessageSid: sid };
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
  const suppressed = () => outreach.isSuppressed({ channel: 'sms', address: FROM });
  return { outreach, inbound, suppressed, seen };
}

describe('twilio: HELP/INFO replies get the configured answer and change no suppression', () => {
  it.each(['HELP', 'help', ' Info ', 'INFO'])(
    'should answer %j with the helpReply message as TwiML, XML-escaped',
    async (body) => {
      const { inbound, seen } = await world({ helpReply: HELP_TEXT });
      expect(await inbound({ Body: body })).toEqual({ status: 200, type: 'text/xml; charset=utf-8', body: HELP_TWIML });
      expect(seen).toEqual([]);
    },
  );

  it('should answer with a whole TwiML document as given', async () => {
    const twiml = '<Response><Message>Call 555-0100.</Message><Redirect>https://example.org/help</Redirect></Response>';
    const { inbound } = await world({ helpReply: { twiml } });
    expect((await inbound({ Body: 'HELP' })).body).toBe(twiml);
  });

  it('should leave a suppressed number suppressed, and an unsuppressed one unsuppressed, on HELP', async () => {
    const { inbound, suppressed } = await world({ helpReply: HELP_TEXT });
    await inbound({ Body: 'HELP' });
    expect(await suppressed()).toBe(false);
    await inbound({ Body: 'STOP' });
    expect(await suppressed()).toBe(true);
    expect((await inbound({ Body: 'INFO' })).body).toBe(HELP_TWIML);
    expect(await suppressed()).toBe(true);
  });

  it("should answer an empty Response when Twilio's Advanced Opt-Out already answered HELP (OptOutType=HELP)", async () => {
    const { inbound, seen, suppressed } = await world({ helpReply: HELP_TEXT });
    expect((await inbound({ Body: 'HELP', OptOutType: 'HELP' })).body).toBe(EMPTY_TWIML);
    expect(seen).toEqual([]);
    expect(await suppressed()).toBe(false);
  });

  it('should not answer a reply that only contains the word, nor STOP, with the help text', async () => {
    const { inbound } = await world({ helpReply: HELP_TEXT });
    expect((await inbound({ Body: 'HELP ME PLEASE' })).body).toBe(EMPTY_TWIML);
    expect((await inbound({ Body: 'STOP' })).body).toBe(EMPTY_TWIML);
  });

  it('should answer HELP with an empty Response when no helpReply is configured', async () => {
    const { inbound } = await world();
    expect((await inbound({ Body: 'HELP' })).body).toBe(EMPTY_TWIML);
  });

  it.each([
    ['an empty message', ''],
    ['a message over 1,600 characters', 'x'.repeat(1601)],
    ['TwiML that is not a Response', { twiml: '<Message>hi</Message>' }],
  ])('should refuse %s at startup with CONFIGURATION_ERROR', (_name, helpReply) => {
    try {
      twilioWebhookHandler({
        outreach: { ingest: async () => ({ applied: 0, duplicates: 0, ignored: 0, unmatched: 0 }) },
        authToken: TOKEN,
        helpReply: helpReply as TwilioWebhookHandlerOptions['helpReply'],
      });
      expect.unreachable();
    } catch (error) {
      expect(isOutreachError(error) && error.code).toBe('CONFIGURATION_ERROR');
    }
  });
});
