/**
 * How the engine says no: a refused command (`INVALID_STATE` with a hint of what would be allowed)
 * and input that does not parse (`VALIDATION_FAILED` listing zod's issues).
 */
import * as z from 'zod';
import { OutreachError } from '../errors.js';
import { type CampaignEvent, campaignCan } from '../machines/campaign.js';
import type { CampaignRecord } from '../records.js';
import type { CampaignAction } from './views.js';

/** What to do instead, for the commands a status most often refuses. */
export const ACTION_HINT: Partial<Record<CampaignAction, string>> = {
  save: 'Only a draft can be saved.',
  run: 'A campaign runs from ready or scheduled; save a draft first.',
  edit: 'Only draft or ready campaigns can be edited; unschedule a scheduled campaign first.',
  addContacts: 'Contacts can only change while the campaign is a draft.',
  delete:
    'A campaign can be deleted when draft, ready, complete, complete with errors, failed, or stopped with nothing in flight.',
  retryFailed: 'Failed messages can be retried once the campaign is complete with errors.',
};

/** An `OutreachError('VALIDATION_FAILED')` that lists zod's issues. */
export function invalid(what: string, error: z.ZodError): OutreachError {
  return new OutreachError('VALIDATION_FAILED', `${what} is not valid:\n${z.prettifyError(error)}`, {
    details: { issues: error.issues },
  });
}

/** Throws `INVALID_STATE`: the campaign's status does not allow `action`. */
export function refuse(c: CampaignRecord, action: CampaignAction): never {
  throw new OutreachError(
    'INVALID_STATE',
    `Cannot ${action} campaign "${c.name}" (${c.id}): it is ${c.status}. ${ACTION_HINT[action] ?? ''}`.trim(),
    { details: { campaignId: c.id, status: c.status, action } },
  );
}

/** Throws `NOT_FOUND` for a campaign id that names no campaign. */
export function campaignNotFound(id: string): never {
  throw new OutreachError('NOT_FOUND', `Campaign ${id} does not exist.`, { details: { campaignId: id } });
}

/**
 * Throws `INVALID_STATE` unless the campaign's status allows `event` (for a command that checks before
 * work that must not start otherwise, and moves the campaign later or not at all).
 */
export function ensureAllowed(c: CampaignRecord, event: CampaignEvent, action: CampaignAction): void {
  if (!campaignCan(c.state, event)) refuse(c, action);
}
