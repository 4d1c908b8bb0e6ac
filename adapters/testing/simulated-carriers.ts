/**
 * Simulated SMS and email carriers: transports whose outcomes a test scripts per recipient or draws
 * from a seeded mix, and which report provider events through `ingest` (the path real webhooks
 * use), timed by the clock.
 */
import {
  type Clock,
  type Duration,
  type EmailTransport,
  type EventSink,
  type FailureReasonId,
  type OutgoingEmail,
  type OutgoingSms,
  OutreachError,
  type ProviderEvent,
  type SendResult,
  type SmsTransport,
  type TransportLimits,
  toMs,
} from 'campaign-lifecycle';
// The simulated carriers play Twilio and SendGrid, so they read the same provider tables as the real
// adapters (pure data modules, no HTTP): the one place an adapter reaches into another.
import { reasonForSendgridEvent } from '../sendgrid/sendgrid-failure-reasons.js';
import { reasonForTwilioCode } from '../twilio/twilio-error-codes.js';

/** What happens to one SMS. */
export type SmsOutcome =
  /** Sent, then delivered. */
  | { kind: 'delivered' }
  /** Sent, and no receipt ever comes (Assumed Delivered after the receipt rule). */
  | { kind: 'no_receipt' }
  /** Sent, then undelivered with a Twilio error code (e.g. '30003' unreachable). */
  | { kind: 'undelivered'; code: string }
  /** Failed by the provider after acceptance, with a code (e.g. '30008'). */
  | { kind: 'failed'; code: string }
  /** Refused at once by the API (e.g. '21211' invalid number, '21610' opted out). */
  | { kind: 'rejected'; code: string }
  /** Accepted, then silence: no callback at all (Timed Out after the sending rule). */
  | { kind: 'silent' }
  /** The provider refuses the account (bad credentials): the campaign fails. */
  | { kind: 'credentials_refused' }
  /** `times` pre-send errors (network, 5xx, 429), then `then`. */
  | { kind: 'presend_error'; times: number; then?: SmsOutcome }
  /** The request may have gone through: unknown outcome, then `then` if the provider did accept it. */
  | { kind: 'unknown'; then?: SmsOutcome }
  /** Sent, then a STOP reply: the message is opted out and the number suppressed. */
  | { kind: 'stop_reply' }
  /** Receipts arrive only after `after` (late truth): sent at once, then delivered or undelivered. */
  | {
      kind: 'late';
      after: Duration;
      then: { kind: 'delivered' } | { kind: 'undelivered'; code: string } | { kind: 'sent_then_delivered' };
    };

/** What happens to one email. */
export type EmailOutcome =
  | { kind: 'delivered' }
  /** Deferred `times` times, `every` apart, then `then` (default delivered); `expire` never resolves. */
  | { kind: 'deferred'; times: number; every?: Duration; then?: 'delivered' | 'bounce' | 'expire' }
  /** Bounced: `bounce` (hard) or `blocked` (soft). */
  | { kind: 'bounce'; type?: 'bounce' | 'blocked' }
  /** Dropped by the provider, with its reason text. */
  | { kind: 'dropped'; reason?: string }
  /** Refused at once by the API (400). */
  | { kind: 'rejected'; reason?: FailureReasonId }
  /** Delivered, then the recipient unsubscribes. */
  | { kind: 'unsubscribe' }
  /** Delivered, then opened (and clicked when `click`). */
  | { kind: 'engaged'; click?: boolean }
  | { kind: 'silent' }
  | { kind: 'presend_error'; times: number; then?: EmailOutcome }
  | { kind: 'unknown'; then?: EmailOutcome };

/** Chooses outcomes: a fixed outcome per address, a function, and/or a seeded mix of weights. */
export interface CarrierScript<O extends { kind: string }> {
  /** Outcomes for particular recipients (normalised address → outcome). */
  byAddress?: Record<string, O>;
  /** Decides per message; return `undefined` to fall through to the mix. */
  decide?: (message: { to: string; messageId: string; attempt: number }) => O | undefined;
  /** Weighted outcomes; weights need not sum to 1. */
  mix?: readonly (readonly [weight: number, outcome: O])[];
  /** Seed of the mix's random draws. @defaultValue 1 */
  seed?: number;
}

