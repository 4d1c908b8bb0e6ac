/**
 * The campaign commands: create, contacts, save, schedule, run, pause, resume, stop, close, retry,
 * archive, delete, opt-out. Each runs in one transaction (imports: one per batch) and a refused
 * command throws an `OutreachError` and changes nothing.
 */
import * as z from 'zod';
import { type CsvSource, importContactsCsv } from '../contacts/csv-import.js';
import type { CampaignContent } from '../content.js';
import { EmailContentSchema, SmsContentSchema } from '../content.js';
import { OutreachError } from '../errors.js';
import { FAILURE_REASONS } from '../failure-reasons.js';
import { LIMITS } from '../limits.js';
import { type CampaignEvent, campaignCan, inFlightCount, initialCampaignState } from '../machines/campaign.js';
import type { StorageTransaction } from '../ports/storage.js';
import type { CampaignRecord, ContactRecord, MessageRecord } from '../records.js';
import type { Channel } from '../statuses.js';
import type {
  ContactInput,
  CreateCampaignInput,
  ImportContactsOptions,
  UpdateCampaignInput,
} from './create-outreach.js';
import { type EngineCore, invalid, startKey } from './engine-core.js';
import type { OutreachEvent } from './events.js';
import { createId } from './ids.js';
import type { CampaignAction } from './views.js';
import type { EngineWorker } from './worker.js';

