/**
 * Templates: `{{field}}` / `{{field|default}}` parsing and checks, SMS and email rendering, and
 * signed unsubscribe tokens.
 */

export type { RenderEmailOptions, RenderedEmail, RenderedSms } from './content-render.js';
export { escapeHtml, renderEmail, renderSms, UNSUBSCRIBE_VARIABLE } from './content-render.js';
export { missingFieldsFor, templateVariables, validateContent } from './content-validation.js';
export type { SmsEncodingInfo } from './sms-segments.js';
export { isGsm7, smsSegments } from './sms-segments.js';
export type { TemplatePart, TemplateVariable } from './template-parser.js';
export { compileTemplate, fillTemplate, parseTemplate } from './template-parser.js';
export type {
  CreateUnsubscribeTokenInput,
  UnsubscribeTokenPayload,
  VerifyUnsubscribeTokenOptions,
} from './unsubscribe-token.js';
export { createUnsubscribeToken, verifyUnsubscribeToken } from './unsubscribe-token.js';
