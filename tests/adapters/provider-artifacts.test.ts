/**
 * Conformance against what Twilio and SendGrid published, not against our own reading of them:
 * the OpenAPI request schemas and enums, the official SDKs' signature test vectors, Twilio's error
 * catalogue, and the Event Webhook reference's sample events (tests/fixtures/providers, sources in
 * SOURCE.md). Where an artifact lists a value the adapters do not handle, a test here fails.
 */
import { readFileSync } from 'node:fs';
import { FAILURE_REASONS, StatusEventSchema, SuppressionEventSchema } from 'campaign-lifecycle';
import { sampleEmail, sampleSms } from 'campaign-lifecycle/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseSendgridEvents,
  SENDGRID_DROP_REASONS,
  SENDGRID_EVENT_MAP,
  SENDGRID_SUPPRESSION_EVENT_MAP,
  sendgridTransport,
  verifySendgridSignature,
} from '../../adapters/sendgrid/index.js';
import {
  isTwilioInbound,
  parseTwilioStatusCallback,
  TWILIO_ERROR_CODES,
  TWILIO_STATUS_MAP,
  twilioTransport,
  verifyTwilioSignature,
} from '../../adapters/twilio/index.js';
import { fakeProvider, json, type Loopback } from '../support/loopback-http.js';
import { checkSchema, formObject, type Schema } from '../support/schema-check.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../fixtures/providers/${name}`, import.meta.url), 'utf8')) as T;

const twilioApi = fixture<{
  path: string;
  requestSchema: Schema;
  responses: string[];
  responseFields: string[];
  messageStatusEnum: string[];
}>('twilio-api-v2010-messages.json');
const catalogue = fixture<{ errors: { code: number; message: string; description: string }[] }>(
  'twilio-error-catalogue.json',
);
const twilioVectors = fixture<{
  authToken: string;
  url: string;
  params: Record<string, string>;
  signature: string;
  jsonBody: string;
  jsonBodySha256: string;
  jsonBodySignature: string;
  emptyBody: string;
  emptyBodySha256: string;
  emptyBodySignature: string;
}>('twilio-signature-vectors.json');
const mailSend = fixture<{
  path: string;
  requestSchema: Schema;
  responses: Record<string, { description: string; examples: unknown[] | null }>;
}>('sendgrid-mail-send.json');
const webhookSettings = fixture<{ eventTypeSettings: string[] }>('sendgrid-event-webhook-settings.json');
const samples = fixture<{
  eachType: Record<string, unknown>[];
  singleSend: Record<string, unknown>[];
  dropReasons: string[];
}>('sendgrid-event-webhook-samples.json');
type SendgridVector = { publicKey: string; signature: string; timestamp: string; payload: string };
const sendgridVectors = fixture<{ single: SendgridVector; multiple: SendgridVector }>(
  'sendgrid-signature-vectors.json',
);

