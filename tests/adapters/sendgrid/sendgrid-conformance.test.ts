import { sampleEmail, transportConformanceSuite } from 'campaign-lifecycle/testing';
import { describe, it } from 'vitest';
import { sendgridTransport } from '../../../adapters/sendgrid/index.js';
import { fakeProvider, json } from '../../support/loopback-http.js';

/** A loopback v3 mail send: 202 with a fresh X-Message-Id, except for the addresses that script a failure. */
async function fakeMailSendApi() {
  let id = 0;
  return fakeProvider((request, res) => {
    const to = (JSON.parse(request.body) as { personalizations: { to: { email: string }[] }[] }).personalizations[0]
      ?.to[0]?.email;
    if (to === 'invalid@example.com') {
      return json(res, 400, {
        errors: [{ message: 'Does not contain a valid address.', field: 'personalizations.0.to', help: null }],
      });
    }
    if (to === 'busy@example.com') return json(res, 503, { errors: [{ message: 'Service unavailable', field: null }] });
    if (to === 'lost@example.com') return 'hang';
    res.writeHead(202, { 'x-message-id': `sgmsg${String(++id).padStart(16, '0')}` });
    res.end();
  });
}

transportConformanceSuite(
  { describe, it },
  {
    name: 'sendgrid transport against a loopback mail send API',
    create: async () => {
      const api = await fakeMailSendApi();
      return {
        transport: sendgridTransport({ apiKey: 'SG.test', baseUrl: api.url, timeoutMs: 2_000 }),
        scenarios: [
          { message: sampleEmail({ to: 'ada@example.com' }), expect: 'accepted' },
          { message: sampleEmail({ to: 'invalid@example.com' }), expect: 'rejected', reason: 'invalid_address' },
          { message: sampleEmail({ to: 'busy@example.com' }), expect: 'presend' },
          { message: sampleEmail({ to: 'lost@example.com' }), expect: 'unknown' },
        ],
        dispose: api.close,
      };
    },
  },
);
