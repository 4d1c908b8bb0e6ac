/**
 * What a campaign sends: the SMS and email content types, and the rendered messages a transport receives.
 */
import * as z from 'zod';
import { LIMITS } from './limits.js';
import { safeText } from './validation.js';

/** An email address with an optional display name. */
export const EmailAddressSchema = z.strictObject({
  email: safeText(LIMITS.addressLength).pipe(z.email()),
  name: safeText(200).optional(),
});
/** An email address with an optional display name. */
export type EmailAddress = z.infer<typeof EmailAddressSchema>;

/** An email attachment; `content` is base64. */
export const AttachmentSchema = z.strictObject({
  filename: safeText(255).min(1),
  content: z
    .string()
    .max(LIMITS.attachmentLength, `must be at most ${LIMITS.attachmentLength} base64 characters`)
    .pipe(z.base64()),
  type: safeText(255).min(1).optional(),
  disposition: z.enum(['attachment', 'inline']).optional(),
  contentId: safeText(255).optional(),
});
/** An email attachment; `content` is base64. */
export type Attachment = z.infer<typeof AttachmentSchema>;

/** SMS content: plain text with `{{field}}` and `{{field|default}}` variables. */
export const SmsContentSchema = z.strictObject({
  body: safeText(LIMITS.smsBodyLength),
  /** Sender id or number; the transport's default when absent. */
  from: safeText(64).min(1).optional(),
});
/** SMS content: plain text with `{{field}}` and `{{field|default}}` variables. */
export type SmsContent = z.infer<typeof SmsContentSchema>;

/** Email content: subject and HTML (and optional text) with variables, sender settings, attachments. */
export const EmailContentSchema = z.strictObject({
  subject: safeText(LIMITS.emailSubjectLength),
  html: safeText(LIMITS.emailBodyLength),
  text: safeText(LIMITS.emailBodyLength).optional(),
  from: EmailAddressSchema.optional(),
  replyTo: EmailAddressSchema.optional(),
  attachments: z.array(AttachmentSchema).max(LIMITS.attachmentsPerEmail).optional(),
  /** Add an unsubscribe link and the List-Unsubscribe headers (default true). */
  unsubscribe: z.boolean().optional(),
});
/** Email content: subject and HTML (and optional text) with variables, sender settings, attachments. */
export type EmailContent = z.infer<typeof EmailContentSchema>;

/** The content of a campaign, by channel. */
export type CampaignContent = SmsContent | EmailContent;

/** An SMS ready for a transport. */
export interface OutgoingSms {
  readonly channel: 'sms';
  /** Our message id: carry it to the provider (callback URL) so every receipt finds its message. */
  readonly messageId: string;
  readonly campaignId: string;
  /** E.164 number. */
  readonly to: string;
  readonly from?: string | undefined;
  readonly body: string;
  /** GSM-7 or UCS-2. */
  readonly encoding: 'GSM-7' | 'UCS-2';
  readonly segments: number;
  /** 1 for the first try; counts automatic retries too. */
  readonly attempt: number;
}

/** An email ready for a transport. */
export interface OutgoingEmail {
  readonly channel: 'email';
  /** Our message id: carry it to the provider (custom args) so every event finds its message. */
  readonly messageId: string;
  readonly campaignId: string;
  readonly to: string;
  readonly from?: EmailAddress | undefined;
  readonly replyTo?: EmailAddress | undefined;
  readonly subject: string;
  readonly html: string;
  readonly text?: string | undefined;
  readonly attachments?: readonly Attachment[] | undefined;
  /** Extra headers, e.g. `List-Unsubscribe` and `List-Unsubscribe-Post`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly unsubscribeUrl?: string | undefined;
  readonly attempt: number;
}

/** A message ready for a transport. */
export type OutgoingMessage = OutgoingSms | OutgoingEmail;
