/**
 * Compliance: every opt-out path, one at a time, before any dispatch: the address is never messaged in
 * the scope it opted out of, and is messaged as usual in the other scope (issue 20). The property test
 * beside this file mixes the same paths with dispatch at random points.
 */
import type { Channel } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { TWILIO_OPT_OUT_KEYWORDS } from 'campaign-lifecycle/twilio';
import { describe, expect, it } from 'vitest';
import { addressOf, buildWorld, type OptOutOp, type OptOutPath, play, SCOPES } from './opt-out-world.js';

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

const cases: [string, OptOutOp][] = [
  ...TWILIO_OPT_OUT_KEYWORDS.map((k): [string, OptOutOp] => [
    `a signed Twilio reply "${k.toLowerCase()}"`,
    op('twilio_stop', 'sms', { keyword: ` ${k.toLowerCase()} ` }),
  ]),
  [
    'a signed Twilio reply with OptOutType=STOP (Advanced Opt-Out, a custom keyword)',
    op('twilio_stop', 'sms', { keyword: 'ARRET', advancedOptOut: true }),
  ],
  ['a signed SendGrid unsubscribe event', op('sendgrid_event', 'email', { sendgridEvent: 'unsubscribe' })],
  ['a signed SendGrid spamreport event', op('sendgrid_event', 'email', { sendgridEvent: 'spamreport' })],
  ['a signed SendGrid group_unsubscribe event', op('sendgrid_event', 'email', { sendgridEvent: 'group_unsubscribe' })],
  ['a one-click unsubscribe POST (RFC 8058)', op('unsubscribe_link', 'email')],
  ['outreach.optOut for an SMS number', op('manual', 'sms')],
  ['outreach.optOut for an email address', op('manual', 'email')],
];

describe('compliance: each opt-out path stops sends in its scope only', () => {
  it.each(cases)(
    'after %s, nothing is sent to that address in that scope, and the other scope is sent as usual',
    async (_, o) => {
      const world = await buildWorld(memoryStorage());
      try {
        await world.perform(o); // before the first dispatch round
        await play(world, [{ advanceMs: 0, ops: [] }]);
        expect(world.errors).toEqual([]);
        const address = addressOf(o.channel, o.person);
        const [otherScope] = SCOPES.filter((s) => s !== o.scope);
        const sentTo = (scope: string) =>
          world.sends.filter((s) => s.to === address && world.messages.get(s.messageId)?.scope === scope).length;
        expect(sentTo(o.scope)).toBe(0);
        expect(sentTo(otherScope as string)).toBe(2); // both campaigns of the channel in the other scope
        const statuses = new Map<string, string>();
        for (const cid of new Set([...world.messages.values()].map((m) => m.campaignId)))
          for (const m of await world.hooks.listMessages(cid, { limit: 1000 })) statuses.set(m.id, m.status);
        for (const [id, m] of world.messages) {
          if (m.to !== address || m.channel !== o.channel) continue;
          expect(statuses.get(id)).toBe(m.scope === o.scope ? 'opted_out' : 'delivered');
        }
        expect(await world.hooks.isSuppressed({ channel: o.channel, address, scope: o.scope })).toBe(true);
        expect(await world.hooks.isSuppressed({ channel: o.channel, address, scope: otherScope })).toBe(false);
      } finally {
        await world.stop();
      }
    },
  );
});
