/**
 * The campaign commands: create, edit, save, schedule, run, pause, resume, stop, close, retry,
 * archive, delete. Each runs in one transaction; a refused command throws an `OutreachError` and
 * changes nothing. Commands that may free a channel or make work start due scheduled campaigns and
 * wake the worker once committed.
 */
import * as z from 'zod';
import type { CampaignContent } from '../content.js';
import { EmailContentSchema, SmsContentSchema } from '../content.js';
import { OutreachError } from '../errors.js';
import { FAILURE_REASONS } from '../failure-reasons.js';
import { LIMITS } from '../limits.js';
import { type CampaignEvent, inFlightCount, initialCampaignState } from '../machines/campaign.js';
import { canRetry } from '../machines/message-machine-shared.js';
import type { StorageTransaction } from '../ports/storage.js';
import type { CampaignRecord, ContactRecord, MessageRecord } from '../records.js';
import { type SendingWindow, SendingWindowSchema } from '../sending-window.js';
import type { Channel } from '../statuses.js';
import { knownFields } from './contact-commands.js';
import { type EngineParts, NOT_HANDED_OVER, startKey, type TxEffects } from './context.js';
import { createId } from './ids.js';
import type { CreateCampaignInput, Outreach, RetryResult, UpdateCampaignInput } from './outreach.js';
import { byId, pages } from './paging.js';
import { ensureAllowed, invalid } from './refusals.js';
import type { Campaign, CampaignAction } from './views.js';

// The door (door.ts) has checked every argument against LIMITS already; these shape the parsed values.
const NameSchema = z.string().trim().min(1, 'a campaign needs a name').max(LIMITS.nameLength);
const CreateSchema = z.object({
  name: NameSchema,
  channel: z.enum(['sms', 'email']),
  scope: z.string().trim().min(1).max(LIMITS.scopeLength).optional(),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  content: z.unknown().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  sendingWindow: SendingWindowSchema.nullable().optional(),
  deadline: z.union([z.date(), z.number().finite()]).nullable().optional(),
});
const ScheduleAtSchema = z.union([z.date(), z.number().finite()]);
const UpdateSchema = z.object({
  name: NameSchema.optional(),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  content: z.unknown().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  sendingWindow: SendingWindowSchema.nullable().optional(),
  deadline: z.union([z.date(), z.number().finite()]).nullable().optional(),
});

/** The sending window and deadline given (a key only for what was given; `null` clears). */
function timing(input: {
  sendingWindow?: SendingWindow | null | undefined;
  deadline?: Date | number | null | undefined;
}) {
  return {
    ...(input.sendingWindow !== undefined ? { sendingWindow: input.sendingWindow } : {}),
    ...(input.deadline !== undefined
      ? { deadline: input.deadline instanceof Date ? input.deadline.getTime() : input.deadline }
      : {}),
  };
}

/** Contacts that cannot fill the template named in a refused save, at most. */
const UNFILLABLE_REPORTED = 20;

function parseContent(channel: Channel, content: unknown): CampaignContent {
  const schema = channel === 'sms' ? SmsContentSchema : EmailContentSchema;
  const r = schema.safeParse(content);
  if (!r.success) throw invalid(`The ${channel} content`, r.error);
  return r.data;
}

/** Whether a failed message may be retried by hand: the message machine's rule (a retryable reason). */
const retryable = (m: MessageRecord) => canRetry(m.state, m.context);

/** The campaign commands. */
export type CampaignCommands = Pick<
  Outreach,
  | 'createCampaign'
  | 'updateCampaign'
  | 'save'
  | 'schedule'
  | 'unschedule'
  | 'run'
  | 'pause'
  | 'resume'
  | 'stop'
  | 'close'
  | 'retryFailed'
  | 'retryCampaign'
  | 'archive'
  | 'delete'
>;

/** What the campaign commands do once committed: start due scheduled campaigns, wake the worker. */
export interface AfterCommand {
  startDueScheduled(): Promise<void>;
  kick(): void;
}

/** A contact that cannot fill the template. */
interface Unfillable {
  readonly contactId: string;
  readonly address: string;
  readonly missing: string[];
}

