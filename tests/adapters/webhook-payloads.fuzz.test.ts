/**
 * Fuzzing the provider webhook parsers with arbitrary and near-valid payloads: Twilio status
 * callbacks, Twilio inbound STOP/START forms and SendGrid Event Webhook batches.
 */
import { StatusEventSchema, SuppressionEventSchema } from 'campaign-lifecycle';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSendgridEvents, SENDGRID_EVENT_MAP } from '../../adapters/sendgrid/index.js';
import {
  parseTwilioInbound,
  parseTwilioStatusCallback,
  TWILIO_OPT_IN_KEYWORDS,
  TWILIO_OPT_OUT_KEYWORDS,
  TWILIO_STATUS_MAP,
} from '../../adapters/twilio/index.js';
import { assertTyped, fuzzParams, nastyString, outcomeOf } from '../support/fuzz-support.js';

// ── Twilio ──────────────────────────────────────────────────────────────────

const TWILIO_FIELDS = [
  'MessageSid',
  'SmsSid',
  'MessageStatus',
  'SmsStatus',
  'ErrorCode',
  'ErrorMessage',
  'ChannelStatusMessage',
  'RawDlrDoneDate',
  'messageId',
  'From',
  'Body',
  'OptOutType',
  'AccountSid',
] as const;

/** A form whose names are mostly the ones the parser reads, with any values. */
const twilioRecord = fc.dictionary(fc.oneof(fc.constantFrom(...TWILIO_FIELDS), nastyString(12)), nastyString(), {
  maxKeys: 10,
});

/** A valid status callback with some fields replaced by junk or removed. */
const nearValidStatusForm = fc.record(
  {
    MessageSid: fc.oneof(fc.constant('SM0123456789abcdef'), nastyString()),
    MessageStatus: fc.oneof(fc.constantFrom(...Object.keys(TWILIO_STATUS_MAP)), nastyString(12)),
    ErrorCode: fc.oneof(fc.constantFrom('0', '30003', '30007', '21610'), nastyString(), fc.string({ minLength: 101 })),
    ErrorMessage: nastyString(3000),
    RawDlrDoneDate: nastyString(),
  },
  { requiredKeys: [] },
);

/** Where the callback was posted: our id in the query, or junk. */
const callbackUrl = fc.oneof(
  fc.constant(undefined),
  nastyString().map((id) => `https://hooks.example.com/twilio?${new URLSearchParams({ messageId: id })}`),
  fc.string({ minLength: 190, maxLength: 260 }).map((id) => `https://hooks.example.com/twilio?messageId=${id}`),
  nastyString(),
  fc.webUrl({ withQueryParameters: true }),
);

const asForm = (record: Record<string, string>, asParams: boolean) =>
  asParams ? new URLSearchParams(Object.entries(record)) : record;

describe('twilio: status callback parser under fuzzing', () => {
  it('should return an event or throw an OutreachError for any form, body and URL', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(twilioRecord, nearValidStatusForm),
        fc.boolean(),
        callbackUrl,
        fc.option(nastyString(400)),
        async (record, asParams, url, token) => {
          assertTyped(
            await outcomeOf(() =>
              parseTwilioStatusCallback(asForm(record, asParams), { url, idempotencyToken: token }),
            ),
          );
        },
      ),
      fuzzParams(),
    );
  });

  it('should return an event or throw an OutreachError for any raw form-encoded body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), callbackUrl, async (body, url) => {
        assertTyped(await outcomeOf(() => parseTwilioStatusCallback(new URLSearchParams(body), { url })));
      }),
      fuzzParams(),
    );
  });

  // Regression test (found by fuzzing, fixed): a callback URL whose `messageId` parameter is present but empty
  // (`?messageId=`), with no MessageSid, is returned as an event with `messageId: ''`, which
  // `ingest` refuses (VALIDATION_FAILED), so the webhook handler answers 500 and Twilio retries a
  // request that can never succeed. Counterexample: form { MessageStatus: 'delivered' },
  // url 'https://hooks.example.com/twilio?messageId='.
  it('should only return events that ingest accepts (the parser, not ingest, refuses bad callbacks)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(twilioRecord, nearValidStatusForm), callbackUrl, async (record, url) => {
        const r = await outcomeOf(() => parseTwilioStatusCallback(record, { url }));
        assertTyped(r);
        if (r.ok) expect(StatusEventSchema.safeParse(r.value).error).toBeUndefined();
      }),
      fuzzParams(),
    );
  });

  it('should refuse a callback whose messageId parameter is empty and that has no MessageSid (shrunk counterexample)', () => {
    expect(() =>
      parseTwilioStatusCallback({ MessageStatus: 'delivered' }, { url: 'https://hooks.example.com/twilio?messageId=' }),
    ).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});