let servers: Loopback[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

async function serve(script: Parameters<typeof fakeProvider>[0]) {
  const server = await fakeProvider(script);
  servers.push(server);
  return server;
}

describe('Twilio OpenAPI api_v2010: create Message', () => {
  const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
  const SERVICE = 'MG0123456789abcdef0123456789abcdef';

  it.each([
    ['a sender number', { from: '+14155550000' }, {}],
    ['a Messaging Service', { messagingServiceSid: SERVICE }, {}],
    ['a sender and a Messaging Service', { from: '+14155550000', messagingServiceSid: SERVICE }, {}],
    ['an alphanumeric sender id', { from: 'SCHOOL' }, {}],
    [
      'a callback URL with a query and a fragment',
      { from: '+14155550000' },
      { callback: 'https://hooks.example.com/t?a=1#rc=3' },
    ],
    ['a UCS-2 body with emoji', { from: '+14155550000' }, { body: 'École fermée 🎒 aujourd’hui' }],
    ['the message sender over the transport default', { from: '+14155550000' }, { messageFrom: '+14155550999' }],
  ])('should send a request that validates against the request schema: %s', async (_name, sender, extra) => {
    const api = await serve((_r, res) =>
      json(res, 201, { sid: 'SM0123456789abcdef0123456789abcdef', status: 'queued' }),
    );
    const e = extra as { callback?: string; body?: string; messageFrom?: string };
    const transport = twilioTransport({
      accountSid: ACCOUNT,
      authToken: 'token',
      ...sender,
      statusCallbackUrl: e.callback ?? 'https://hooks.example.com/twilio/status',
      baseUrl: api.url,
    });
    const result = await transport.send(
      sampleSms({ body: e.body ?? 'School is closed today.', ...(e.messageFrom ? { from: e.messageFrom } : {}) }),
    );
    expect(result.outcome).toBe('accepted');
    const [request] = api.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path.split('?')[0]).toBe(twilioApi.path.replace('{AccountSid}', ACCOUNT));
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(checkSchema(twilioApi.requestSchema, formObject(request?.body ?? ''), { strict: true, form: true })).toEqual(
      [],
    );
  });

  it('should be checked by a schema check that refuses what the schema refuses', () => {
    const schema = twilioApi.requestSchema;
    expect(checkSchema(schema, { Body: 'x' }, { strict: true, form: true })).toContain('$.To: required');
    expect(checkSchema(schema, { To: '+14155550100', Bodyy: 'x' }, { strict: true, form: true })).toEqual([
      '$.Bodyy: not a property of the schema',
    ]);
    expect(checkSchema(schema, { To: '+14155550100', MessagingServiceSid: 'MGnope' }, { form: true })).not.toEqual([]);
    expect(
      checkSchema(schema, { To: '+14155550100', StatusCallback: 'https://under_score.example/x' }, { form: true }),
    ).not.toEqual([]);
  });

  it('should read the sid of the 201 answer, a field the spec lists', () => {
    expect(twilioApi.responses).toEqual(['201']);
    expect(twilioApi.responseFields).toEqual(expect.arrayContaining(['sid', 'status', 'error_code']));
  });

  it.each(twilioApi.messageStatusEnum)('should handle the Message status %s of the spec', (status) => {
    expect(Object.hasOwn(TWILIO_STATUS_MAP, status)).toBe(true);
    const form = { MessageSid: 'SM1', SmsSid: 'SM1', MessageStatus: status, SmsStatus: status };
    if (status === 'received') {
      // Twilio posts inbound messages with this status: they go to the opt-out path.
      expect(isTwilioInbound(form)).toBe(true);
      return;
    }
    expect(isTwilioInbound(form)).toBe(false);
    const event = parseTwilioStatusCallback(form, { url: 'https://hooks.example.com/t?messageId=msg_1' });
    expect(StatusEventSchema.safeParse(event).success).toBe(true);
    expect(event.status).toBe(TWILIO_STATUS_MAP[status]);
    expect(event.providerStatus).toBe(status);
  });
});

describe("Twilio's error catalogue", () => {
  const byCode = new Map(catalogue.errors.map((e) => [String(e.code), e]));
  const source = readFileSync(new URL('../../adapters/twilio/twilio-error-codes.ts', import.meta.url), 'utf8');
  const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

  it.each(Object.entries(TWILIO_ERROR_CODES))('should map code %s under its catalogue title', (code, entry) => {
    const listed = byCode.get(code);
    expect(listed, `code ${code} is in the catalogue excerpt`).toBeDefined();
    expect(entry.title).toBe(listed?.message);
    expect(entry.retryable).toBe(FAILURE_REASONS[entry.reason].retryable);
  });

  it.each(catalogue.errors.map((e) => String(e.code)))('should map catalogue code %s', (code) => {
    expect(Object.hasOwn(TWILIO_ERROR_CODES, code)).toBe(true);
  });

  it.each(Object.keys(TWILIO_ERROR_CODES))('should quote the catalogue description of %s in the source', (code) => {
    const at = source.indexOf(`'${code}': code(`);
    expect(at).toBeGreaterThan(0);
    const comment = /\/\/ "(.+)"[^\n]*\n\s*$/.exec(source.slice(source.lastIndexOf('//', at), at));
    expect(comment, `a // "quote" above ${code}`).not.toBeNull();
    const description = squash(byCode.get(code)?.description ?? '');
    for (const fragment of (comment?.[1] ?? '').split('…').map(squash)) {
      if (fragment.length > 3) expect(description).toContain(fragment);
    }
  });

  it('should keep the reading of the codes the review found wrong or missing', () => {
    // 30450: "temporarily blocked", not a sending limit; 21635: the landline code, like 30006.
    expect(TWILIO_ERROR_CODES['30450']?.reason).toBe('temporarily_blocked');
    expect(TWILIO_ERROR_CODES['30450']?.retryable).toBe(true);
    expect(TWILIO_ERROR_CODES['21635']?.reason).toBe(TWILIO_ERROR_CODES['30006']?.reason);
    expect(TWILIO_ERROR_CODES['21617']?.reason).toBe('content_rejected');
    expect(TWILIO_ERROR_CODES['30033']?.reason).toBe('sender_config');
  });
});