/** Builds the campaign commands over the engine's parts. */
export function createCampaignCommands(parts: EngineParts, worker: AfterCommand): CampaignCommands {
  const {
    clock,
    defaultScope,
    batchSize,
    renderer,
    steppers,
    tx,
    mustGetCampaign,
    moveCampaign,
    applyChanges,
    forEachMessageIn,
    view,
    startCampaign,
    rederive,
  } = parts;

  const afterCommand = <T>(p: Promise<T>): Promise<T> =>
    p.then(async (v) => {
      await worker.startDueScheduled();
      worker.kick();
      return v;
    });

  const createCampaign = async (input: CreateCampaignInput): Promise<Campaign> => {
    const parsed = CreateSchema.safeParse(input);
    if (!parsed.success) throw invalid('The campaign', parsed.error);
    const p = parsed.data;
    const content = p.content === undefined ? null : parseContent(p.channel, p.content);
    return tx(async (t) => {
      const now = clock.now();
      const record: CampaignRecord = {
        id: createId('cmp'),
        scope: p.scope ?? defaultScope,
        channel: p.channel,
        name: p.name,
        description: p.description ?? '',
        status: 'draft',
        state: initialCampaignState(p.channel),
        content,
        metadata: p.metadata ?? {},
        messageCount: 0,
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        finishedAt: null,
        ...timing(p),
      };
      await t.insertCampaign(record);
      return view(t, record);
    });
  };

  const updateCampaign = async (id: string, patch: UpdateCampaignInput) => {
    const parsed = UpdateSchema.safeParse(patch);
    if (!parsed.success) throw invalid('The campaign update', parsed.error);
    return tx(async (t, fx) => {
      const c = await mustGetCampaign(t, id);
      const moved = await moveCampaign(t, fx, { campaign: c, event: { type: 'EDIT' }, action: 'edit' });
      const content = parsed.data.content === undefined ? c.content : parseContent(c.channel, parsed.data.content);
      if (c.status !== 'draft' && content) renderer.validate(c.channel, content, await knownFields(t, id));
      const updated: CampaignRecord = {
        ...moved,
        name: parsed.data.name ?? c.name,
        description: parsed.data.description ?? c.description,
        metadata: parsed.data.metadata ?? c.metadata,
        content,
        ...timing(parsed.data),
        updatedAt: clock.now(),
      };
      await t.updateCampaign(updated);
      return view(t, updated);
    });
  };

  /** Save, step 1: the campaign has content and contacts, and the template takes their fields. */
  const checkSavable = async (t: StorageTransaction, c: CampaignRecord): Promise<CampaignContent> => {
    ensureAllowed(c, { type: 'SAVE' }, 'save');
    if (!c.content) {
      throw new OutreachError(
        'VALIDATION_FAILED',
        `Campaign "${c.name}" has no content yet; set it with updateCampaign before saving.`,
        { details: { campaignId: c.id } },
      );
    }
    if ((await t.countContacts(c.id)) === 0) {
      throw new OutreachError(
        'VALIDATION_FAILED',
        `Campaign "${c.name}" has no contacts; add or import at least one before saving.`,
        { details: { campaignId: c.id } },
      );
    }
    renderer.validate(c.channel, c.content, await knownFields(t, c.id));
    return c.content;
  };

  /**
   * Save, step 2: one Waiting message per contact, page by page; the contacts that cannot fill the
   * template are collected instead (and then no more messages are written: the save fails).
   */
  const createMessages = async (t: StorageTransaction, c: CampaignRecord, content: CampaignContent) => {
    const now = clock.now();
    const initial = steppers[c.channel].initial(now);
    let created = 0;
    const unfillable: Unfillable[] = [];
    for await (const page of pages((after, limit) => t.listContacts(c.id, { after, limit }), batchSize, byId)) {
      const rows: MessageRecord[] = [];
      for (const contact of page) {
        const missing = renderer.missingFields(c.channel, content, contact.fields);
        if (missing.length) {
          if (unfillable.length < UNFILLABLE_REPORTED)
            unfillable.push({ contactId: contact.id, address: contact.address, missing });
          continue;
        }
        rows.push(newMessage(c, contact, initial, now));
      }
      if (unfillable.length === 0) {
        await t.insertMessages(rows);
        created += rows.length;
      }
    }
    return { created, unfillable };
  };

  const save = (id: string) =>
    tx(async (t, fx) => {
      const c = await mustGetCampaign(t, id);
      const content = await checkSavable(t, c);
      const { created, unfillable } = await createMessages(t, c, content);
      if (unfillable.length) throw unfillableError(c, unfillable);
      await t.addCounters([{ campaignId: id, counts: { waiting: created } }]);
      const moved = await moveCampaign(t, fx, {
        campaign: { ...c, messageCount: created },
        event: { type: 'SAVE' },
        action: 'save',
      });
      return view(t, moved);
    });

  const run = (id: string) =>
    afterCommand(
      tx(async (t, fx) => {
        const c = await mustGetCampaign(t, id);
        return view(t, await startCampaign(t, fx, c));
      }),
    );

  const schedule = async (id: string, at: Date | number) => {
    const parsed = ScheduleAtSchema.safeParse(at);
    const time = parsed.success ? (parsed.data instanceof Date ? parsed.data.getTime() : parsed.data) : Number.NaN;
    if (!Number.isFinite(time)) {
      throw new OutreachError(
        'VALIDATION_FAILED',
        'The schedule time must be a valid Date or a number of milliseconds since the epoch.',
      );
    }
    return afterCommand(
      tx(async (t, fx) => {
        const c = await mustGetCampaign(t, id);
        const moved = await moveCampaign(t, fx, {
          campaign: c,
          event: { type: 'SCHEDULE', at: time },
          action: 'schedule',
        });
        await t.upsertDeadlines([
          {
            id: startKey(id),
            kind: 'campaign',
            entityId: id,
            campaignId: id,
            fireAt: time,
            event: { type: 'START_DUE' },
          },
        ]);
        return view(t, moved);
      }),
    );
  };

  /** A command that moves the campaign, then does its work on the messages (`after`). */
  const simple =
    (
      event: CampaignEvent,
      action: CampaignAction,
      after?: (t: StorageTransaction, fx: TxEffects, c: CampaignRecord) => Promise<void>,
    ) =>
    (id: string) =>
      afterCommand(
        tx(async (t, fx) => {
          const c = await mustGetCampaign(t, id);
          const moved = await moveCampaign(t, fx, { campaign: c, event, action });
          if (after) await after(t, fx, moved);
          return view(t, (await t.getCampaign(id)) ?? moved);
        }),
      );

  const stop = simple({ type: 'STOP' }, 'stop', async (t, fx, c) => {
    await t.deleteDeadlines([startKey(c.id)]);
    await forEachMessageIn(t, fx, c.id, NOT_HANDED_OVER, (_m, at) => ({ type: 'CANCEL', at }));
  });

  const close = simple({ type: 'CLOSE' }, 'close', async (t, fx, c) => {
    await forEachMessageIn(t, fx, c.id, [...NOT_HANDED_OVER, 'sending', 'sent', 'retrying'], (_m, at) => ({
      type: 'CLOSE',
      at,
    }));
    await rederive(t, fx, (await t.getCampaign(c.id)) ?? c);
  });

  /** Retry, step 1 (named messages): each is a failed message of the campaign with a retryable reason. */
  const namedFailures = async (t: StorageTransaction, campaignId: string, messageIds: readonly string[]) => {
    const found = new Map((await t.lockMessages(messageIds)).map((m) => [m.id, m]));
    return messageIds.map((mid) => {
      const m = found.get(mid);
      if (!m || m.campaignId !== campaignId) {
        throw new OutreachError('NOT_FOUND', `Message ${mid} is not a message of campaign ${campaignId}.`, {
          details: { messageId: mid },
        });
      }
      if (!retryable(m)) throw notRetryableMessage(m);
      return m;
    });
  };

  /** Retry, step 1 (all): every failed message of the campaign. */
  const allFailures = async (t: StorageTransaction, campaignId: string) => {
    const failed: MessageRecord[] = [];
    const list = (after: string | undefined, limit: number) =>
      t.listMessages(campaignId, { statuses: ['failed'], after, limit });
    for await (const page of pages(list, batchSize, byId)) failed.push(...page);
    return failed;
  };

  /** Retry, step 2: the messages step back to Queued, a batch at a time (read again under lock). */
  const requeue = async (t: StorageTransaction, fx: TxEffects, messages: readonly MessageRecord[]) => {
    const at = clock.now();
    for (let i = 0; i < messages.length; i += batchSize) {
      const fresh = await t.lockMessages(messages.slice(i, i + batchSize).map((m) => m.id));
      await applyChanges(
        t,
        fx,
        fresh.map((m) => ({ message: m, event: { type: 'RETRY', at } })),
      );
    }
  };

  const retryFailed = (id: string, opts: { messageIds?: readonly string[] } = {}): Promise<RetryResult> =>
    afterCommand(
      tx(async (t, fx) => {
        const c = await mustGetCampaign(t, id);
        ensureAllowed(c, { type: 'RETRY_FAILED' }, 'retryFailed');
        const candidates = opts.messageIds ? await namedFailures(t, id, opts.messageIds) : await allFailures(t, id);
        const chosen = candidates.filter(retryable);
        if (chosen.length === 0) {
          throw new OutreachError(
            'NOT_RETRYABLE',
            `Campaign "${c.name}" has no failed messages with a retryable reason (unreachable, invalid, unsupported country and opted-out numbers are never resent).`,
            { details: { campaignId: id, failed: candidates.length } },
          );
        }
        await moveCampaign(t, fx, { campaign: c, event: { type: 'RETRY_FAILED' }, action: 'retryFailed' });
        await requeue(t, fx, chosen);
        return { retried: chosen.length, skipped: candidates.length - chosen.length };
      }),
    );

  const deleteCampaign = (id: string) =>
    tx(async (t) => {
      const c = await mustGetCampaign(t, id);
      const { counts } = await t.getCounters(id);
      ensureAllowed(c, { type: 'DELETE', inFlight: inFlightCount(counts) }, 'delete');
      await t.deleteCampaign(id);
    });

  return {
    createCampaign,
    updateCampaign,
    save,
    schedule,
    unschedule: (id: string) =>
      afterCommand(
        tx(async (t, fx) => {
          const c = await mustGetCampaign(t, id);
          const moved = await moveCampaign(t, fx, { campaign: c, event: { type: 'UNSCHEDULE' }, action: 'unschedule' });
          await t.deleteDeadlines([startKey(id)]);
          return view(t, moved);
        }),
      ),
    run,
    pause: simple({ type: 'PAUSE' }, 'pause'),
    resume: simple({ type: 'RESUME' }, 'resume', rederive),
    stop,
    close,
    retryFailed,
    retryCampaign: simple({ type: 'RETRY_CAMPAIGN' }, 'retryCampaign'),
    archive: simple({ type: 'ARCHIVE' }, 'archive'),
    delete: deleteCampaign,
  };
}

