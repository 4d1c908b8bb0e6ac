import { sampleSms, transportConformanceSuite } from 'campaign-lifecycle/testing';
import { describe, it } from 'vitest';
import { twilioTransport } from '../../adapters/twilio/index.js';
import { fakeProvider, json } from '../twilio/loopback-http.js';

/** A loopback Messages API: 201 with a fresh sid, except for the numbers that script a failure. */
async function fakeTwilioApi() {
  let sid = 0;
  return fakeProvider((request, res) => {
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
          timeoutMs: 300,
        }),
        scenarios: [
          { message: sampleSms({ to: '+14155550100' }), expect: 'accepted' },
          { message: sampleSms({ to: '+14155550101' }), expect: 'rejected', reason: 'invalid_number' },
          { message: sampleSms({ to: '+14155550102' }), expect: 'presend' },
          { message: sampleSms({ to: '+14155550103' }), expect: 'unknown' },
        ],
        dispose: api.close,
      };
    },
  },
);