/** Options common to both carriers. */
export interface SimulatedCarrierOptions<O extends { kind: string }> extends CarrierScript<O> {
  /** The clock that times provider reports (use the engine's). */
  clock: Clock;
  /** Delay before the first provider report (sent / processed). @defaultValue '2s' */
  latency?: Duration;
  /** Delay between sent and the delivery receipt. @defaultValue '5s' */
  receiptDelay?: Duration;
  /** Limits the engine honours. */
  limits?: TransportLimits;
  /**
   * Keep what the carrier saw per message: {@link SimulatedCarrier.log}, {@link SimulatedCarrier.sends}
   * and each message's outcome for its next attempt. Turn off for runs of a million messages, where
   * this bookkeeping outweighs the storage: `log` and `sends` then stay empty (`sendCalls` still
   * counts), and a resent message's outcome is chosen again (the same one from `byAddress` or a
   * `decide` that looks only at the message; a fresh draw from `mix`).
   * @defaultValue true
   */
  record?: boolean;
}

/** A simulated carrier: a transport plus what it saw. */
export interface SimulatedCarrier {
  /** How many times each message id was handed over (a resend shows as 2). */
  readonly sends: ReadonlyMap<string, number>;
  /** Every payload accepted or refused, in order. */
  readonly log: readonly { at: number; messageId: string; to: string; outcome: SendResult['outcome'] }[];
  /** Total `send` calls. */
  readonly sendCalls: number;
}

/** The seeded PRNG behind mixes (mulberry32): deterministic across runs and platforms. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chooser<O extends { kind: string }>(script: CarrierScript<O>, fallback: O, remember: boolean) {
  const random = seededRandom(script.seed ?? 1);
  const mix = script.mix ?? [];
  const total = mix.reduce((s, [w]) => s + w, 0);
  if (mix.some(([w]) => !(w >= 0)) || (mix.length > 0 && total <= 0)) {
    throw new OutreachError('VALIDATION_FAILED', 'A carrier mix needs non-negative weights with a positive sum.');
  }
  const chosen = new Map<string, O>();
  return (m: { to: string; messageId: string; attempt: number }): O => {
    const known = chosen.get(m.messageId);
    if (known) return known;
    let o = script.byAddress?.[m.to] ?? script.decide?.(m);
    if (!o && total > 0) {
      let r = random() * total;
      for (const [w, outcome] of mix) {
        r -= w;
        if (r < 0) {
          o = outcome;
          break;
        }
      }
      o ??= (mix[mix.length - 1] as readonly [number, O])[1];
    }
    o ??= fallback;
    if (remember) chosen.set(m.messageId, o);
    return o;
  };
}

/** The rest of a provider report: its status and the fields besides the ids. */
type Report = Record<string, unknown> & { status: string };
const SENT: Report = { status: 'sent' };
const DELIVERED: Report = { status: 'delivered' };

/**
 * Batches reports by due time so that a million messages mean few clock timers. A report waits as
 * three references (message id, provider id, the rest, often shared), not as an event object: under a
 * fake clock every report of a million-message campaign can be waiting at once; the events are built
 * when they are due.
 */
function createReporter(clock: Clock, channel: 'sms' | 'email') {
  let sink: EventSink | undefined;
  const due = new Map<number, (string | Report)[]>();
  const report = (delay: number, messageId: string, providerMessageId: string, rest: Report) => {
    const at = clock.now() + Math.max(0, delay);
    const list = due.get(at);
    if (list) {
      list.push(messageId, providerMessageId, rest);
      return;
    }
    const fresh: (string | Report)[] = [messageId, providerMessageId, rest];
    due.set(at, fresh);
    clock.setTimeout(async () => {
      due.delete(at);
      if (!sink) return;
      for (let i = 0; i < fresh.length; i += 3 * 5000) {
        const events: ProviderEvent[] = [];
        for (let k = i; k < Math.min(fresh.length, i + 3 * 5000); k += 3)
          events.push({
            type: 'status',
            channel,
            messageId: fresh[k] as string,
            providerMessageId: fresh[k + 1] as string,
            ...(fresh[k + 2] as Report),
          } as ProviderEvent);
        await sink.ingest(events);
      }
    }, at - clock.now());
  };
  return {
    report,
    connect(s: EventSink) {
      sink = s;
    },
  };
}

function recorder(keep: boolean) {
  const sends = new Map<string, number>();
  const log: { at: number; messageId: string; to: string; outcome: SendResult['outcome'] }[] = [];
  let calls = 0;
  return {
    sends,
    log,
    get calls() {
      return calls;
    },
    note(at: number, messageId: string, to: string, outcome: SendResult['outcome']) {
      calls++;
      if (!keep) return;
      log.push({ at, messageId, to, outcome });
      if (outcome !== 'presend' && outcome !== 'rejected') sends.set(messageId, (sends.get(messageId) ?? 0) + 1);
    },
  };
}

