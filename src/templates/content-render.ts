/**
 * Rendering campaign content for one contact: SMS text with its encoding and segments, and email
 * with HTML-escaped values, an unsubscribe link and the RFC 8058 one-click headers.
 */
import type { EmailContent, SmsContent } from '../content.js';
import { escapeHtml } from '../internal/encoding.js';
import { smsSegments } from './sms-segments.js';
import { fillTemplate } from './template-parser.js';

export { escapeHtml };

/** The variable that holds the unsubscribe link in email templates. */
export const UNSUBSCRIBE_VARIABLE = 'unsubscribe_url';

/** A rendered SMS. */
export interface RenderedSms {
  body: string;
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  characters: number;
}

/** A rendered email. */
export interface RenderedEmail {
  subject: string;
  html: string;
  text?: string;
  /** `List-Unsubscribe` and `List-Unsubscribe-Post` when an unsubscribe URL applies; else empty. */
  headers: Record<string, string>;
}

/** Options of {@link renderEmail}. */
export interface RenderEmailOptions {
  /** The signed HTTPS unsubscribe link of this message. */
  unsubscribeUrl?: string | undefined;
}

// A subject is a header: a line break from a field must not start a new one.
const oneLine = (value: string) => value.replace(/[\r\n]+/g, ' ');

/**
 * Renders an SMS for one contact; never throws on field values.
 * @example
 * renderSms({ body: 'Hi {{name|there}}' }, { name: 'Ann' }) // { body: 'Hi Ann', encoding: 'GSM-7', segments: 1, characters: 6 }
 */
export function renderSms(content: Pick<SmsContent, 'body'>, fields: Readonly<Record<string, string>>): RenderedSms {
  const body = fillTemplate(content.body, fields);
  return { body, ...smsSegments(body) };
}

/**
 * Renders an email for one contact. Values are HTML-escaped in the HTML part only; the subject and
 * text part carry them as written (line breaks in the subject become spaces). With an unsubscribe
 * URL (and `content.unsubscribe !== false`), `{{unsubscribe_url}}` is replaced by it, or, when the
 * template has no such variable, a small footer link is appended; the RFC 8058 headers are added.
 * @example
 * renderEmail({ subject: 'Hi {{name}}', html: '<p>{{name}}</p>' }, { name: '<b>Ann</b>' }, { unsubscribeUrl })
 */
export function renderEmail(
  content: Pick<EmailContent, 'subject' | 'html' | 'text' | 'unsubscribe'>,
  fields: Readonly<Record<string, string>>,
  options: RenderEmailOptions = {},
): RenderedEmail {
  const url = content.unsubscribe === false ? undefined : options.unsubscribeUrl;
  const extra = { [UNSUBSCRIBE_VARIABLE]: url ?? '' };
  // The link is ours, not the contact's: a field named unsubscribe_url must not replace it.
  const values = fields;
  const subject = oneLine(fillTemplate(content.subject, values, undefined, extra));
  let html = fillTemplate(content.html, values, escapeHtml, extra);
  let text = content.text === undefined ? undefined : fillTemplate(content.text, values, undefined, extra);
  const headers: Record<string, string> = {};
  if (url !== undefined) {
    if (!content.html.includes(UNSUBSCRIBE_VARIABLE)) {
      const footer = `<p style="font-size:12px;color:#666">If you no longer wish to receive these emails, <a href="${escapeHtml(url)}">unsubscribe</a>.</p>`;
      const end = html.search(/<\/body>/i);
      html = end === -1 ? `${html}\n${footer}` : `${html.slice(0, end)}${footer}\n${html.slice(end)}`;
    }
    if (text !== undefined && !content.text?.includes(UNSUBSCRIBE_VARIABLE)) text = `${text}\n\nUnsubscribe: ${url}`;
    headers['List-Unsubscribe'] = `<${url}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  return text === undefined ? { subject, html, headers } : { subject, html, text, headers };
}