describe('Twilio signature vectors (twilio-node)', () => {
  it('should accept the form vector and refuse it altered', async () => {
    const v = twilioVectors;
    expect(
      await verifyTwilioSignature({ authToken: v.authToken, url: v.url, params: v.params, signature: v.signature }),
    ).toBe(true);
    expect(
      await verifyTwilioSignature({
        authToken: v.authToken,
        url: v.url,
        params: { ...v.params, Digits: '1235' },
        signature: v.signature,
      }),
    ).toBe(false);
    expect(
      await verifyTwilioSignature({ authToken: 'other', url: v.url, params: v.params, signature: v.signature }),
    ).toBe(false);
  });

  it.each([
    ['a JSON body', 'jsonBody', 'jsonBodySha256', 'jsonBodySignature'],
    ['an empty {} body', 'emptyBody', 'emptyBodySha256', 'emptyBodySignature'],
  ] as const)('should accept the bodySHA256 vector for %s', async (_name, body, sha, signature) => {
    const v = twilioVectors;
    const url = `${v.url}&bodySHA256=${v[sha]}`;
    const ok = await verifyTwilioSignature({ authToken: v.authToken, url, rawBody: v[body], signature: v[signature] });
    expect(ok).toBe(true);
    expect(
      await verifyTwilioSignature({ authToken: v.authToken, url, rawBody: `${v[body]} `, signature: v[signature] }),
    ).toBe(false);
  });
});

describe('SendGrid OpenAPI: POST /v3/mail/send', () => {
  it.each([
    ['a plain email', {}, false],
    [
      'text and HTML, reply-to and headers',
      {
        text: 'Hi',
        replyTo: { email: 'office@school.example', name: 'Office' },
        headers: {
          'List-Unsubscribe': '<https://example.com/u>',
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        },
      },
      false,
    ],
    [
      'attachments',
      {
        attachments: [
          { content: 'aGVsbG8=', filename: 'a.txt', type: 'text/plain', disposition: 'attachment' as const },
          { content: 'aGk=', filename: 'logo.png', disposition: 'inline' as const, contentId: 'logo' },
        ],
      },
      false,
    ],
    ['sandbox mode', {}, true],
  ])('should send a request that validates against the request schema: %s', async (_name, overrides, sandboxMode) => {
    const api = await serve((_r, res) => {
      res.writeHead(202, { 'x-message-id': 'qNwBLgPQQjW6DJvKQwSAbw' });
      res.end();
    });
    const transport = sendgridTransport({ apiKey: 'SG.key', baseUrl: api.url, sandboxMode });
    expect((await transport.send(sampleEmail(overrides))).outcome).toBe('accepted');
    const [request] = api.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(mailSend.path);
    expect(checkSchema(mailSend.requestSchema, JSON.parse(request?.body ?? 'null'), { strict: true })).toEqual([]);
  });

  /** What each documented answer must become. */
  const expected: Record<string, { outcome: string; fatal?: boolean; reason?: string }> = {
    '202': { outcome: 'accepted' },
    '400': { outcome: 'rejected', reason: 'failed_to_create' },
    '401': { outcome: 'rejected', fatal: true, reason: 'sender_config' },
    '403': { outcome: 'rejected', fatal: true, reason: 'sender_config' },
    '404': { outcome: 'rejected', fatal: true, reason: 'sender_config' },
    '405': { outcome: 'rejected', fatal: true, reason: 'sender_config' },
    '413': { outcome: 'rejected', reason: 'content_rejected' },
    '500': { outcome: 'presend' },
  };

  it.each(Object.entries(mailSend.responses))('should classify the documented answer %s', async (status, answer) => {
    const want = expected[status];
    expect(want, `an expectation for the documented answer ${status}`).toBeDefined();
    const api = await serve((_r, res) => {
      if (answer.examples?.[0]) json(res, Number(status), answer.examples[0]);
      else {
        res.writeHead(Number(status));
        res.end();
      }
    });
    const result = await sendgridTransport({
      apiKey: 'SG.key',
      baseUrl: api.url,
      from: { email: 'a@example.com' },
    }).send(sampleEmail());
    expect(result.outcome).toBe(want?.outcome);
    if (result.outcome === 'rejected') {
      expect(result.reason).toBe(want?.reason);
      expect(result.fatal === true).toBe(want?.fatal === true);
    }
  });
});

