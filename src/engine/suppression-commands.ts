/**
 * The suppression commands: opt an address (or a message's recipient) out, opt it back in, and ask
 * whether it is suppressed. Suppression lists are per scope and channel.
 */
import { OutreachError } from '../errors.js';
import { optOutCsv } from '../export/opt-out-csv.js';
import type { Channel } from '../statuses.js';
import type { EngineParts } from './context.js';
import type { Outreach } from './outreach.js';

/** The suppression commands. */
export type SuppressionCommands = Pick<
  Outreach,
  'optOut' | 'optIn' | 'isSuppressed' | 'listOptOutRecords' | 'exportOptOutRecords'
>;

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
        await t.appendOptOutLog([
          {
            at,
            scope: m.scope,
            channel: m.channel,
            address: m.to,
            change: 'opt_out',
            source,
            campaignId: m.campaignId,
            messageId: m.id,
          },
        ]);
        const c = await t.getCampaign(m.campaignId);
        if (c && c.status !== 'archived')
          await applyChanges(t, fx, [{ message: m, event: { type: 'OPT_OUT', at, source } }]);
        return;
      }
      const r = normalize(input.channel, input.address);
      if (!r.ok) throw new OutreachError('VALIDATION_FAILED', `Cannot opt out "${input.address}": ${r.message}`);
      const scope = input.scope ?? defaultScope;
      await t.addSuppressions([{ scope, channel: input.channel, address: r.address, source, at }]);
      await t.appendOptOutLog([{ at, scope, channel: input.channel, address: r.address, change: 'opt_out', source }]);
    });

  const optIn = (input: { channel: Channel; address: string; scope?: string }) =>
    tx(async (t) => {
      const r = normalize(input.channel, input.address);
      if (!r.ok) throw new OutreachError('VALIDATION_FAILED', `Cannot opt in "${input.address}": ${r.message}`);
      const scope = input.scope ?? defaultScope;
      const removed = await t.removeSuppression(scope, input.channel, r.address);
      if (removed)
        await t.appendOptOutLog([
          { at: clock.now(), scope, channel: input.channel, address: r.address, change: 'opt_in', source: 'manual' },
        ]);
      return removed;
    });

  const isSuppressed = (input: { channel: Channel; address: string; scope?: string }) =>
    tx(async (t) => {
      const r = normalize(input.channel, input.address);
      if (!r.ok) return false;
      return (await t.suppressedAmong(input.scope ?? defaultScope, input.channel, [r.address])).has(r.address);
    });

  const listOptOutRecords: Outreach['listOptOutRecords'] = (query = {}) => {
    let address = query.address;
    if (address !== undefined && query.channel !== undefined) {
      // The record holds addresses as normalised; a number typed another way still finds its entries.
      const r = normalize(query.channel, address);
      if (r.ok) address = r.address;
    }
    return tx((t) =>
      t.listOptOutLog({
        channel: query.channel,
        address,
        scope: query.scope,
        after: query.after,
        limit: query.limit ?? 1000,
      }),
    );
  };

  const exportOptOutRecords: Outreach['exportOptOutRecords'] = (query = {}) =>
    optOutCsv(
      (async function* () {
        let after = 0;
        for (;;) {
          const page = await tx((t) =>
            t.listOptOutLog({ channel: query.channel, scope: query.scope, after, limit: 1000 }),
          );
          yield* page;
          if (page.length < 1000) return;
          after = (page[page.length - 1] as (typeof page)[number]).id;
        }
      })(),
    );

  return { optOut, optIn, isSuppressed, listOptOutRecords, exportOptOutRecords };
}
