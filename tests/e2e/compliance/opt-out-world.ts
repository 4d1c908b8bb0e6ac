/**
 * The world of the "no message after an opt-out" property: several engines ("processes") over one
 * storage, two of them dispatching through recording transports, one answering webhooks, and opt-outs
 * arriving by every path a user wires up (signed Twilio STOP replies, signed SendGrid unsubscribe /
 * spamreport / group_unsubscribe events, the one-click unsubscribe link, and `outreach.optOut`).
 *
 * Order is observed on one counter (`tick`) shared by the transport wrappers, the storage wrapper and
 * the opt-out calls, so "after" is exact whatever the storage's real concurrency.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import {
  type Channel,
  createOutreach,
  type MessageRecord,
  type Outreach,
  type Storage,
  type StorageTransaction,
  unsubscribeHandler,
} from 'campaign-lifecycle';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridWebhookHandler,
} from 'campaign-lifecycle/sendgrid';
import { createUnsubscribeToken } from 'campaign-lifecycle/templates';
import {
  createFakeClock,
  type EmailOutcome,
  type FakeClock,
  type SmsOutcome,
  simulatedEmailCarrier,
  simulatedSmsCarrier,
} from 'campaign-lifecycle/testing';
import { computeTwilioSignature, TWILIO_OPT_OUT_KEYWORDS, twilioWebhookHandler } from 'campaign-lifecycle/twilio';
import fc from 'fast-check';

export const SCOPES = ['school-a', 'school-b'] as const;
export type Scope = (typeof SCOPES)[number];
export const CHANNELS = ['sms', 'email'] as const;
/** Addresses per channel; every campaign of the channel holds all of them, so opt-outs collide with sends. */
export const PEOPLE = 3;
/** The claim lease the engines run with (the default). */
export const LEASE_MS = 30_000;

const AUTH_TOKEN = 'twilio-auth-token-for-tests';
const SENDER = '+14155550000';
const UNSUBSCRIBE_SECRET = 'unsubscribe-secret-for-tests';
const HOOKS = 'https://hooks.example.com';
const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = signing.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

export const phoneOf = (i: number) => `+1415555${String(2000 + i).padStart(4, '0')}`;
export const mailOf = (i: number) => `parent${i}@example.com`;
export const addressOf = (channel: Channel, i: number) => (channel === 'sms' ? phoneOf(i) : mailOf(i));

/** How an opt-out reaches the library. */
export type OptOutPath = 'twilio_stop' | 'sendgrid_event' | 'unsubscribe_link' | 'manual';

/** One opt-out the test makes, and when it was settled. */
export interface OptOutOp {
  readonly path: OptOutPath;
  readonly channel: Channel;
  readonly person: number;
  readonly scope: Scope;
  /** Twilio: the reply text (a keyword in any case, padded); or `OptOutType=STOP`. */
  readonly keyword: string;
  readonly advancedOptOut: boolean;
  /** SendGrid: the event kind. */
  readonly sendgridEvent: 'unsubscribe' | 'spamreport' | 'group_unsubscribe';
  /** Microtasks, then macrotasks, to wait before starting (the interleaving). */
  readonly microDelay: number;
  readonly macroDelay: number;
}

export interface Step {
  readonly advanceMs: number;
  readonly ops: readonly OptOutOp[];
}

/** A call handed to a transport: which message, to whom, in which scope, and when it started. */
export interface SendStart {
  readonly tick: number;
  readonly at: number;
  readonly engine: string;
  readonly channel: Channel;
  readonly messageId: string;
  readonly to: string;
}

/** An opt-out that was ingested: the tick and clock time at which its call (handler, optOut) resolved. */
export interface IngestedOptOut {
  readonly op: OptOutOp;
  readonly channel: Channel;
  readonly scope: string;
  readonly address: string;
  readonly tick: number;
  readonly at: number;
  readonly startTick: number;
}

/** The suppression check of a claim that committed: when it started, and the messages it let through. */
export interface ClaimCheck {
  readonly tick: number;
  readonly at: number;
}

