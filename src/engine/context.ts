/**
 * The engine's context: what every part of the engine (commands, ingest, dispatch, deadlines, the
 * worker, queries) is given, as named and documented members. `createEngineContext` resolves the
 * options and builds the transaction runner; the campaign moves (`campaign-moves.ts`) and the message
 * flow (`message-flow.ts`) add the shared operations, and only `create-outreach.ts` puts them together.
 *
 * The rule of imports: the parts import this file (and the types of `outreach.ts`), never each other,
 * so that `src/engine/` holds no import cycle.
 */
import type { CampaignEvent } from '../machines/campaign.js';
import type { MessageEvent } from '../machines/message-events.js';
import { createMessageStepper, type MessageStepper } from '../machines/message-step.js';
import { type Policy, policyFromStored, resolvePolicy, storePolicy } from '../policy.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { Storage, StorageTransaction } from '../ports/storage.js';
import type { EmailTransport, SmsTransport } from '../ports/transport.js';
import type { CampaignCounters, CampaignRecord, MessageRecord } from '../records.js';
import type { Channel, MessageCounts } from '../statuses.js';
import type { OutreachEvent, OutreachListener } from './events.js';
import type { BatchOutcome, MessageChange } from './message-batch.js';
import type { OutreachOptions } from './outreach.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { campaignNotFound } from './refusals.js';
import { type ContentRenderer, defaultRenderer, type NormalizedAddress } from './render-message.js';
import { type Campaign, type CampaignAction, campaignView } from './views.js';

/** Where the deadline of a campaign's scheduled start is kept. */
export const startKey = (campaignId: string) => `${campaignId}|start`;

/** Where the deadline after which a campaign sends nothing more is kept. */
export const deadlineKey = (campaignId: string) => `${campaignId}|deadline`;

/** The message machine states before the hand-over to a transport (all show as Waiting or Queued). */
/**
 * The greatest id of a claimed batch, where the next keyset claim (`claimMessages`' `after`) starts.
 * The greatest, not the last: a storage may return a batch in another order than by id.
 */
export function lastId(batch: readonly { readonly id: string }[]): string | undefined {
  let max: string | undefined;
  for (const m of batch) if (max === undefined || m.id > max) max = m.id;
  return max;
}

export const NOT_HANDED_OVER: readonly string[] = ['waiting', 'queued', 'backoff', 'outside_window'];

/** Work a transaction asks for that may only happen once it has committed. */
export type AfterCommitEffect =
  /** A campaign gave its channel back: a due scheduled campaign of that scope and channel may start. */
  { readonly type: 'channel_freed'; readonly scope: string; readonly channel: Channel };

/**
 * What a transaction's callback produces besides its result. Both lists are fresh for every run of
 * the callback (an adapter re-runs it after a conflict) and acted on only after the commit.
 */
export interface TxEffects {
  /** Events for subscribers, emitted after the commit. */
  readonly events: OutreachEvent[];
  /** Work to do after the commit (see {@link AfterCommitEffect}). */
  readonly afterCommit: AfterCommitEffect[];
}

