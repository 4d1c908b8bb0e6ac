/**
 * One-off messages (seed 004: single messages in conversations, with the same statuses): `send`
 * creates one message outside any campaign. It is stored as a one-message campaign marked `oneOff`,
 * hidden from campaign lists and exports and holding no channel claim, so the message has the whole
 * lifecycle of a campaign's (suppression checked at dispatch, the channel's shared rate limit, retries,
 * timeouts, webhooks, late corrections, opt-out) without a single new storage method.
 */
import type { CampaignContent } from '../content.js';
import { EmailContentSchema, SmsContentSchema } from '../content.js';
import { OutreachError } from '../errors.js';
import { messagesCsv } from '../export/messages-csv.js';
import { initialCampaignState } from '../machines/campaign.js';
import type { CampaignRecord, ContactRecord, MessageRecord } from '../records.js';
import type { Channel } from '../statuses.js';
import type { EngineParts } from './context.js';
import { createId } from './ids.js';
import type { Outreach, SendInput } from './outreach.js';
import { invalid } from './refusals.js';

/** The one-off commands. */
export type OneOffCommands = Pick<Outreach, 'send' | 'listMessagesTo' | 'exportMessagesTo'>;

/** The name a one-off message's hidden campaign carries (it shows in its message's exports). */
export const ONE_OFF_NAME = 'One-off message';

function parseContent(channel: Channel, content: unknown): CampaignContent {
  const schema = channel === 'sms' ? SmsContentSchema : EmailContentSchema;
  const r = schema.safeParse(content);
  if (!r.success) throw invalid(`The ${channel} content`, r.error);
  return r.data;
}

/** Builds the one-off commands; `kick` wakes the worker after a send committed. */
export function createOneOffCommands(parts: EngineParts, kick: () => void): OneOffCommands {
  const { clock, tx, defaultScope, normalize, renderer, steppers, moveCampaign, startCampaign } = parts;

  const send: Outreach['send'] = async (input: SendInput) => {
    const content = parseContent(input.channel, input.content);
    const fields = { ...(input.fields ?? {}) };
    const r = normalize(input.channel, input.to);
    if (!r.ok) {
      throw new OutreachError('VALIDATION_FAILED', `send: "${input.to}" is not a valid address: ${r.message}`, {
        details: { field: 'to' },
      });
    }
    // The template must be filled by the fields given (as a campaign's save checks its contacts).
    renderer.validate(input.channel, content, Object.keys(fields));
    const missing = renderer.missingFields(input.channel, content, fields);
    if (missing.length) {
      throw new OutreachError(
        'TEMPLATE_INVALID',
        `send: the content uses ${missing.join(', ')} but fields give no value; pass them in fields or give a default ({{name|default}}).`,
        { details: { missing } },
      );
    }
    const message = await tx(async (t, fx) => {
      const now = clock.now();
      const campaign: CampaignRecord = {
        id: createId('cmp'),
        scope: input.scope ?? defaultScope,
        channel: input.channel,
        name: ONE_OFF_NAME,
        description: '',
        status: 'draft',
        state: initialCampaignState(input.channel),
        content,
        metadata: {},
        messageCount: 1,
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        finishedAt: null,
        oneOff: true,
      };
      const contact: ContactRecord = {
        id: createId('ctc'),
        campaignId: campaign.id,
        address: r.address,
        fields,
        createdAt: now,
      };
      const initial = steppers[input.channel].initial(now);
      const m: MessageRecord = {
        id: createId('msg'),
        campaignId: campaign.id,
        contactId: contact.id,
        scope: campaign.scope,
        channel: campaign.channel,
        to: contact.address,
        status: initial.status,
        state: initial.state,
        context: initial.context,
        createdAt: now,
        updatedAt: now,
      };
      await t.insertCampaign(campaign);
      await t.insertContacts([contact]);
      await t.insertMessages([m]);
      await t.addCounters([{ campaignId: campaign.id, counts: { waiting: 1 } }]);
      const saved = await moveCampaign(t, fx, { campaign, event: { type: 'SAVE' }, action: 'save' });
      await startCampaign(t, fx, saved);
      return (await t.getMessage(m.id)) ?? m;
    });
    kick();
    return message;
  };

  const listMessagesTo: Outreach['listMessagesTo'] = async (input) => {
    const r = normalize(input.channel, input.address);
    if (!r.ok) return [];
    const scope = input.scope ?? defaultScope;
    return tx(async (t) => {
      const out: MessageRecord[] = [];
      for (const c of await t.listCampaigns({ scope, channel: input.channel })) {
        if (!c.oneOff) continue;
        for (const m of await t.listMessages(c.id, { limit: 10 })) if (m.to === r.address) out.push(m);
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    });
  };

  const exportMessagesTo: Outreach['exportMessagesTo'] = (input, opts = {}) =>
    messagesCsv(
      (async function* () {
        const ms = await listMessagesTo(input);
        const contacts = opts.fields?.length ? await tx((t) => t.getContacts(ms.map((m) => m.contactId))) : undefined;
        for (const message of ms) yield { message, contact: contacts?.get(message.contactId) ?? null };
      })(),
      opts.fields ? { fields: opts.fields } : {},
    );

  return { send, listMessagesTo, exportMessagesTo };
}
