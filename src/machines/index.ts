/**
 * The lifecycles as pure XState v5 machines, for applications that run them themselves: the campaign
 * machine and its transition function, the SMS and email message machines, and the message stepper
 * the engine runs them with (a compiled step table checked against XState).
 * @module campaign-lifecycle/machines
 */

export type { CampaignEvent, CampaignTransition } from './campaign.js';
export { campaignMachine, initialCampaignState, transitionCampaign } from './campaign.js';
export type { EmailMessageMachine } from './email-message.js';
export { createEmailMessageMachine, emailMessageMachine } from './email-message.js';
export type { MessageEvent, TimerEvent } from './message-events.js';
export { MessageEventSchema, TimerEventSchema } from './message-events.js';
export type { MessageMachineInput, MessageStateId } from './message-machine-shared.js';
export type { MessageCurrent, MessageStep, MessageStepper, MessageTimer } from './message-step.js';
export { applyMessageEvent, createMessageStepper } from './message-step.js';
export type { SmsMessageMachine } from './sms-message.js';
export { createSmsMessageMachine, smsMessageMachine } from './sms-message.js';
