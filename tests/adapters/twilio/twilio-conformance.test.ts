import { sampleSms, transportConformanceSuite } from 'campaign-lifecycle/testing';
import { describe, it } from 'vitest';
import { twilioTransport } from '../../../adapters/twilio/index.js';
import { fakeProvider, json } from '../../support/loopback-http.js';

/** The send window of the lookups: dispatched 20 minutes ago, so the window has long closed. */
const dispatchedAt = Date.now() - 20 * 60_000;
const window = { dispatchedAt, startedBy: dispatchedAt + 30_000 };

/**
 * A loopback Messages API: 201 with a fresh sid, except for the numbers that script a failure; the list
 * holds one message to +14155550100, created just after the lookups' dispatch.
 */
async function fakeTwilioApi() {
  let sid = 0;
  return fakeProvider((request, res) => {
    if (request.method === 'GET') {
      const to = new URL(request.path, 'http://x').searchParams.get('To');
      const held = {
        sid: 'SM0000000000000000000000000000beef',
        to: '+14155550100',
        from: '+14155550000',
        body: 'Conformance test',
        status: 'delivered',
        error_code: null,
        date_created: new Date(dispatchedAt + 1000).toUTCString().replace('GMT', '+0000'),
      };
      return json(res, 200, { messages: to === held.to ? [held] : [], next_page_uri: null });
    }
    const to = new URLSearchParams(request.body).get('To');
    if (to === '+14155550101')
      return json(res, 400, { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 });
    if (to === '+14155550102') return json(res, 503, { message: 'Service unavailable' });
    if (to === '+14155550103') return 'hang';
    return json(res, 201, { sid: `SM${String(++sid).padStart(32, '0')}`, status: 'queued' });
  });
}

transportConformanceSuite(
  { describe, it },
  {
    name: 'twilio transport against a loopback Messages API',
    create: async () => {
      const api = await fakeTwilioApi();
      return {
        transport: twilioTransport({
          accountSid: 'AC00000000000000000000000000000000',
          authToken: 'test-token',
          from: '+14155550000',
          statusCallbackUrl: 'https://hooks.example.com/twilio',
          baseUrl: api.url,
          timeoutMs: 2_000,
        }),
        scenarios: [
          { message: sampleSms({ to: '+14155550100' }), expect: 'accepted' },
          { message: sampleSms({ to: '+14155550101' }), expect: 'rejected', reason: 'invalid_number' },
          { message: sampleSms({ to: '+14155550102' }), expect: 'presend' },
          { message: sampleSms({ to: '+14155550103' }), expect: 'unknown' },
        ],
        lookups: [
          {
            message: sampleSms({ to: '+14155550100' }),
            options: window,
            expect: 'found',
            providerMessageId: 'SM0000000000000000000000000000beef',
          },
          { message: sampleSms({ to: '+14155550104' }), options: window, expect: 'absent' },
          { message: sampleSms({ to: '+14155550100', body: 'Another body' }), options: window, expect: 'undecidable' },
        ],
        dispose: api.close,
      };
    },
  },
);
