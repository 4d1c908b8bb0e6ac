/**
 * In-process storage: tables with the indexes the engine asks for, transactions serialised by a lock
 * and undone from an undo log when they throw. The embedded default; it does not survive the
 * process, and is not shared between processes.
 *
 * The parts, one file each: the undo log and lock (`undo-log.ts`), one store per table (campaigns,
 * counters and channel claims in `campaign-store.ts`, deadlines in `deadline-store.ts`, suppressions
 * and seen keys in `suppression-store.ts`; contacts and messages with their event log in columns,
 * `compact-contact-store.ts`, `compact-message-store.ts` and `log-rows.ts`, or as objects,
 * `contact-store.ts` and `message-store.ts`), and the structures they share (`columns.ts`,
 * `slots-by-id.ts`, `sorted-ids.ts` with the paging loop of the object stores, `deadline-heap.ts`,
 * `get-or-create.ts`). This file only routes the port's calls to them.
 */
import type { Storage, StorageTransaction } from 'campaign-lifecycle';
import { CampaignStore, ChannelClaims, CounterStore } from './campaign-store.js';
import { CompactContactStore } from './compact-contact-store.js';
import { CompactMessageStore } from './compact-message-store.js';
import { ContactStore } from './contact-store.js';
import { DeadlineStore } from './deadline-store.js';
import { MessageStore } from './message-store.js';
import { OptOutLogStore } from './opt-out-log-store.js';
import { SeenStore, SuppressionStore } from './suppression-store.js';
import { UndoLog } from './undo-log.js';

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * Keep every message's event log. Turn off to save memory in very large benchmarks.
   * @defaultValue true
   */
  keepLog?: boolean;
  /**
   * Keep messages and their event logs in columns (typed arrays, interned names, log details as
   * JSON text) rather than one object per message and per log entry: a few hundred bytes a message
   * instead of about two kilobytes. Records are built when read, so every read returns new objects.
   * Turn off for the former layout, which hands back the very objects it was given.
   * @defaultValue true
   */
  compact?: boolean;
}

/**
 * Creates in-memory storage: the embedded default for tests, demos and single-process apps.
 * @example
 * import { memoryStorage } from 'campaign-lifecycle/memory';
 * const outreach = createOutreach({ storage: memoryStorage(), clock: systemClock, transports: { sms } });
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  const undo = new UndoLog();
  const campaigns = new CampaignStore(undo);
  const counters = new CounterStore(undo);
  const channels = new ChannelClaims(undo);
  const keepLog = options.keepLog ?? true;
  let contacts: ContactStore | CompactContactStore;
  let messages: MessageStore | CompactMessageStore;
  if (options.compact ?? true) {
    contacts = new CompactContactStore(undo);
    messages = new CompactMessageStore(undo, keepLog);
  } else {
    contacts = new ContactStore(undo);
    messages = new MessageStore(undo, keepLog);
  }
  const deadlines = new DeadlineStore(undo);
  const suppressions = new SuppressionStore(undo);
  const seen = new SeenStore(undo);
  const optOutLog = new OptOutLogStore(undo);

  const tx: StorageTransaction = {
    async insertCampaign(c) {
      campaigns.insert(c);
    },
    async getCampaign(id) {
      return campaigns.get(id);
    },
    async updateCampaign(c) {
      campaigns.update(c);
    },
    async deleteCampaign(id) {
      const restoreCampaign = campaigns.remove(id);
      if (!restoreCampaign) return;
      // Everything the campaign owns goes with it; one undo entry puts it all back.
      const restores = [
        seen.removeCampaign(id),
        restoreCampaign,
        contacts.removeCampaign(id),
        messages.removeCampaign(id),
        deadlines.removeCampaign(id),
        channels.removeCampaign(id),
        counters.removeCampaign(id),
      ];
      undo.record(() => {
        for (const restore of restores) restore();
      });
    },
    async listCampaigns(filter = {}) {
      return campaigns.list(filter);
    },

    async addCounters(deltas) {
      counters.add(deltas);
    },
    async getCounters(campaignId) {
      return counters.get(campaignId);
    },

    async claimChannel(scope, channel, campaignId) {
      return channels.claim(scope, channel, campaignId);
    },
    async releaseChannel(scope, channel, campaignId) {
      channels.release(scope, channel, campaignId);
    },
    async channelHolder(scope, channel) {
      return channels.holder(scope, channel);
    },

    async insertContacts(rows) {
      contacts.insert(rows);
    },
    async getContact(id) {
      return contacts.get(id);
    },
    async getContacts(ids) {
      return contacts.getMany(ids);
    },
    async listContacts(campaignId, p) {
      return contacts.list(campaignId, p);
    },
    async countContacts(campaignId) {
      return contacts.count(campaignId);
    },
    async existingAddresses(campaignId, addresses) {
      return contacts.existingAddresses(campaignId, addresses);
    },
    async deleteContacts(campaignId, ids) {
      return contacts.delete(campaignId, ids);
    },

    async insertMessages(rows) {
      messages.insert(rows);
    },
    async getMessage(id) {
      return messages.get(id);
    },
    async lockMessages(ids) {
      return messages.getMany(ids);
    },
    async lockMessagesByProviderId(channel, providerIds) {
      return messages.byProvider(channel, providerIds);
    },
    async claimMessages(campaignId, state, limit, after) {
      return messages.inState(campaignId, state, limit, after);
    },
    async updateMessages(rows) {
      messages.update(rows);
    },
    async listMessages(campaignId, filter) {
      return messages.list(campaignId, filter);
    },
    async appendLog(entries) {
      messages.appendLog(entries);
    },
    async listLog(messageId) {
      return messages.listLog(messageId);
    },

    async upsertDeadlines(rows) {
      deadlines.upsert(rows);
    },
    async deleteDeadlines(ids) {
      deadlines.take(ids);
    },
    async takeDeadlines(ids) {
      return deadlines.take(new Set(ids)).map((d) => d.id);
    },
    async takeDueDeadlines(now, limit) {
      return deadlines.takeDue(now, limit);
    },
    async nextDeadlineAt() {
      return deadlines.next();
    },

    async addSuppressions(rows) {
      suppressions.add(rows);
    },
    async removeSuppression(scope, channel, address) {
      return suppressions.remove(scope, channel, address);
    },
    async suppressedAmong(scope, channel, addresses) {
      return suppressions.among(scope, channel, addresses);
    },
    async appendOptOutLog(rows) {
      optOutLog.append(rows);
    },
    async listOptOutLog(filter) {
      return optOutLog.list(filter);
    },

    async markSeen(keys) {
      return seen.mark(keys);
    },
  };

  return {
    info: { name: 'memory', shared: false },
    transaction: (fn) => undo.run(() => fn(tx)),
  };
}