describe('twilio: inbound STOP/START parser under fuzzing', () => {
  const nearValidInbound = fc.record(
    {
      From: fc.oneof(fc.constant('+14155550100'), nastyString(), fc.string({ minLength: 300, maxLength: 400 })),
      Body: fc.oneof(
        fc.constantFrom(...TWILIO_OPT_OUT_KEYWORDS, ...TWILIO_OPT_IN_KEYWORDS, 'stop', ' Stop ', 'HELP', 'STOP PLEASE'),
        nastyString(),
      ),
      OptOutType: fc.oneof(fc.constantFrom('STOP', 'START', 'HELP', 'stop'), nastyString(8)),
      MessageSid: fc.oneof(fc.constant('SM1'), nastyString(), fc.string({ minLength: 300, maxLength: 400 })),
    },
    { requiredKeys: [] },
  );

  it('should return a suppression change that ingest accepts, null, or an OutreachError, for any form', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(twilioRecord, nearValidInbound),
        fc.boolean(),
        fc.option(fc.string({ minLength: 1, maxLength: 200 }), { nil: undefined }),
        async (record, asParams, scope) => {
          const r = await outcomeOf(() => parseTwilioInbound(asForm(record, asParams), { scope }));
          assertTyped(r);
          if (r.ok && r.value !== null) expect(SuppressionEventSchema.safeParse(r.value).error).toBeUndefined();
        },
      ),
      fuzzParams(),
    );
  });
});

// ── SendGrid ────────────────────────────────────────────────────────────────

/** Any value a JSON field can hold, weighted towards the shapes a parser might mishandle. */
const jsonField = fc.oneof(
  nastyString(),
  fc.string({ minLength: 190, maxLength: 2500 }),
  fc.stringMatching(/^\d{1,30}$/),
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -1, 1e21, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

const SENDGRID_FIELDS = [
  'event',
  'message_id',
  'sg_message_id',
  'sg_event_id',
  'timestamp',
  'type',
  'reason',
  'status',
  'bounce_classification',
  'response',
  'attempt',
  'url',
  'email',
] as const;

/** A valid event with each field kept, removed or replaced by junk. */
const nearValidSendgridEvent = fc
  .record(
    {
      event: fc.oneof(fc.constantFrom(...Object.keys(SENDGRID_EVENT_MAP), 'group_resubscribe', 'DELIVERED'), jsonField),
      message_id: fc.oneof(fc.constant('msg_1'), jsonField),
      sg_message_id: fc.oneof(fc.constant('abc.filter0001.1.0'), jsonField),
      sg_event_id: fc.oneof(fc.constant('ev_1'), jsonField),
      timestamp: fc.oneof(fc.constant(1_700_000_000), jsonField),
      type: fc.oneof(fc.constantFrom('bounce', 'blocked'), jsonField),
      reason: jsonField,
      status: fc.oneof(fc.constant('5.1.1'), jsonField),
      bounce_classification: fc.oneof(fc.constantFrom('Invalid Address', 'Reputation', 'Technical'), jsonField),
      response: jsonField,
      attempt: fc.oneof(fc.constantFrom('1', '2', 1), jsonField),
      url: jsonField,
    },
    { requiredKeys: [] },
  )
  .chain((e) =>
    fc.dictionary(fc.oneof(fc.constantFrom(...SENDGRID_FIELDS), fc.string()), jsonField, { maxKeys: 3 }).map((x) => ({
      ...e,
      ...x,
    })),
  );

const sendgridBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.array(fc.oneof(nearValidSendgridEvent, fc.jsonValue({ maxDepth: 2 })), { maxLength: 8 }),
);

describe('sendgrid: event parser under fuzzing', () => {
  it('should return events or throw an OutreachError for any JSON, and account for every array item', async () => {
    await fc.assert(
      fc.asyncProperty(sendgridBody, async (body) => {
        const r = await outcomeOf(() => parseSendgridEvents(body));
        assertTyped(r);
        if (r.ok) {
          expect(Array.isArray(body)).toBe(true);
          expect(r.value.events.length + r.value.rejected.length).toBe((body as unknown[]).length);
        } else expect(Array.isArray(body)).toBe(false);
      }),
      fuzzParams(),
    );
  });

  // Regression test (found by fuzzing, fixed): a numeric field out of range makes the parser return an event that
  // `ingest` refuses, so the whole batch (its good events too) is refused with 500 and SendGrid
  // retries it for 24 h. Counterexamples: `timestamp: 1.797693134862316e+305` (× 1000 overflows to
  // `occurredAt: Infinity`) and a deferral `attempt: '9007199254740993'` (not a safe integer).
  // The parser should drop such a field or count the event as rejected.
  it('should only return events that ingest accepts (a bad event is counted as rejected, not sent to ingest)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nearValidSendgridEvent, { maxLength: 6 }), async (body) => {
        const { events } = parseSendgridEvents(body);
        for (const e of events) expect(StatusEventSchema.safeParse(e).error).toBeUndefined();
      }),
      fuzzParams(),
    );
  });

  it('should not turn a timestamp beyond the date range into occurredAt: Infinity (shrunk counterexample)', () => {
    const { events } = parseSendgridEvents([
      { event: 'processed', sg_message_id: 0, timestamp: 1.797693134862316e305 },
    ]);
    for (const e of events) expect(StatusEventSchema.safeParse(e).success).toBe(true);
  });

  it('should not turn a deferral attempt beyond the safe integers into an attempt ingest refuses', () => {
    const { events } = parseSendgridEvents([{ event: 'deferred', message_id: 'msg_1', attempt: '9007199254740993' }]);
    for (const e of events) expect(StatusEventSchema.safeParse(e).success).toBe(true);
  });
});
