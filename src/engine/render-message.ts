/**
 * The seam between the engine and templates/contacts: address normalisation, template checks and
 * rendering a message for its transport.
 */

import { normalizeEmail } from '../contacts/email.js';
import { normalizePhone, type PhoneOptions } from '../contacts/phone.js';
import type { CampaignContent, EmailContent, OutgoingEmail, OutgoingSms, SmsContent } from '../content.js';
import type { CampaignRecord, MessageRecord } from '../records.js';
import type { Channel } from '../statuses.js';
import { missingFieldsFor, renderEmail, renderSms, templateVariables, validateContent } from '../templates/index.js';
import { createUnsubscribeToken } from '../templates/unsubscribe-token.js';

/** The result of normalising an address. */
export type NormalizedAddress = { ok: true; address: string } | { ok: false; message: string };

/** What the engine needs from templates and contacts; replace it to use another template language. */
export interface ContentRenderer {
  /** Normalises a phone number (E.164) or an email address. */
  normalizeAddress(channel: Channel, raw: string, phone?: PhoneOptions): NormalizedAddress;
  /** Throws `OutreachError('TEMPLATE_INVALID')` when content uses a variable that is neither a field nor defaulted. */
  validate(channel: Channel, content: CampaignContent, fields: readonly string[]): void;
  /** The template variables this contact cannot fill (empty when it can fill them all). */
  missingFields(channel: Channel, content: CampaignContent, fields: Readonly<Record<string, string>>): string[];
  /** Renders one message for its transport. */
  render(
    campaign: CampaignRecord,
    message: MessageRecord,
    fields: Readonly<Record<string, string>>,
    attempt: number,
    unsubscribe?: { baseUrl: string; secret: string },
  ): Promise<OutgoingSms | OutgoingEmail>;
}

/** The built-in renderer: `{{field}}` templates, libphonenumber-js numbers, zod-checked emails. */
export const defaultRenderer: ContentRenderer = {
  normalizeAddress(channel, raw, phone) {
    if (channel === 'sms') {
      const r = normalizePhone(raw, phone);
      return r.ok ? { ok: true, address: r.e164 } : { ok: false, message: r.message };
    }
    const r = normalizeEmail(raw);
    return r.ok ? { ok: true, address: r.email } : { ok: false, message: r.message };
  },
  validate(channel, content, fields) {
    validateContent(channel, content, [...fields]);
  },
  missingFields(channel, content, fields) {
    return missingFieldsFor(templateVariables(channel, content), fields);
  },
  async render(campaign, message, fields, attempt, unsubscribe) {
    if (campaign.channel === 'sms') {
      const content = campaign.content as SmsContent;
      const r = renderSms(content, fields);
      return {
        channel: 'sms',
        messageId: message.id,
        campaignId: campaign.id,
        to: message.to,
        from: content.from,
        body: r.body,
        encoding: r.encoding,
        segments: r.segments,
        attempt,
      };
    }
    const content = campaign.content as EmailContent;
    let unsubscribeUrl: string | undefined;
    if (unsubscribe && content.unsubscribe !== false) {
      const token = await createUnsubscribeToken({
        secret: unsubscribe.secret,
        messageId: message.id,
        campaignId: campaign.id,
        scope: campaign.scope,
        channel: 'email',
        address: message.to,
      });
      const url = new URL(unsubscribe.baseUrl);
      url.searchParams.set('token', token);
      unsubscribeUrl = url.toString();
    }
    const r = renderEmail(content, fields, unsubscribeUrl === undefined ? {} : { unsubscribeUrl });
    return {
      channel: 'email',
      messageId: message.id,
      campaignId: campaign.id,
      to: message.to,
      from: content.from,
      replyTo: content.replyTo,
      subject: r.subject,
      html: r.html,
      text: r.text,
      attachments: content.attachments,
      headers: r.headers,
      unsubscribeUrl,
      attempt,
    };
  },
};