export const optOutArb: fc.Arbitrary<OptOutOp> = fc
  .record({
    path: fc.constantFrom<OptOutPath>('twilio_stop', 'sendgrid_event', 'unsubscribe_link', 'manual'),
    manualChannel: fc.constantFrom<Channel>('sms', 'email'),
    person: fc.integer({ min: 0, max: PEOPLE - 1 }),
    scope: fc.constantFrom<Scope>(...SCOPES),
    word: fc.constantFrom(...TWILIO_OPT_OUT_KEYWORDS),
    casing: fc.constantFrom('upper', 'lower', 'title'),
    pad: fc.constantFrom('', ' ', '\n', '  '),
    advancedOptOut: fc.boolean(),
    sendgridEvent: fc.constantFrom('unsubscribe' as const, 'spamreport' as const, 'group_unsubscribe' as const),
    microDelay: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 4_000 })),
    macroDelay: fc.integer({ min: 0, max: 3 }),
  })
  .map((r) => {
    const cased =
      r.casing === 'upper'
        ? r.word
        : r.casing === 'lower'
          ? r.word.toLowerCase()
          : r.word[0] + r.word.slice(1).toLowerCase();
    const channel: Channel = r.path === 'twilio_stop' ? 'sms' : r.path === 'manual' ? r.manualChannel : 'email';
    return {
      path: r.path,
      channel,
      person: r.person,
      scope: r.scope,
      keyword: `${r.pad}${cased}${r.pad}`,
      advancedOptOut: r.advancedOptOut,
      sendgridEvent: r.sendgridEvent,
      microDelay: r.microDelay,
      macroDelay: r.macroDelay,
    };
  });

