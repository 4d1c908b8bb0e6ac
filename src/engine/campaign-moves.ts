/**
 * Campaign moves: a campaign steps through its machine, its channel claim follows its status, and its
 * running status is derived from the message counters (with the failure-rate pause of its policy).
 */
import { OutreachError } from '../errors.js';
import { holdsChannel, transitionCampaign } from '../machines/campaign.js';
import type { StorageTransaction } from '../ports/storage.js';
import type { CampaignCounters, CampaignRecord } from '../records.js';
import { type CampaignStatus, isFinishedCampaignStatus, type MessageCounts } from '../statuses.js';
import type { CampaignMoves, EngineContext, TxEffects } from './context.js';
import type { OutreachEvent } from './events.js';
import { refuse } from './refusals.js';
import { doneCount } from './views.js';

/** Messages that have come to an end worth counting for the failure rate: delivered (or assumed) or failed. */
const settledCount = (counts: MessageCounts) => counts.delivered + counts.assumed_delivered + counts.failed;

/** Builds the campaign moves over the context. */
export function createCampaignMoves(ctx: EngineContext): CampaignMoves {
  const { clock, listeners, policyOf } = ctx;

  /** Whether the policy's failure-rate pause applies now (seed 002: "Pause if failure rate > 5%"), once only. */
  const failureRatePauses = (c: CampaignRecord, counts: MessageCounts): boolean => {
    const { autoPause } = policyOf(c);
    if (!autoPause || c.status !== 'in_progress' || c.state.context.autoPaused) return false;
    const settled = settledCount(counts);
    return settled >= autoPause.minSample && counts.failed / settled > autoPause.threshold;
  };

  /**
   * Whether the spam-complaint brake applies now (an email campaign, complaints above the policy's rate
   * of the mail delivered, after its minimum), once only. Reported mail counts as delivered: a spam
   * report moves its message from Delivered to Opted Out.
   */
  const spamComplaintsBrake = (c: CampaignRecord, counters: CampaignCounters): boolean => {
    const brake = policyOf(c).spamComplaintBrake;
    if (!brake || c.channel !== 'email' || c.status !== 'in_progress' || c.state.context.spamBraked) return false;
    const reports = counters.spamReports ?? 0;
    const delivered = counters.counts.delivered + counters.counts.assumed_delivered + reports;
    return delivered >= brake.minDelivered && reports / delivered > brake.rate;
  };

  const claimChannel = async (t: StorageTransaction, c: CampaignRecord) => {
    const holder = await t.claimChannel(c.scope, c.channel, c.id);
    if (holder !== c.id) {
      throw new OutreachError(
        'CHANNEL_BUSY',
        `Cannot run campaign "${c.name}": ${c.channel} campaign ${holder} is already running in scope "${c.scope}". Only one ${c.channel} campaign runs at a time per scope; wait for it to complete, or schedule this one.`,
        { details: { campaignId: c.id, runningCampaignId: holder, scope: c.scope, channel: c.channel } },
      );
    }
  };

  const moveCampaign: CampaignMoves['moveCampaign'] = async (t, fx, { campaign: c, event, action, cause }) => {
    const next = transitionCampaign(c.state, event);
    if (next.outcome === 'refused') return action ? refuse(c, action) : c;
    if (next.outcome === 'unchanged') {
      if (!action) return c;
      // A command the status allows that changes no state still changes the campaign: it is touched.
      const touched: CampaignRecord = { ...c, updatedAt: clock.now() };
      await t.updateCampaign(touched);
      return touched;
    }
    const status = next.state.value as CampaignStatus;
    const now = clock.now();
    const claims = !holdsChannel(c.status) && holdsChannel(status);
    const releases = holdsChannel(c.status) && !holdsChannel(status);
    // Commands claim the channel; a derived move (a late receipt reopening a finished campaign) never
    // does, since it sends nothing new and must not fail for a channel another campaign now holds.
    // A one-off message's campaign never holds its channel (`outreach.send` is not bound by the rule).
    if (claims && event.type !== 'PROGRESS' && !c.oneOff) await claimChannel(t, c);
    if (releases && !c.oneOff) await t.releaseChannel(c.scope, c.channel, c.id);
    const updated: CampaignRecord = {
      ...c,
      status,
      state: next.state,
      updatedAt: now,
      startedAt: c.startedAt ?? (status === 'in_progress' ? now : null),
      finishedAt: isFinishedCampaignStatus(status)
        ? (c.finishedAt ?? now)
        : status === 'in_progress'
          ? null
          : c.finishedAt,
    };
    await t.updateCampaign(updated);
    if (c.status !== status) {
      fx.events.push({
        type: 'campaign.status',
        campaignId: c.id,
        from: c.status,
        to: status,
        at: now,
        ...(cause ? { cause } : {}),
      });
      if (releases) fx.afterCommit.push({ type: 'channel_freed', scope: c.scope, channel: c.channel });
    }
    return updated;
  };

  const progressEvent = (c: CampaignRecord, counts: MessageCounts, at: number): OutreachEvent => ({
    type: 'campaign.progress',
    campaignId: c.id,
    counts,
    total: c.messageCount,
    done: doneCount(counts),
    at,
  });

  const progressCampaigns = async (t: StorageTransaction, fx: TxEffects, locked: readonly CampaignRecord[]) => {
    const now = clock.now();
    for (const c of locked) {
      const counters = await t.getCounters(c.id);
      const { counts } = counters;
      let current = await moveCampaign(t, fx, { campaign: c, event: { type: 'PROGRESS', counts } });
      if (failureRatePauses(current, counts)) {
        current = await moveCampaign(t, fx, {
          campaign: current,
          event: { type: 'PAUSE', auto: true, cause: 'failure_rate' },
          cause: 'failure_rate',
        });
      }
      if (spamComplaintsBrake(current, counters)) {
        current = await moveCampaign(t, fx, {
          campaign: current,
          event: { type: 'PAUSE', cause: 'spam_complaints' },
          cause: 'spam_complaints',
        });
      }
      if (listeners.size) fx.events.push(progressEvent(current, counts, now));
    }
  };

  return {
    moveCampaign,
    progressWouldMove: (c, counters) =>
      transitionCampaign(c.state, { type: 'PROGRESS', counts: counters.counts }).outcome === 'moved' ||
      failureRatePauses(c, counters.counts) ||
      spamComplaintsBrake(c, counters),
    progressEvent,
    progressCampaigns,
    async rederive(t, fx, c) {
      await moveCampaign(t, fx, {
        campaign: c,
        event: { type: 'PROGRESS', counts: (await t.getCounters(c.id)).counts },
      });
    },
  };
}
