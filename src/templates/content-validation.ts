/**
 * Checks of campaign content against the contact fields: every variable must be a known field or
 * have a default, and every contact must be able to fill the variables without one.
 */
import type { CampaignContent, EmailContent, SmsContent } from '../content.js';
import { OutreachError } from '../errors.js';
import type { Channel } from '../statuses.js';
import { UNSUBSCRIBE_VARIABLE } from './content-render.js';
import { parseTemplate, type TemplateVariable } from './template-parser.js';

function parts(channel: Channel, content: CampaignContent): [label: string, text: string][] {
  if (channel === 'sms') return [['body', (content as SmsContent).body]];
  const email = content as EmailContent;
  const out: [string, string][] = [
    ['subject', email.subject],
    ['html', email.html],
  ];
  if (email.text !== undefined) out.push(['text', email.text]);
  return out;
}

function parsePart(label: string, text: string): TemplateVariable[] {
  try {
    return parseTemplate(text);
  } catch (error) {
    if (error instanceof OutreachError) {
      throw new OutreachError('TEMPLATE_INVALID', `In the ${label}: ${error.message}`, {
        details: { ...error.details, part: label },
      });
    }
    throw error;
  }
}

/**
 * The variables of every part of the content (SMS body; email subject, HTML and text), each
 * distinct one once. The email's `{{unsubscribe_url}}` is built in and not listed.
 * @throws OutreachError `TEMPLATE_INVALID` for a malformed `{{`, naming the part and position.
 */
export function templateVariables(channel: Channel, content: CampaignContent): TemplateVariable[] {
  const out: TemplateVariable[] = [];
  const keys = new Set<string>();
  for (const [label, text] of parts(channel, content)) {
    for (const v of parsePart(label, text)) {
      if (channel === 'email' && v.name === UNSUBSCRIBE_VARIABLE) continue;
      const key = `${v.name}\u0000${v.defaultValue ?? '\u0001'}`;
      if (keys.has(key)) continue;
      keys.add(key);
      out.push(v);
    }
  }
  return out;
}

/**
 * Checks content before a campaign is saved.
 * @throws OutreachError `TEMPLATE_INVALID` for an empty SMS body or email subject/HTML, a malformed
 * `{{`, or variables that are neither a known field nor defaulted: the message names every such
 * variable and the fields available.
 */
export function validateContent(channel: Channel, content: CampaignContent, fields: readonly string[]): void {
  for (const [label, text] of parts(channel, content)) {
    if (label !== 'text' && text.trim() === '') {
      throw new OutreachError(
        'TEMPLATE_INVALID',
        `The ${channel === 'sms' ? 'SMS' : 'email'} ${label} is empty; write the message first.`,
        {
          details: { part: label },
        },
      );
    }
  }
  const known = new Set(fields);
  const unknown = [
    ...new Set(
      templateVariables(channel, content)
        .filter((v) => v.defaultValue === undefined && !known.has(v.name))
        .map((v) => v.name),
    ),
  ];
  if (unknown.length > 0) {
    const list = unknown.map((n) => `{{${n}}}`).join(', ');
    const available = fields.length > 0 ? fields.map((f) => `"${f}"`).join(', ') : 'none (import contacts first)';
    throw new OutreachError(
      'TEMPLATE_INVALID',
      `The template uses ${list}, which ${unknown.length === 1 ? 'is' : 'are'} not a contact field and ${unknown.length === 1 ? 'has' : 'have'} no default. ` +
        `Contact fields: ${available}. Rename the variable or give it a default, as in {{${unknown[0]}|friend}}.`,
      { details: { variables: unknown, fields: [...fields] } },
    );
  }
}

/**
 * The variables (without default) that this contact cannot fill: absent or blank in its fields.
 * Empty when the contact can fill them all.
 * @example
 * missingFieldsFor([{ name: 'first_name' }, { name: 'city', defaultValue: 'your city' }], { first_name: ' ' }) // ['first_name']
 */
export function missingFieldsFor(
  variables: readonly TemplateVariable[],
  contactFields: Readonly<Record<string, string>>,
): string[] {
  const missing: string[] = [];
  for (const v of variables) {
    if (v.defaultValue !== undefined) continue;
    const value = Object.hasOwn(contactFields, v.name) ? contactFields[v.name] : undefined;
    if ((value === undefined || value.trim() === '') && !missing.includes(v.name)) missing.push(v.name);
  }
  return missing;
}
