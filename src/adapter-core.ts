/**
 * The values of the core that the adapters use at run time. The adapters import `campaign-lifecycle`
 * (types and values); the JavaScript build (tsup.config.ts) resolves that name to this file, so an
 * adapter entry loads only these modules, never the engine, the machines, XState or libphonenumber-js.
 * Modules shared with the root entry land in shared chunks: one copy of each (one `OutreachError`).
 * An adapter that starts using another value of the core fails the build ("No matching export") until
 * it is added here.
 * @internal
 */
export { toMs } from './duration.js';
export { isOutreachError, OutreachError } from './errors.js';
export { FAILURE_REASON_IDS, FAILURE_REASONS } from './failure-reasons.js';
export { providerEventProblem } from './provider-event-check.js';
export { emptyCounts } from './statuses.js';