describe('SendGrid Event Webhook: event types and reference samples', () => {
  const handled = (type: string) =>
    Object.hasOwn(SENDGRID_EVENT_MAP, type) || Object.hasOwn(SENDGRID_SUPPRESSION_EVENT_MAP, type);

  it.each(webhookSettings.eventTypeSettings)('should handle the event type of the %s setting', (setting) => {
    // The setting spam_report is posted as the event spamreport.
    expect(handled(setting === 'spam_report' ? 'spamreport' : setting)).toBe(true);
  });

  it.each(samples.eachType.map((e) => [e.event as string, e] as const))(
    'should take the reference sample %s event',
    (type, sample) => {
      const { events, suppressions, rejected } = parseSendgridEvents([sample]);
      expect(rejected).toEqual([]);
      if (Object.hasOwn(SENDGRID_SUPPRESSION_EVENT_MAP, type)) {
        expect(suppressions).toHaveLength(1);
        expect(SuppressionEventSchema.safeParse(suppressions[0]).success).toBe(true);
        expect(suppressions[0]).toMatchObject({ action: 'opt_in', channel: 'email', address: sample.email });
        return;
      }
      expect(events).toHaveLength(1);
      expect(StatusEventSchema.safeParse(events[0]).success).toBe(true);
      expect(events[0]?.status).toBe(SENDGRID_EVENT_MAP[type]);
      expect(events[0]?.occurredAt).toBe((sample.timestamp as number) * 1000);
    },
  );

  it('should cover every type of the reference sample array', () => {
    expect(samples.eachType.map((e) => e.event).filter((t) => !handled(t as string))).toEqual([]);
  });

  it('should read the millisecond timestamp of the Single Sends sample as milliseconds', () => {
    const { events } = parseSendgridEvents(samples.singleSend);
    expect(events[0]?.occurredAt).toBe(1591726752372);
    expect(new Date(events[0]?.occurredAt ?? 0).getUTCFullYear()).toBe(2020);
  });

  it.each(samples.dropReasons)('should give the documented drop reason %j a reason of its own', (reason) => {
    const own = Object.hasOwn(SENDGRID_DROP_REASONS, reason.toLowerCase())
      ? SENDGRID_DROP_REASONS[reason.toLowerCase()]
      : 'dropped';
    const want: Record<string, string> = {
      'Invalid SMTPAPI header': 'dropped',
      'Spam Content (if Spam Checker app is enabled)': 'dropped',
      'Unsubscribed Address': 'opted_out',
      'Bounced Address': 'dropped',
      'Spam Reporting Address': 'dropped',
      Invalid: 'invalid_address',
      'Recipient List over Package Quota': 'dropped',
    };
    expect(want[reason], `an expectation for the documented drop reason ${reason}`).toBeDefined();
    expect(own).toBe(want[reason]);
    const { events } = parseSendgridEvents([{ ...samples.eachType.find((e) => e.event === 'dropped'), reason }]);
    expect(events[0]?.reason).toBe(want[reason]);
  });
});

describe('SendGrid signature vectors (sendgrid-nodejs)', () => {
  it.each(['single', 'multiple'] as const)('should accept the %s-event vector and refuse it altered', async (name) => {
    const v = sendgridVectors[name];
    const input = { publicKey: v.publicKey, rawBody: v.payload, signature: v.signature, timestamp: v.timestamp };
    expect(await verifySendgridSignature(input)).toBe(true);
    expect(await verifySendgridSignature({ ...input, timestamp: String(Number(v.timestamp) + 1) })).toBe(false);
    expect(await verifySendgridSignature({ ...input, rawBody: v.payload.trimEnd() })).toBe(false);
    expect(parseSendgridEvents(JSON.parse(v.payload)).rejected).toEqual([]);
  });
});
