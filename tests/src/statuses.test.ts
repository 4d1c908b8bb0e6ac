import { describe, expect, it } from 'vitest';
import {
  CAMPAIGN_STATUSES,
  CHANNELS,
  deliveryGroup,
  emptyCounts,
  FINAL_MESSAGE_STATUSES,
  FINISHED_CAMPAIGN_STATUSES,
  isFinalMessageStatus,
  isFinishedCampaignStatus,
  MESSAGE_STATUS_LABELS,
  MESSAGE_STATUSES,
  messageStatusesFor,
} from '../../src/statuses.js';

describe('statuses: the lists and the types derived from them', () => {
  it('should list every message status once, each with a label and a counter', () => {
    expect(new Set(MESSAGE_STATUSES).size).toBe(MESSAGE_STATUSES.length);
    expect(Object.keys(MESSAGE_STATUS_LABELS).sort()).toEqual([...MESSAGE_STATUSES].sort());
    expect(Object.keys(emptyCounts()).sort()).toEqual([...MESSAGE_STATUSES].sort());
    expect(CHANNELS).toEqual(['sms', 'email']);
  });

  it('should call a message final exactly when its delivery group is no longer pending', () => {
    for (const s of MESSAGE_STATUSES) {
      expect(isFinalMessageStatus(s), s).toBe(deliveryGroup(s) !== 'pending');
      expect(isFinalMessageStatus(s), s).toBe((FINAL_MESSAGE_STATUSES as readonly string[]).includes(s));
    }
  });

  it('should call a campaign final when its run has ended: complete, complete with errors, stopped, failed', () => {
    expect(CAMPAIGN_STATUSES.filter(isFinishedCampaignStatus).sort()).toEqual(
      ['complete', 'complete_with_errors', 'failed', 'stopped'].sort(),
    );
    expect([...FINISHED_CAMPAIGN_STATUSES].sort()).toEqual(CAMPAIGN_STATUSES.filter(isFinishedCampaignStatus).sort());
  });

  it('should give each channel its own statuses', () => {
    expect(messageStatusesFor('sms')).not.toContain('retrying');
    expect(messageStatusesFor('email')).not.toContain('sent');
    expect(messageStatusesFor('email')).not.toContain('assumed_delivered');
  });
});
