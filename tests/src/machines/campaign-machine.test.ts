import { CAMPAIGN_STATUSES, emptyCounts, type MessageCounts } from 'campaign-lifecycle';
import {
  type CampaignEvent,
  campaignMachine,
  initialCampaignState,
  transitionCampaign,
} from 'campaign-lifecycle/machines';
import { describe, expect, it } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { type CampaignTransition, deriveRunningStatus } from '../../../src/machines/campaign.js';

const counts = (partial: Partial<MessageCounts>): MessageCounts => ({ ...emptyCounts(), ...partial });

const EVENTS: CampaignEvent[] = [
  { type: 'EDIT' },
  { type: 'EDIT_CONTACTS' },
  { type: 'SAVE' },
  { type: 'SCHEDULE', at: 1 },
  { type: 'UNSCHEDULE' },
  { type: 'RUN' },
  { type: 'PAUSE' },
  { type: 'RESUME' },
  { type: 'STOP' },
  { type: 'CLOSE' },
  { type: 'RETRY_FAILED' },
  { type: 'RETRY_CAMPAIGN' },
  { type: 'FAIL', cause: 'credentials refused' },
  { type: 'ARCHIVE' },
  { type: 'DELETE', inFlight: 0 },
  { type: 'DELETE', inFlight: 3 },
  { type: 'PROGRESS', counts: counts({ queued: 1 }) },
  { type: 'PROGRESS', counts: counts({ retrying: 1, delivered: 1 }) },
  { type: 'PROGRESS', counts: counts({ failed: 1, delivered: 1 }) },
  { type: 'PROGRESS', counts: counts({ delivered: 2 }) },
];

describe('campaign machine: reachability and derived status', () => {
  it('should reach every campaign status through generated paths', () => {
    const paths = getShortestPaths(campaignMachine, {
      input: { channel: 'email' },
      events: EVENTS,
      serializeState: (s) => JSON.stringify(s.value),
    });
    const reached = new Set(paths.map((p) => p.state.value as string));
    for (const status of CAMPAIGN_STATUSES) expect(reached, status).toContain(status);
  });

  it('should derive the running status from counters as seed 000 says', () => {
    expect(deriveRunningStatus(counts({ queued: 1, delivered: 5 }))).toBe('in_progress');
    expect(deriveRunningStatus(counts({ sent: 1, retrying: 2 }))).toBe('in_progress');
    expect(deriveRunningStatus(counts({ retrying: 2, failed: 1 }))).toBe('active_retries');
    expect(deriveRunningStatus(counts({ delivered: 3, failed: 1 }))).toBe('complete_with_errors');
    expect(deriveRunningStatus(counts({ delivered: 3, assumed_delivered: 1, opted_out: 1, cancelled: 1 }))).toBe(
      'complete',
    );
  });

  it('should say a command is refused, allowed without change, or moved', () => {
    const draft = initialCampaignState('sms');
    expect(transitionCampaign(draft, { type: 'RUN' })).toEqual({ outcome: 'refused' });
    expect(transitionCampaign(draft, { type: 'PAUSE' })).toEqual({ outcome: 'refused' });
    expect(transitionCampaign(draft, { type: 'EDIT' })).toEqual({ outcome: 'unchanged' });
    expect(transitionCampaign(draft, { type: 'EDIT_CONTACTS' })).toEqual({ outcome: 'unchanged' });
    const ready = moved(transitionCampaign(draft, { type: 'SAVE' }));
    expect(ready.value).toBe('ready');
    const running = moved(transitionCampaign(ready, { type: 'RUN' }));
    expect(running.context.hasRun).toBe(true);
    expect(transitionCampaign(running, { type: 'CLOSE' })).toEqual({ outcome: 'unchanged' });
    expect(transitionCampaign(running, { type: 'PROGRESS', counts: counts({ queued: 1 }) })).toEqual({
      outcome: 'unchanged',
    });
    expect(transitionCampaign(running, { type: 'DELETE', inFlight: 0 })).toEqual({ outcome: 'refused' });
    expect(transitionCampaign(running, { type: 'EDIT' })).toEqual({ outcome: 'refused' });
    const stopped = moved(transitionCampaign(running, { type: 'STOP' }));
    expect(transitionCampaign(stopped, { type: 'DELETE', inFlight: 2 })).toEqual({ outcome: 'refused' });
    expect(moved(transitionCampaign(stopped, { type: 'DELETE', inFlight: 0 })).value).toBe('deleted');
  });

  it('should pause automatically at most once (the autoPaused flag sticks)', () => {
    const running = moved(
      transitionCampaign(moved(transitionCampaign(initialCampaignState('sms'), { type: 'SAVE' })), {
        type: 'RUN',
      }),
    );
    const paused = moved(transitionCampaign(running, { type: 'PAUSE', auto: true }));
    expect(paused.context.autoPaused).toBe(true);
    const resumed = moved(transitionCampaign(paused, { type: 'RESUME' }));
    expect(resumed.context.autoPaused).toBe(true);
  });
});

/** The state a transition moved to; fails the test when it did not move. */
function moved(r: CampaignTransition) {
  if (r.outcome !== 'moved') throw new Error(`expected a move, got ${r.outcome}`);
  return r.state;
}
