/**
 * Templates: `{{field}}` / `{{field|default}}` checks, SMS and email rendering (what `outreach.preview`
 * shows), SMS segment counting, and signed unsubscribe tokens.
 * @module campaign-lifecycle/templates
 */

export type { RenderEmailOptions, RenderedEmail, RenderedSms } from './content-render.js';
export { escapeHtml, renderEmail, renderSms, UNSUBSCRIBE_VARIABLE } from './content-render.js';
export { missingFieldsFor, templateVariables, validateContent } from './content-validation.js';
export type { SmsEncodingInfo } from './sms-segments.js';
export { isGsm7, smsSegments } from './sms-segments.js';
export type { TemplateVariable } from './template-parser.js';
export type {
  CreateUnsubscribeTokenInput,
  UnsubscribeTokenPayload,
  VerifyUnsubscribeTokenOptions,
} from './unsubscribe-token.js';
export { createUnsubscribeToken, verifyUnsubscribeToken } from './unsubscribe-token.js';
