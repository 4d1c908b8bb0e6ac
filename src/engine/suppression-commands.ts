/**
 * The suppression commands: opt an address (or a message's recipient) out, opt it back in, and ask
 * whether it is suppressed. Suppression lists are per scope and channel.
 */
import { OutreachError } from '../errors.js';
import type { Channel } from '../statuses.js';
import type { EngineParts } from './context.js';
import type { Outreach } from './outreach.js';

/** The suppression commands. */
export type SuppressionCommands = Pick<Outreach, 'optOut' | 'optIn' | 'isSuppressed'>;

/** Builds the suppression commands over the engine's parts. */
export function createSuppressionCommands(parts: EngineParts): SuppressionCommands {
  const { clock, defaultScope, normalize, tx, applyChanges } = parts;

  const optOut = (input: { channel: Channel; address: string; scope?: string; messageId?: string; source?: string }) =>
    tx(async (t, fx) => {
      const source = input.source ?? 'manual';
      const at = clock.now();
      if (input.messageId) {
        const [m] = await t.lockMessages([input.messageId]);
        if (!m) throw new OutreachError('NOT_FOUND', `Message ${input.messageId} does not exist.`);
        await t.addSuppressions([{ scope: m.scope, channel: m.channel, address: m.to, source, at }]);
        const c = await t.getCampaign(m.campaignId);
        if (c && c.status !== 'archived')
          await applyChanges(t, fx, [{ message: m, event: { type: 'OPT_OUT', at, source } }]);
        return;
      }
      const r = normalize(input.channel, input.address);
      if (!r.ok) throw new OutreachError('VALIDATION_FAILED', `Cannot opt out "${input.address}": ${r.message}`);
      await t.addSuppressions([
        { scope: input.scope ?? defaultScope, channel: input.channel, address: r.address, source, at },
      ]);
    });

  const optIn = (input: { channel: Channel; address: string; scope?: string }) =>
    tx(async (t) => {
      const r = normalize(input.channel, input.address);
      if (!r.ok) throw new OutreachError('VALIDATION_FAILED', `Cannot opt in "${input.address}": ${r.message}`);
      return t.removeSuppression(input.scope ?? defaultScope, input.channel, r.address);
    });

  const isSuppressed = (input: { channel: Channel; address: string; scope?: string }) =>
    tx(async (t) => {
      const r = normalize(input.channel, input.address);
      if (!r.ok) return false;
      return (await t.suppressedAmong(input.scope ?? defaultScope, input.channel, [r.address])).has(r.address);
    });

  return { optOut, optIn, isSuppressed };
}