// The door (door.ts) has checked every argument against LIMITS already; these shape the parsed values.
const NameSchema = z.string().trim().min(1, 'a campaign needs a name').max(LIMITS.nameLength);
const CreateSchema = z.object({
  name: NameSchema,
  channel: z.enum(['sms', 'email']),
  scope: z.string().trim().min(1).max(LIMITS.scopeLength).optional(),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  content: z.unknown().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
const ContactsSchema = z
  .array(
    z.object({
      address: z.string().max(LIMITS.addressLength),
      fields: z.record(z.string().max(LIMITS.fieldNameLength), z.string().max(LIMITS.fieldValueLength)).optional(),
    }),
  )
  .max(LIMITS.contactsPerCall, `add at most ${LIMITS.contactsPerCall} contacts per call; import a CSV for more`);
const ScheduleAtSchema = z.union([z.date(), z.number().finite()]);
const UpdateSchema = z.object({
  name: NameSchema.optional(),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  content: z.unknown().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

function parseContent(channel: Channel, content: unknown): CampaignContent {
  const schema = channel === 'sms' ? SmsContentSchema : EmailContentSchema;
  const r = schema.safeParse(content);
  if (!r.success) throw invalid(`The ${channel} content`, r.error);
  return r.data;
}

/** Builds the campaign commands over the core; `worker` is kicked after each one. */
export function createCampaignCommands(core: EngineCore, worker: EngineWorker) {
  const {
    options,
    clock,
    defaultScope,
    batchSize,
    renderer,
    steppers,
    normalize,
    tx,
    mustGetCampaign,
    refuse,
    moveCampaign,
    applyChanges,
    forEachMessageIn,
    view,
    startCampaign,
    rederive,
  } = core;
  const { startDueScheduled } = worker;

  const createCampaign = async (input: CreateCampaignInput) => {
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
      };
      await t.insertCampaign(record);
      return view(t, record);
    });
  };

  const knownFields = async (t: StorageTransaction, campaignId: string): Promise<string[]> => {
    const fields = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await t.listContacts(campaignId, { after, limit: 1000 });
      for (const c of page) for (const k of Object.keys(c.fields)) fields.add(k);
      if (page.length < 1000) break;
      after = page[page.length - 1]?.id;
    }
    return [...fields];
  };

  const updateCampaign = async (id: string, patch: UpdateCampaignInput) => {
    const parsed = UpdateSchema.safeParse(patch);
    if (!parsed.success) throw invalid('The campaign update', parsed.error);
    return tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      const moved = await moveCampaign(t, out, c, { type: 'EDIT' }, 'edit');
      const content = parsed.data.content === undefined ? c.content : parseContent(c.channel, parsed.data.content);
      if (c.status !== 'draft' && content) renderer.validate(c.channel, content, await knownFields(t, id));
      const updated: CampaignRecord = {
        ...moved,
        name: parsed.data.name ?? c.name,
        description: parsed.data.description ?? c.description,
        metadata: parsed.data.metadata ?? c.metadata,
        content,
        updatedAt: clock.now(),
      };
      await t.updateCampaign(updated);
      return view(t, updated);
    });
  };

  const addContacts = async (id: string, input: readonly ContactInput[]) => {
    const parsed = ContactsSchema.safeParse(input);
    if (!parsed.success) throw invalid('The contacts', parsed.error);
    const contacts = parsed.data;
    return tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      await moveCampaign(t, out, c, { type: 'EDIT_CONTACTS' }, 'addContacts');
      const rejected: { index: number; address: string; reason: string }[] = [];
      const good: { index: number; address: string; fields: Record<string, string> }[] = [];
      contacts.forEach((input, index) => {
        const r = normalize(c.channel, input.address);
        if (!r.ok) rejected.push({ index, address: input.address, reason: r.message });
        else good.push({ index, address: r.address, fields: { ...(input.fields ?? {}) } });
      });
      const existing = await t.existingAddresses(
        id,
        good.map((g) => g.address),
      );
      const seen = new Set<string>();
      let duplicates = 0;
      const now = clock.now();
      const rows: ContactRecord[] = [];
      for (const g of good) {
        if (existing.has(g.address) || seen.has(g.address)) {
          duplicates++;
          continue;
        }
        seen.add(g.address);
        rows.push({ id: createId('ctc'), campaignId: id, address: g.address, fields: g.fields, createdAt: now });
      }
      for (let i = 0; i < rows.length; i += batchSize) await t.insertContacts(rows.slice(i, i + batchSize));
      return { added: rows.length, duplicates, rejected };
    });
  };

  const importContacts = async (id: string, source: CsvSource, opts: ImportContactsOptions = {}) => {
    const draft = async (t: StorageTransaction) => {
      const c = await mustGetCampaign(t, id);
      if (!campaignCan(c.state, { type: 'EDIT_CONTACTS' })) refuse(c, 'addContacts');
      return c;
    };
    const c = await tx(draft);
    return importContactsCsv(
      source,
      {
        channel: c.channel,
        defaultCountry: opts.defaultCountry ?? options.defaultCountry,
        allowedCountries: opts.allowedCountries ?? options.allowedCountries,
        ...(opts.addressColumn ? { addressColumn: opts.addressColumn } : {}),
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        existing: (addresses: string[]) => tx((t) => t.existingAddresses(id, addresses)),
        // A custom renderer normalises imported addresses as it does those of addContacts.
        ...(options.renderer && {
          normalizeAddress: (raw: string) =>
            renderer.normalizeAddress(c.channel, raw, {
              defaultCountry: opts.defaultCountry ?? options.defaultCountry,
              allowedCountries: opts.allowedCountries ?? options.allowedCountries,
            }),
        }),
      },
      (rows) =>
        tx(async (t) => {
          await draft(t);
          const now = clock.now();
          await t.insertContacts(
            rows.map((r) => ({
              id: createId('ctc'),
              campaignId: id,
              address: r.address,
              fields: r.fields,
              createdAt: now,
            })),
          );
        }),
    );
  };

  const removeContacts = (id: string, contactIds?: readonly string[]) =>
    tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      await moveCampaign(t, out, c, { type: 'EDIT_CONTACTS' }, 'addContacts');
      return t.deleteContacts(id, contactIds);
    });

  const save = (id: string) =>
    tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      if (!campaignCan(c.state, { type: 'SAVE' })) refuse(c, 'save');
      if (!c.content) {
        throw new OutreachError(
          'VALIDATION_FAILED',
          `Campaign "${c.name}" has no content yet; set it with updateCampaign before saving.`,
          {
            details: { campaignId: id },
          },
        );
      }
      const count = await t.countContacts(id);
      if (count === 0) {
        throw new OutreachError(
          'VALIDATION_FAILED',
          `Campaign "${c.name}" has no contacts; add or import at least one before saving.`,
          {
            details: { campaignId: id },
          },
        );
      }
      renderer.validate(c.channel, c.content, await knownFields(t, id));
      const now = clock.now();
      const initial = steppers[c.channel].initial(now);
      let after: string | undefined;
      let created = 0;
      const unfillable: { contactId: string; address: string; missing: string[] }[] = [];
      for (;;) {
        const page = await t.listContacts(id, { after, limit: batchSize });
        if (page.length === 0) break;
        const rows: MessageRecord[] = [];
        for (const contact of page) {
          const missing = renderer.missingFields(c.channel, c.content, contact.fields);
          if (missing.length) {
            if (unfillable.length < 20) unfillable.push({ contactId: contact.id, address: contact.address, missing });
            continue;
          }
          rows.push({
            id: createId('msg'),
            campaignId: id,
            contactId: contact.id,
            scope: c.scope,
            channel: c.channel,
            to: contact.address,
            status: initial.status,
            state: initial.state,
            context: initial.context,
            createdAt: now,
            updatedAt: now,
          });
        }
        if (unfillable.length === 0) {
          await t.insertMessages(rows);
          created += rows.length;
        }
        after = page[page.length - 1]?.id;
      }
      if (unfillable.length) {
        throw new OutreachError(
          'TEMPLATE_INVALID',
          `Campaign "${c.name}" cannot be saved: some contacts cannot fill the template (e.g. ${unfillable
            .slice(0, 3)
            .map((u) => `${u.address} lacks ${u.missing.join(', ')}`)
            .join('; ')}). Give those variables a default ({{name|default}}) or fill the fields.`,
          { details: { campaignId: id, contacts: unfillable } },
        );
      }
      await t.addCounters([{ campaignId: id, counts: { waiting: created } }]);
      const moved = await moveCampaign(t, out, { ...c, messageCount: created }, { type: 'SAVE' }, 'save');
      return view(t, moved);
    });

  const afterCommand = <T>(p: Promise<T>): Promise<T> =>
    p.then(async (v) => {
      await startDueScheduled();
      worker.kick();
      return v;
    });

  const run = (id: string) =>
    afterCommand(
      tx(async (t, out) => {
        const c = await mustGetCampaign(t, id);
        return view(t, await startCampaign(t, out, c));
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
      tx(async (t, out) => {
        const c = await mustGetCampaign(t, id);
        const moved = await moveCampaign(t, out, c, { type: 'SCHEDULE', at: time }, 'schedule');
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
      after?: (t: StorageTransaction, out: OutreachEvent[], c: CampaignRecord) => Promise<void>,
    ) =>
    (id: string) =>
      afterCommand(
        tx(async (t, out) => {
          const c = await mustGetCampaign(t, id);
          const moved = await moveCampaign(t, out, c, event, action);
          if (after) await after(t, out, moved);
          return view(t, (await t.getCampaign(id)) ?? moved);
        }),
      );

  const stop = simple({ type: 'STOP' }, 'stop', async (t, out, c) => {
    await t.deleteDeadlines([startKey(c.id)]);
    await forEachMessageIn(c.id, ['waiting', 'queued', 'backoff'], (_m, at) => ({ type: 'CANCEL', at }), t, out);
  });

  const close = simple({ type: 'CLOSE' }, 'close', async (t, out, c) => {
    await forEachMessageIn(
      c.id,
      ['waiting', 'queued', 'backoff', 'sending', 'sent', 'retrying'],
      (_m, at) => ({ type: 'CLOSE', at }),
      t,
      out,
    );
    await rederive(t, out, (await t.getCampaign(c.id)) ?? c);
  });

  const retryFailed = (id: string, opts: { messageIds?: readonly string[] } = {}) =>
    afterCommand(
      tx(async (t, out) => {
        const c = await mustGetCampaign(t, id);
        if (!campaignCan(c.state, { type: 'RETRY_FAILED' })) refuse(c, 'retryFailed');
        const candidates: MessageRecord[] = [];
        if (opts.messageIds) {
          const found = await t.lockMessages(opts.messageIds);
          const byId = new Map(found.map((m) => [m.id, m]));
          for (const mid of opts.messageIds) {
            const m = byId.get(mid);
            if (!m || m.campaignId !== id) {
              throw new OutreachError('NOT_FOUND', `Message ${mid} is not a message of campaign ${id}.`, {
                details: { messageId: mid },
              });
            }
            if (m.status !== 'failed' || !m.context.reason || !FAILURE_REASONS[m.context.reason].retryable) {
              const label = m.context.reason ? FAILURE_REASONS[m.context.reason].label : m.status;
              throw new OutreachError(
                'NOT_RETRYABLE',
                `Message ${mid} to ${m.to} cannot be retried: it is ${m.status}${m.context.reason ? ` (${label})` : ''}. ${
                  m.context.reason === 'unreachable' || m.context.reason === 'landline_or_unreachable_carrier'
                    ? 'Unreachable numbers will not deliver if resent.'
                    : 'Only failures with a retryable reason can be retried.'
                }`,
                { details: { messageId: mid, status: m.status, reason: m.context.reason } },
              );
            }
            candidates.push(m);
          }
        } else {
          let after: string | undefined;
          for (;;) {
            const page = await t.listMessages(id, { statuses: ['failed'], after, limit: batchSize });
            candidates.push(...page);
            if (page.length < batchSize) break;
            after = page[page.length - 1]?.id;
          }
        }
        const retryable = candidates.filter((m) => m.context.reason && FAILURE_REASONS[m.context.reason].retryable);
        if (retryable.length === 0) {
          throw new OutreachError(
            'NOT_RETRYABLE',
            `Campaign "${c.name}" has no failed messages with a retryable reason (unreachable, invalid, unsupported country and opted-out numbers are never resent).`,
            { details: { campaignId: id, failed: candidates.length } },
          );
        }
        const moved = await moveCampaign(t, out, c, { type: 'RETRY_FAILED' }, 'retryFailed');
        void moved;
        const at = clock.now();
        for (let i = 0; i < retryable.length; i += batchSize) {
          const fresh = await t.lockMessages(retryable.slice(i, i + batchSize).map((m) => m.id));
          await applyChanges(
            t,
            out,
            fresh.map((m) => ({ message: m, event: { type: 'RETRY', at } })),
          );
        }
        return { retried: retryable.length, skipped: candidates.length - retryable.length };
      }),
    );

  const deleteCampaign = (id: string) =>
    tx(async (t, out) => {
      const c = await mustGetCampaign(t, id);
      const counters = await t.getCounters(id);
      if (!campaignCan(c.state, { type: 'DELETE', inFlight: inFlightCount(counters.counts) })) refuse(c, 'delete');
      void out;
      await t.deleteCampaign(id);
    });

  const optOut = (input: { channel: Channel; address: string; scope?: string; messageId?: string; source?: string }) =>
    tx(async (t, out) => {
      const source = input.source ?? 'manual';
      const at = clock.now();
      if (input.messageId) {
        const [m] = await t.lockMessages([input.messageId]);
        if (!m) throw new OutreachError('NOT_FOUND', `Message ${input.messageId} does not exist.`);
        await t.addSuppressions([{ scope: m.scope, channel: m.channel, address: m.to, source, at }]);
        const c = await t.getCampaign(m.campaignId);
        if (c && c.status !== 'archived')
          await applyChanges(t, out, [{ message: m, event: { type: 'OPT_OUT', at, source } }]);
        return;
      }
      const r = normalize(input.channel, input.address);
      if (!r.ok) throw new OutreachError('VALIDATION_FAILED', `Cannot opt out "${input.address}": ${r.message}`);
      await t.addSuppressions([
        { scope: input.scope ?? defaultScope, channel: input.channel, address: r.address, source, at },
      ]);
    });

  const optIn = (input: { channel: Channel; address: string; scope?: string }) =>
    tx(async (t) => {
      const r = normalize(input.channel, input.address);
      if (!r.ok) throw new OutreachError('VALIDATION_FAILED', `Cannot opt in "${input.address}": ${r.message}`);
      return t.removeSuppression(input.scope ?? defaultScope, input.channel, r.address);
    });

  const isSuppressed = (input: { channel: Channel; address: string; scope?: string }) =>
    tx(async (t) => {
      const r = normalize(input.channel, input.address);
      if (!r.ok) return false;
      return (await t.suppressedAmong(input.scope ?? defaultScope, input.channel, [r.address])).has(r.address);
    });

  return {
    createCampaign,
    updateCampaign,
    addContacts,
    importContacts,
    removeContacts,
    save,
    schedule,
    unschedule: (id: string) =>
      afterCommand(
        tx(async (t, out) => {
          const c = await mustGetCampaign(t, id);
          const moved = await moveCampaign(t, out, c, { type: 'UNSCHEDULE' }, 'unschedule');
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
    optOut,
    optIn,
    isSuppressed,
  };
}