/** The send path both carriers share: pre-send failures, refusals, ids, then the scripted reports. */
function createSend<O extends { kind: string }, M extends OutgoingSms | OutgoingEmail>(args: {
  clock: Clock;
  choose: (m: { to: string; messageId: string; attempt: number }) => O;
  rec: ReturnType<typeof recorder>;
  /** A refusal at send time for this outcome, if it is one. */
  refuse: (o: O) => SendResult | undefined;
  newId: () => string;
  play: (o: O, messageId: string, providerId: string, to: string) => void;
  presendError: string;
  unknownError: string;
}): (message: M) => Promise<SendResult> {
  const failures = new Map<string, number>();
  return async (message) => {
    const now = args.clock.now();
    let o = args.choose({ to: message.to, messageId: message.messageId, attempt: message.attempt });
    if (o.kind === 'presend_error') {
      const scripted = o as unknown as { times: number; then?: O };
      const n = failures.get(message.messageId) ?? 0;
      if (n < scripted.times) {
        failures.set(message.messageId, n + 1);
        args.rec.note(now, message.messageId, message.to, 'presend');
        return { outcome: 'presend', error: args.presendError };
      }
      o = scripted.then ?? ({ kind: 'delivered' } as O);
    }
    const refused = args.refuse(o);
    if (refused) {
      args.rec.note(now, message.messageId, message.to, 'rejected');
      return refused;
    }
    const id = args.newId();
    args.play(o, message.messageId, id, message.to);
    if (o.kind === 'unknown') {
      args.rec.note(now, message.messageId, message.to, 'unknown');
      return { outcome: 'unknown', error: args.unknownError };
    }
    args.rec.note(now, message.messageId, message.to, 'accepted');
    return { outcome: 'accepted', providerMessageId: id };
  };
}

/** The public shape of a simulated carrier. */
function carrier<C extends 'sms' | 'email', M>(
  channel: C,
  options: { limits?: TransportLimits | undefined },
  send: (message: M) => Promise<SendResult>,
  reporter: ReturnType<typeof createReporter>,
  rec: ReturnType<typeof recorder>,
) {
  return {
    channel,
    name: `simulated-${channel}`,
    limits: options.limits,
    send,
    connect: reporter.connect,
    sends: rec.sends,
    log: rec.log,
    get sendCalls() {
      return rec.calls;
    },
  };
}

/**
 * A simulated Twilio: an {@link SmsTransport} whose outcomes are scripted.
 * @example
 * const sms = simulatedSmsCarrier({ clock, mix: [[0.9, { kind: 'delivered' }], [0.1, { kind: 'no_receipt' }]] });
 */
export function simulatedSmsCarrier(options: SimulatedCarrierOptions<SmsOutcome>): SmsTransport & SimulatedCarrier {
  const { clock } = options;
  const latency = toMs(options.latency ?? '2s');
  const receipt = toMs(options.receiptDelay ?? '5s');
  const choose = chooser(options, { kind: 'delivered' }, options.record ?? true);
  const reporter = createReporter(clock, 'sms');
  const rec = recorder(options.record ?? true);
  let seq = 0;

  const play = (o: SmsOutcome, messageId: string, sid: string, to: string) => {
    switch (o.kind) {
      case 'delivered':
        reporter.report(latency, messageId, sid, SENT);
        reporter.report(latency + receipt, messageId, sid, DELIVERED);
        break;
      case 'no_receipt':
        reporter.report(latency, messageId, sid, SENT);
        break;
      case 'undelivered':
        reporter.report(latency, messageId, sid, SENT);
        reporter.report(latency + receipt, messageId, sid, {
          status: 'failed',
          reason: reasonForTwilioCode(o.code),
          code: o.code,
          providerStatus: 'undelivered',
        });
        break;
      case 'failed':
        reporter.report(latency, messageId, sid, {
          status: 'failed',
          reason: reasonForTwilioCode(o.code),
          code: o.code,
          providerStatus: 'failed',
        });
        break;
      case 'stop_reply':
        reporter.report(latency, messageId, sid, SENT);
        reporter.report(latency + receipt, messageId, sid, DELIVERED);
        reporter.report(latency + receipt * 2, messageId, sid, { status: 'opted_out', providerStatus: 'STOP' });
        break;
      case 'late': {
        const after = toMs(o.after);
        if (o.then.kind === 'sent_then_delivered') {
          reporter.report(after, messageId, sid, SENT);
          reporter.report(after + receipt, messageId, sid, DELIVERED);
        } else {
          reporter.report(latency, messageId, sid, SENT);
          reporter.report(
            after,
            messageId,
            sid,
            o.then.kind === 'delivered'
              ? DELIVERED
              : {
                  status: 'failed',
                  reason: reasonForTwilioCode(o.then.code),
                  code: o.then.code,
                  providerStatus: 'undelivered',
                },
          );
        }
        break;
      }
      case 'unknown':
        if (o.then) play(o.then, messageId, sid, to);
        break;
      default:
        break; // silent, and outcomes settled at send time
    }
  };

  const send = createSend<SmsOutcome, OutgoingSms>({
    clock,
    choose,
    rec,
    refuse: (o) =>
      o.kind === 'rejected'
        ? {
            outcome: 'rejected',
            reason: reasonForTwilioCode(o.code),
            code: o.code,
            error: `simulated: refused with ${o.code}`,
          }
        : o.kind === 'credentials_refused'
          ? {
              outcome: 'rejected',
              reason: 'sender_config',
              code: '20003',
              error: 'simulated: 401 authenticate',
              fatal: true,
            }
          : undefined,
    newId: () => `SM${(++seq).toString(16).padStart(32, '0')}`,
    play,
    presendError: 'simulated: connection refused before the request was sent',
    unknownError: 'simulated: the connection dropped after the request was sent',
  });
  return carrier('sms', options, send, reporter, rec);
}

