/**
 * `createOutreach`: the engine. It runs the campaign and message machines over a storage port,
 * dispatches queued messages to transports within their limits, fires durable deadlines from the
 * clock, ingests provider events, and tells subscribers what changed.
 *
 * This entry is the only file that imports every part of the engine: it builds the context
 * (`context.ts`), the campaign moves and the message flow on it, then the commands, ingest, queries,
 * deadlines, dispatch and the worker's timer loop, and puts them behind the door's checks.
 */
import { createCampaignCommands } from './campaign-commands.js';
import { createCampaignMoves } from './campaign-moves.js';
import { createContactCommands } from './contact-commands.js';
import { createEngineContext, type EngineParts } from './context.js';
import { createDeadlines, type Deadlines } from './deadlines.js';
import { createDispatch } from './dispatch.js';
import { checkOptions, guardOutreach } from './door.js';
import { createIngest } from './ingest.js';
import { createLookups } from './lookups.js';
import { createMessageFlow } from './message-flow.js';
import { createOneOffCommands } from './one-off-commands.js';
import type { Outreach, OutreachOptions } from './outreach.js';
import { createQueries } from './queries.js';
import { createSuppressionCommands } from './suppression-commands.js';
import { createWorker } from './worker.js';

/**
 * Creates the engine.
 * @throws OutreachError `VALIDATION_FAILED` naming the option at fault (unknown options are refused
 * by name; ranges are in {@link LIMITS}).
 * @example
 * const clock = createFakeClock();
 * const outreach = createOutreach({ storage: memoryStorage(), clock, transports: { sms: simulatedSmsCarrier({ clock }) } });
 * const c = await outreach.createCampaign({ name: 'Snow day', channel: 'sms', content: { body: 'Hi {{first_name}}, school is closed.' } });
 * await outreach.addContacts(c.id, [{ address: '+14155550100', fields: { first_name: 'Ada' } }]);
 * await outreach.save(c.id);
 * await outreach.run(c.id);
 * outreach.worker.start();
 * await clock.advance('15m');
 */
export function createOutreach(options: OutreachOptions): Outreach {
  const { pollMs: poll, leaseMs } = checkOptions(options);
  // Committed transactions tell the deadlines which channels they freed (built below, used only later).
  let deadlines: Deadlines | undefined;
  const ctx = createEngineContext(options, (effects) => deadlines?.committed(effects));
  const moves = createCampaignMoves(ctx);
  const parts: EngineParts = { ...ctx, ...moves, ...createMessageFlow(ctx, moves) };
  deadlines = createDeadlines(parts, createLookups(parts, leaseMs));
  const pollMs = poll === false ? undefined : poll !== undefined ? poll : ctx.storage.info.shared ? 1000 : undefined;
  const worker = createWorker(ctx, {
    deadlines,
    dispatch: createDispatch(parts, leaseMs),
    // The worker connects transports to the engine itself (simulated carriers report through `ingest`).
    sink: () => outreach,
    pollMs,
  });
  const outreach: Outreach = guardOutreach({
    policy: ctx.policy,
    clock: ctx.clock,
    storage: ctx.storage,
    ...createCampaignCommands(parts, worker),
    ...createContactCommands(parts),
    ...createSuppressionCommands(parts),
    ...createOneOffCommands(parts, () => worker.kick()),
    ingest: createIngest(parts, worker),
    ...createQueries(parts),
    subscribe(listener) {
      ctx.listeners.add(listener);
      return () => ctx.listeners.delete(listener);
    },
    worker,
  });
  return outreach;
}