export const stepsArb: fc.Arbitrary<Step[]> = fc.array(
  fc.record({
    advanceMs: fc.integer({ min: 0, max: 1_500 }),
    ops: fc.array(optOutArb, { maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 6 },
);

/** Wraps a transport: every `send…` call is recorded, with its tick and clock time, before it runs. */
function recording<T extends object>(
  inner: T,
  engine: string,
  clock: FakeClock,
  log: SendStart[],
  next: () => number,
): T {
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop === 'string' && prop.startsWith('send')) {
        return (...args: unknown[]) => {
          const payloads = (Array.isArray(args[0]) ? args[0] : [args[0]]) as {
            messageId: string;
            to: string | { email: string };
          }[];
          for (const p of payloads) {
            log.push({
              tick: next(),
              at: clock.now(),
              engine,
              channel: (target as { channel: Channel }).channel,
              messageId: p.messageId,
              to: typeof p.to === 'string' ? p.to : p.to.email,
            });
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/**
 * Wraps the storage: for every committed claim (a transaction that asked `suppressedAmong` about the
 * messages it claimed from Queued), remembers for each claimed message the tick at which that
 * suppression check started. Other calls pass through untouched.
 */
function observed(inner: Storage, checks: Map<string, ClaimCheck[]>, clock: FakeClock, next: () => number): Storage {
  return {
    info: inner.info,
    close: inner.close?.bind(inner),
    transaction<T>(fn: (t: StorageTransaction) => Promise<T>): Promise<T> {
      let claimed: MessageRecord[] = [];
      let check: ClaimCheck | undefined;
      return inner
        .transaction((t) => {
          claimed = []; // the adapter may re-run fn
          check = undefined;
          const wrapped = new Proxy(t, {
            get(target, prop) {
              const value = Reflect.get(target, prop, target) as unknown;
              if (typeof value !== 'function') return value;
              if (prop === 'claimMessages') {
                return async (campaignId: string, state: string, limit: number) => {
                  const rows = await target.claimMessages(campaignId, state, limit);
                  if (state === 'queued') claimed.push(...rows);
                  return rows;
                };
              }
              if (prop === 'suppressedAmong') {
                return (...args: Parameters<StorageTransaction['suppressedAmong']>) => {
                  check = { tick: next(), at: clock.now() };
                  return target.suppressedAmong(...args);
                };
              }
              return (value as (...a: unknown[]) => unknown).bind(target);
            },
          });
          return fn(wrapped);
        })
        .then((result) => {
          if (check)
            for (const m of claimed) {
              const list = checks.get(m.id) ?? [];
              list.push(check);
              checks.set(m.id, list);
            }
          return result;
        });
    },
  };
}

const SMS_MIX: [number, SmsOutcome][] = [[1, { kind: 'delivered' }]];
const EMAIL_MIX: [number, EmailOutcome][] = [[1, { kind: 'delivered' }]];
/** Two sends a second per engine, with quick receipts: a campaign takes seconds, so opt-outs land mid-run. */
const CARRIER = { limits: { ratePerSecond: 2, concurrency: 2 }, latency: '200ms', receiptDelay: '500ms' } as const;

export interface World {
  readonly clock: FakeClock;
  readonly sends: SendStart[];
  readonly optOuts: IngestedOptOut[];
  readonly checks: Map<string, ClaimCheck[]>;
  /** Every message, by id, as created (campaign scope, channel, address). */
  readonly messages: Map<string, { scope: string; channel: Channel; to: string; campaignId: string }>;
  readonly errors: unknown[];
  readonly hooks: Outreach;
  readonly workers: Outreach[];
  perform(op: OptOutOp): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds the world over `storage`: engines `w1` and `w2` dispatch (each its own simulated carriers,
 * polling the shared storage), engine `hooks` takes the commands and the webhooks. Per channel and
 * scope, a first campaign runs and a second is scheduled to start when the channel is free.
 */
export async function buildWorld(storage: Storage): Promise<World> {
  const clock = createFakeClock();
  let counter = 0;
  const next = () => ++counter;
  const sends: SendStart[] = [];
  const optOuts: IngestedOptOut[] = [];
  const checks = new Map<string, ClaimCheck[]>();
  const errors: unknown[] = [];
  const shared = observed(storage, checks, clock, next);
  const engine = (name: string, dispatching: boolean) =>
    createOutreach({
      storage: shared,
      clock,
      transports: dispatching
        ? {
            sms: recording(simulatedSmsCarrier({ clock, seed: 7, mix: SMS_MIX, ...CARRIER }), name, clock, sends, next),
            email: recording(
              simulatedEmailCarrier({ clock, seed: 7, mix: EMAIL_MIX, ...CARRIER }),
              name,
              clock,
              sends,
              next,
            ),
          }
        : {},
      pollInterval: dispatching ? '1s' : false,
      claimLease: LEASE_MS,
      unsubscribe: { baseUrl: `${HOOKS}/unsubscribe`, secret: UNSUBSCRIBE_SECRET },
      onError: (e) => errors.push(e),
    });
  const hooks = engine('hooks', false);
  const workers = [engine('w1', true), engine('w2', true)];

  const messages = new Map<string, { scope: string; channel: Channel; to: string; campaignId: string }>();
  for (const channel of CHANNELS) {
    for (const scope of SCOPES) {
      for (const round of [1, 2]) {
        const c = await hooks.createCampaign({
          name: `${channel} ${scope} ${round}`,
          channel,
          scope,
          content:
            channel === 'sms'
              ? { body: 'Hi {{first_name}}, school is closed today.' }
              : {
                  subject: 'School closed',
                  html: '<p>Hi {{first_name}}</p>',
                  from: { email: 'office@school.example' },
                },
        });
        await hooks.addContacts(
          c.id,
          Array.from({ length: PEOPLE }, (_, i) => ({
            address: addressOf(channel, i),
            fields: { first_name: `Kid${i}` },
          })),
        );
        await hooks.save(c.id);
        if (round === 1) await hooks.run(c.id);
        else await hooks.schedule(c.id, clock.now());
        for (const m of await hooks.listMessages(c.id, { limit: 1000 }))
          messages.set(m.id, { scope, channel, to: m.to, campaignId: c.id });
      }
    }
  }

  const twilio = Object.fromEntries(
    SCOPES.map((scope) => [
      scope,
      twilioWebhookHandler({ outreach: hooks, authToken: AUTH_TOKEN, scope, onReject: () => {} }),
    ]),
  ) as Record<Scope, (r: Request) => Promise<Response>>;
  const sendgrid = sendgridWebhookHandler({ outreach: hooks, publicKey: PUBLIC_KEY, onReject: () => {} });
  const unsubscribe = unsubscribeHandler({ outreach: hooks, secret: UNSUBSCRIBE_SECRET, clock, onReject: () => {} });
  let serial = 0;

  /** A message of this address in this scope; one already handed to a transport when there is one. */
  const messageFor = (op: OptOutOp) => {
    const to = addressOf(op.channel, op.person);
    const candidates = [...messages.entries()].filter(([, m]) => m.to === to && m.scope === op.scope);
    const sent = candidates.filter(([id]) => sends.some((s) => s.messageId === id));
    return (sent[0] ?? candidates[0]) as [string, { campaignId: string }];
  };

  const expectOk = async (response: Response, what: string) => {
    if (response.status !== 200) throw new Error(`${what} answered ${response.status}: ${await response.text()}`);
  };

  const perform = async (op: OptOutOp) => {
    for (let i = 0; i < op.microDelay; i++) await Promise.resolve();
    for (let i = 0; i < op.macroDelay; i++) await new Promise((r) => setImmediate(r));
    const address = addressOf(op.channel, op.person);
    const startTick = next();
    switch (op.path) {
      case 'twilio_stop': {
        const url = `${HOOKS}/twilio/${op.scope}/inbound`;
        const params: Record<string, string> = {
          AccountSid: 'AC00000000000000000000000000000000',
          MessageSid: `SMinbound${++serial}`,
          SmsStatus: 'received',
          From: address,
          To: SENDER,
          Body: op.keyword,
          NumMedia: '0',
          ...(op.advancedOptOut ? { OptOutType: 'STOP' } : {}),
        };
        const signature = await computeTwilioSignature(AUTH_TOKEN, url, params);
        await expectOk(
          await twilio[op.scope](
            new Request(url, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
              body: new URLSearchParams(params),
            }),
          ),
          `Twilio inbound ${JSON.stringify(op.keyword)}`,
        );
        break;
      }
      case 'sendgrid_event': {
        const [messageId, m] = messageFor(op);
        const timestamp = String(Math.floor(clock.now() / 1000));
        const body = JSON.stringify([
          {
            email: address,
            timestamp: Number(timestamp),
            event: op.sendgridEvent,
            sg_event_id: `ev-${++serial}`,
            sg_message_id: `x${serial}.filterdrecv-0`,
            message_id: messageId,
            campaign_id: m.campaignId,
            ...(op.sendgridEvent === 'group_unsubscribe' ? { asm_group_id: 42 } : {}),
          },
        ]);
        const signature = sign('sha256', Buffer.from(timestamp + body), signing.privateKey).toString('base64');
        await expectOk(
          await sendgrid(
            new Request(`${HOOKS}/sendgrid/events`, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                [SENDGRID_SIGNATURE_HEADER]: signature,
                [SENDGRID_TIMESTAMP_HEADER]: timestamp,
              },
              body,
            }),
          ),
          `SendGrid ${op.sendgridEvent}`,
        );
        break;
      }
      case 'unsubscribe_link': {
        const [messageId, m] = messageFor(op);
        const token = await createUnsubscribeToken({
          secret: UNSUBSCRIBE_SECRET,
          messageId,
          campaignId: m.campaignId,
          scope: op.scope,
          channel: 'email',
          address,
        });
        await expectOk(
          await unsubscribe(
            new Request(`${HOOKS}/unsubscribe?token=${encodeURIComponent(token)}`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: 'List-Unsubscribe=One-Click',
            }),
          ),
          'One-click unsubscribe',
        );
        break;
      }
      case 'manual':
        await hooks.optOut({ channel: op.channel, address, scope: op.scope });
        break;
    }
    optOuts.push({ op, channel: op.channel, scope: op.scope, address, tick: next(), at: clock.now(), startTick });
  };

  for (const w of workers) w.worker.start();
  return {
    clock,
    sends,
    optOuts,
    checks,
    messages,
    errors,
    hooks,
    workers,
    perform,
    async stop() {
      for (const w of workers) await w.worker.stop();
    },
  };
}

/** Runs the steps: each advances the clock while its opt-outs arrive, at their random point, concurrently. */
export async function play(world: World, steps: readonly Step[]) {
  for (const step of steps) {
    const advancing = world.clock.advance(step.advanceMs);
    await Promise.all([advancing, ...step.ops.map((op) => world.perform(op))]);
  }
  // Until every campaign (both rounds) has finished and every receipt has arrived (ten minutes at most).
  for (let i = 0; i < 300; i++) {
    await world.clock.advance('2s');
    const open = await world.hooks.listCampaigns({
      statuses: ['scheduled', 'in_progress', 'active_retries', 'paused'],
    });
    if (open.length === 0) break;
  }
}

/** The opt-out that covers a send (same channel, scope and address), ingested first, if any. */
export function optOutsCovering(world: World, s: SendStart) {
  const m = world.messages.get(s.messageId);
  if (!m) throw new Error(`A send of an unknown message ${s.messageId}`);
  return world.optOuts.filter((o) => o.channel === m.channel && o.scope === m.scope && o.address === m.to);
}
