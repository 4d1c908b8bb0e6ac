/**
 * Compliance: the opt-out record (issue 20). Each opt-out that comes through a real handler (signed
 * Twilio STOP reply, signed SendGrid event, one-click unsubscribe link) is in the record with how it
 * came, the text received for a keyword, and the campaign and message when the event names one.
 */
import type { Channel } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { describe, expect, it } from 'vitest';
import { addressOf, buildWorld, type OptOutOp, type OptOutPath } from './opt-out-world.js';

const op = (path: OptOutPath, channel: Channel, extra: Partial<OptOutOp> = {}): OptOutOp => ({
  path,
  channel,
  person: 1,
  scope: 'school-a',
  keyword: 'STOP',
  advancedOptOut: false,
  sendgridEvent: 'unsubscribe',
  microDelay: 0,
  macroDelay: 0,
  ...extra,
});

describe('compliance: the opt-out record names how each opt-out came', () => {
  it('a STOP reply through the signed Twilio handler is recorded with the text received', async () => {
    const world = await buildWorld(memoryStorage());
    try {
      await world.perform(op('twilio_stop', 'sms', { keyword: 'Stop' }));
      const address = addressOf('sms', 1);
      const records = await world.hooks.listOptOutRecords({ channel: 'sms', address });
      expect(records.map((r) => [r.change, r.scope, r.source, r.text])).toEqual([
        ['opt_out', 'school-a', 'twilio_inbound', 'Stop'],
      ]);
    } finally {
      await world.stop();
    }
  });

  it('a signed SendGrid spam report is recorded with its campaign and message', async () => {
    const world = await buildWorld(memoryStorage());
    try {
      await world.perform(op('sendgrid_event', 'email', { sendgridEvent: 'spamreport' }));
      const address = addressOf('email', 1);
      const records = await world.hooks.listOptOutRecords({ channel: 'email', address, scope: 'school-a' });
      const spam = records.find((r) => r.source === 'spamreport');
      expect(spam?.change).toBe('opt_out');
      expect(spam?.messageId).toBeDefined();
      const m = world.messages.get(spam?.messageId as string);
      expect(m?.to).toBe(address);
      expect(spam?.campaignId).toBe(m?.campaignId);
    } finally {
      await world.stop();
    }
  });

  it('a one-click unsubscribe link is recorded with its campaign and message', async () => {
    const world = await buildWorld(memoryStorage());
    try {
      await world.perform(op('unsubscribe_link', 'email'));
      const address = addressOf('email', 1);
      const records = await world.hooks.listOptOutRecords({ channel: 'email', address, scope: 'school-a' });
      expect(records.length).toBeGreaterThan(0);
      expect(records.every((r) => r.change === 'opt_out')).toBe(true);
      expect(records.some((r) => r.source === 'unsubscribe_link')).toBe(true);
      const withMessage = records.find((r) => r.messageId !== undefined);
      expect(world.messages.get(withMessage?.messageId as string)?.to).toBe(address);
    } finally {
      await world.stop();
    }
  });
});