/** The engine's resolved options and the services every part uses. */
export interface EngineContext {
  /** The options as given to `createOutreach` (checked at the door). */
  readonly options: OutreachOptions;
  readonly storage: Storage;
  /** Where time comes from (`systemClock` unless given). */
  readonly clock: Clock;
  /** This engine's policy; a campaign takes it when it first runs (see {@link EngineContext.policyOf}). */
  readonly policy: Policy;
  /** The scope of campaigns, opt-outs and suppression checks given none. */
  readonly defaultScope: string;
  /** Messages per storage transaction in bulk work. */
  readonly batchSize: number;
  /** Renders and checks content, and normalises addresses. */
  readonly renderer: ContentRenderer;
  /** Where errors go that nobody can be thrown to (a transport that threw, a listener that threw). */
  readonly onError: (error: unknown) => void;
  /** The transport of each channel sent on. */
  readonly transports: { readonly sms?: SmsTransport | undefined; readonly email?: EmailTransport | undefined };
  /** The rate limit of each channel's transport. */
  readonly limiters: Readonly<Record<Channel, RateLimiter>>;
  /** Subscribers to events. */
  readonly listeners: Set<OutreachListener>;
  /** Message steppers of this engine's policy. */
  readonly steppers: Readonly<Record<Channel, MessageStepper>>;
  /** Message steppers of the policy a campaign runs with. */
  steppersOf(c: CampaignRecord): Readonly<Record<Channel, MessageStepper>>;
  /** The policy a campaign runs with: its own once it has run, else this engine's. */
  policyOf(c: CampaignRecord): Policy;
  /** Normalises an address of the channel with the engine's phone options. */
  normalize(channel: Channel, raw: string): NormalizedAddress;
  /**
   * Runs `fn` in one storage transaction; after the commit, emits its events and does its
   * after-commit work. A run that does not commit leaves no trace of either.
   */
  tx<T>(fn: (t: StorageTransaction, fx: TxEffects) => Promise<T>): Promise<T>;
  /** The campaign, locked for the transaction; `NOT_FOUND` when unknown. */
  mustGetCampaign(t: StorageTransaction, id: string): Promise<CampaignRecord>;
  /** A campaign as queries return it (with its counters). */
  view(t: StorageTransaction, c: CampaignRecord): Promise<Campaign>;
}

/** One move of a campaign through its machine (see {@link CampaignMoves.moveCampaign}). */
export interface CampaignMove {
  readonly campaign: CampaignRecord;
  readonly event: CampaignEvent;
  /**
   * The command asking for the move: when the machine refuses it, `INVALID_STATE` names it. Without
   * one (a move the engine derives), a refused move leaves the campaign as it is.
   */
  readonly action?: CampaignAction | undefined;
  /** Why the status changes, for subscribers (`failure_rate`, `transport_refused_credentials`). */
  readonly cause?: string | undefined;
}

/** Campaign moves: the machine, the channel claim and the derived running status kept in step. */
export interface CampaignMoves {
  /**
   * Moves a campaign through its machine, claims or releases its channel, records the change and
   * reports it (a status event; a freed channel after commit). Returns the campaign after the move.
   */
  moveCampaign(t: StorageTransaction, fx: TxEffects, move: CampaignMove): Promise<CampaignRecord>;
  /** Whether these counters would change the campaign (its status or context, a failure-rate pause or the spam-complaint brake). */
  progressWouldMove(c: CampaignRecord, counters: CampaignCounters): boolean;
  /** A progress event of the campaign for subscribers. */
  progressEvent(c: CampaignRecord, counts: MessageCounts, at: number): OutreachEvent;
  /** Feeds the counters of locked campaigns to their machines (and pauses on a high failure rate). */
  progressCampaigns(t: StorageTransaction, fx: TxEffects, locked: readonly CampaignRecord[]): Promise<void>;
  /** Re-derives a campaign's status from its counters (after a resume, messages may all be final). */
  rederive(t: StorageTransaction, fx: TxEffects, c: CampaignRecord): Promise<void>;
}

/** The message flow: message batches stepped and counted, and the campaign work built on them. */
export interface MessageFlow {
  /**
   * Steps messages and adds their counter moves. The campaigns' statuses are derived here too, under
   * their row lock, unless `deferProgress`: the caller then derives them in a later transaction
   * ({@link MessageFlow.progressAfter}), so that concurrent callers never queue on the campaign row.
   */
  applyChanges(
    t: StorageTransaction,
    fx: TxEffects,
    changes: readonly MessageChange[],
    deferProgress?: boolean,
  ): Promise<BatchOutcome>;
  /**
   * Derives the status of campaigns whose counters a committed transaction moved without their lock;
   * resolves once a derivation that started after that commit has ended.
   */
  progressAfter(campaignIds: Iterable<string>): Promise<void>;
  /** Steps every message of a campaign in the given machine states with one event, batch by batch. */
  forEachMessageIn(
    t: StorageTransaction,
    fx: TxEffects,
    campaignId: string,
    states: readonly string[],
    makeEvent: (m: MessageRecord, at: number) => MessageEvent | null,
  ): Promise<void>;
  /**
   * Cancels those of the given messages that are Queued in a stopped campaign (nothing of it is sent
   * again, so a message given back to the queue there ends Cancelled instead of waiting for ever).
   */
  cancelQueuedIfStopped(t: StorageTransaction, fx: TxEffects, ids: readonly string[], at: number): Promise<void>;
  /** Runs a campaign: fixes its policy, claims its channel and queues its waiting messages. */
  startCampaign(t: StorageTransaction, fx: TxEffects, c: CampaignRecord): Promise<CampaignRecord>;
}