/**
 * A simulated SendGrid: an {@link EmailTransport} whose outcomes are scripted.
 * @example
 * const email = simulatedEmailCarrier({ clock, mix: [[0.95, { kind: 'delivered' }], [0.05, { kind: 'deferred', times: 3 }]] });
 */
export function simulatedEmailCarrier(
  options: SimulatedCarrierOptions<EmailOutcome>,
): EmailTransport & SimulatedCarrier {
  const { clock } = options;
  const latency = toMs(options.latency ?? '2s');
  const receipt = toMs(options.receiptDelay ?? '5s');
  const choose = chooser(options, { kind: 'delivered' }, options.record ?? true);
  const reporter = createReporter(clock, 'email');
  const rec = recorder(options.record ?? true);
  let seq = 0;

  const play = (o: EmailOutcome, messageId: string, id: string) => {
    reporter.report(latency, messageId, id, { status: 'sending', providerStatus: 'processed' });
    const t = latency + receipt;
    switch (o.kind) {
      case 'delivered':
        reporter.report(t, messageId, id, DELIVERED);
        break;
      case 'deferred': {
        const every = toMs(o.every ?? '1h');
        for (let i = 0; i < o.times; i++) {
          reporter.report(t + i * every, messageId, id, {
            status: 'deferred',
            attempt: i + 1,
            providerStatus: 'deferred',
          });
        }
        const end = t + o.times * every;
        if ((o.then ?? 'delivered') === 'delivered') reporter.report(end, messageId, id, DELIVERED);
        else if (o.then === 'bounce') {
          reporter.report(end, messageId, id, {
            status: 'failed',
            reason: reasonForSendgridEvent({ event: 'bounce', type: 'bounce' }),
            providerStatus: 'bounce',
          });
        }
        break;
      }
      case 'bounce':
        reporter.report(t, messageId, id, {
          status: 'failed',
          reason: reasonForSendgridEvent({ event: 'bounce', type: o.type ?? 'bounce' }),
          providerStatus: 'bounce',
          code: o.type ?? 'bounce',
        });
        break;
      case 'dropped':
        reporter.report(latency, messageId, id, {
          status: 'failed',
          reason: reasonForSendgridEvent({ event: 'dropped', reason: o.reason }),
          providerStatus: 'dropped',
        });
        break;
      case 'unsubscribe':
        reporter.report(t, messageId, id, DELIVERED);
        reporter.report(t + receipt, messageId, id, { status: 'opted_out', providerStatus: 'unsubscribe' });
        break;
      case 'engaged':
        reporter.report(t, messageId, id, DELIVERED);
        reporter.report(t + receipt, messageId, id, { status: 'engagement', engagement: 'open' });
        if (o.click) reporter.report(t + 2 * receipt, messageId, id, { status: 'engagement', engagement: 'click' });
        break;
      case 'unknown':
        if (o.then) play(o.then, messageId, id);
        break;
      default:
        break;
    }
  };

  const send = createSend<EmailOutcome, OutgoingEmail>({
    clock,
    choose,
    rec,
    refuse: (o) =>
      o.kind === 'rejected'
        ? { outcome: 'rejected', reason: o.reason ?? 'invalid_address', error: 'simulated: 400 invalid recipient' }
        : undefined,
    newId: () => `sg${(++seq).toString(36).padStart(16, '0')}`,
    play: (o, messageId, id) => play(o, messageId, id),
    presendError: 'simulated: 503 before acceptance',
    unknownError: 'simulated: timed out after the request was sent',
  });
  return carrier('email', options, send, reporter, rec);
}
