import { CAMPAIGN_STATUSES, emptyCounts, type MessageCounts } from 'campaign-lifecycle';
import {
  type CampaignEvent,
  campaignMachine,
  initialCampaignState,
  transitionCampaign,
} from 'campaign-lifecycle/machines';
import { describe, expect, it } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { deriveRunningStatus } from '../../src/machines/campaign.js';

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

  it('should refuse commands a status does not allow by returning no transition', () => {
    const draft = initialCampaignState('sms');
    expect(transitionCampaign(draft, { type: 'RUN' })).toBeUndefined();
    expect(transitionCampaign(draft, { type: 'PAUSE' })).toBeUndefined();
    const ready = transitionCampaign(draft, { type: 'SAVE' });
    expect(ready?.value).toBe('ready');
    const running = transitionCampaign(ready ?? draft, { type: 'RUN' });
    expect(running?.context.hasRun).toBe(true);
    expect(transitionCampaign(running ?? draft, { type: 'DELETE', inFlight: 0 })).toBeUndefined();
    expect(transitionCampaign(running ?? draft, { type: 'EDIT' })).toBeUndefined();
    const stopped = transitionCampaign(running ?? draft, { type: 'STOP' });
    expect(transitionCampaign(stopped ?? draft, { type: 'DELETE', inFlight: 2 })).toBeUndefined();
    expect(transitionCampaign(stopped ?? draft, { type: 'DELETE', inFlight: 0 })?.value).toBe('deleted');
  });

  it('should pause automatically at most once (the autoPaused flag sticks)', () => {
    const running = transitionCampaign(transitionCampaign(initialCampaignState('sms'), { type: 'SAVE' })!, {
      type: 'RUN',
    })!;
    const paused = transitionCampaign(running, { type: 'PAUSE', auto: true })!;
    expect(paused.context.autoPaused).toBe(true);
    const resumed = transitionCampaign(paused, { type: 'RESUME' })!;
    expect(resumed.context.autoPaused).toBe(true);
  });
});