/** Everything the parts of the engine are built on. */
export type EngineParts = EngineContext & CampaignMoves & MessageFlow;

/**
 * Builds the context from the engine's options. `afterCommit` receives the after-commit work of every
 * transaction that committed (never of one that did not).
 */
export function createEngineContext(
  options: OutreachOptions,
  afterCommit: (effects: readonly AfterCommitEffect[]) => void,
): EngineContext {
  const { storage } = options;
  const clock = options.clock ?? systemClock;
  const policy = resolvePolicy(options.policy);
  const renderer = options.renderer ?? defaultRenderer;
  const onError = options.onError ?? ((e: unknown) => console.error('[campaign-lifecycle]', e));
  const steppers: Record<Channel, MessageStepper> = {
    sms: createMessageStepper('sms', policy),
    email: createMessageStepper('email', policy),
  };
  // Steppers per policy (a campaign's policy never changes once it runs).
  const steppersByPolicy = new Map<string, Record<Channel, MessageStepper>>([
    [JSON.stringify(storePolicy(policy)), steppers],
  ]);
  const transports: { sms?: SmsTransport; email?: EmailTransport } = {};
  if (options.transports.sms) transports.sms = options.transports.sms;
  if (options.transports.email) transports.email = options.transports.email;
  const listeners = new Set<OutreachListener>();
  const phoneOptions = { defaultCountry: options.defaultCountry, allowedCountries: options.allowedCountries };

  const emit = (events: readonly OutreachEvent[]) => {
    if (listeners.size === 0) return;
    for (const e of events) {
      for (const l of listeners) {
        try {
          l(e);
        } catch (error) {
          onError(error);
        }
      }
    }
  };

  return {
    options,
    storage,
    clock,
    policy,
    defaultScope: options.defaultScope ?? 'default',
    batchSize: options.batchSize ?? 500,
    renderer,
    onError,
    transports,
    limiters: {
      sms: createRateLimiter(options.transports.sms?.limits?.ratePerSecond),
      email: createRateLimiter(options.transports.email?.limits?.ratePerSecond),
    },
    listeners,
    steppers,
    steppersOf(c) {
      if (!c.policy) return steppers;
      const key = JSON.stringify(c.policy);
      let s = steppersByPolicy.get(key);
      if (!s) {
        const p = policyFromStored(c.policy);
        s = { sms: createMessageStepper('sms', p), email: createMessageStepper('email', p) };
        if (steppersByPolicy.size > 100) steppersByPolicy.clear();
        steppersByPolicy.set(key, s);
      }
      return s;
    },
    policyOf: (c) => (c.policy ? policyFromStored(c.policy) : policy),
    normalize: (channel, raw) => renderer.normalizeAddress(channel, raw, phoneOptions),
    async tx(fn) {
      let fx: TxEffects = { events: [], afterCommit: [] };
      const result = await storage.transaction((t) => {
        fx = { events: [], afterCommit: [] }; // the adapter may re-run fn after a conflict
        return fn(t, fx);
      });
      emit(fx.events);
      if (fx.afterCommit.length > 0) afterCommit(fx.afterCommit);
      return result;
    },
    async mustGetCampaign(t, id) {
      return (await t.getCampaign(id, { forUpdate: true })) ?? campaignNotFound(id);
    },
    view: async (t, c) => campaignView(c, await t.getCounters(c.id)),
  };
}