/** A new Waiting message of the campaign to the contact. */
function newMessage(
  c: CampaignRecord,
  contact: ContactRecord,
  initial: Pick<MessageRecord, 'status' | 'state' | 'context'>,
  now: number,
): MessageRecord {
  return {
    id: createId('msg'),
    campaignId: c.id,
    contactId: contact.id,
    scope: c.scope,
    channel: c.channel,
    to: contact.address,
    status: initial.status,
    state: initial.state,
    context: initial.context,
    createdAt: now,
    updatedAt: now,
  };
}

/** `TEMPLATE_INVALID`: some contacts cannot fill the template (the first few named). */
function unfillableError(c: CampaignRecord, unfillable: readonly Unfillable[]): OutreachError {
  return new OutreachError(
    'TEMPLATE_INVALID',
    `Campaign "${c.name}" cannot be saved: some contacts cannot fill the template (e.g. ${unfillable
      .slice(0, 3)
      .map((u) => `${u.address} lacks ${u.missing.join(', ')}`)
      .join('; ')}). Give those variables a default ({{name|default}}) or fill the fields.`,
    { details: { campaignId: c.id, contacts: unfillable } },
  );
}

/** `NOT_RETRYABLE` for one message, with why. */
function notRetryableMessage(m: MessageRecord): OutreachError {
  const reason = m.context.reason;
  const label = reason ? FAILURE_REASONS[reason].label : m.status;
  const why =
    reason === 'unreachable' || reason === 'landline_or_unreachable_carrier'
      ? 'Unreachable numbers will not deliver if resent.'
      : 'Only failures with a retryable reason can be retried.';
  return new OutreachError(
    'NOT_RETRYABLE',
    `Message ${m.id} to ${m.to} cannot be retried: it is ${m.status}${reason ? ` (${label})` : ''}. ${why}`,
    { details: { messageId: m.id, status: m.status, reason } },
  );
}
