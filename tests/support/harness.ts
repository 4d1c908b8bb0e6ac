import type { Storage } from 'campaign-lifecycle';
import {
  type CampaignStatus,
  type Channel,
  type Clock,
  createOutreach,
  type MessageStatus,
  type Outreach,
  type PolicyInput,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import {
  createFakeClock,
  type EmailOutcome,
  type FakeClock,
  type SimulatedCarrierOptions,
  type SmsOutcome,
  simulatedEmailCarrier,
  simulatedSmsCarrier,
} from 'campaign-lifecycle/testing';

export interface HarnessOptions {
  sms?: Omit<SimulatedCarrierOptions<SmsOutcome>, 'clock'>;
  email?: Omit<SimulatedCarrierOptions<EmailOutcome>, 'clock'>;
  policy?: PolicyInput;
  storage?: Storage;
  clock?: FakeClock;
  /** The clock the engine is given, when not `clock` itself (a wrapper that counts its timers, say). */
  engineClock?: Clock;
  start?: boolean;
}

export function harness(options: HarnessOptions = {}) {
  const clock = options.clock ?? createFakeClock();
  const storage = options.storage ?? memoryStorage();
  const sms = simulatedSmsCarrier({ clock, ...(options.sms ?? {}) });
  const email = simulatedEmailCarrier({ clock, ...(options.email ?? {}) });
  const errors: unknown[] = [];
  const outreach = createOutreach({
    storage,
    clock: options.engineClock ?? clock,
    transports: { sms, email },
    policy: options.policy,
    onError: (e) => errors.push(e),
    unsubscribe: { baseUrl: 'https://example.com/unsubscribe', secret: 'test-secret-test-secret' },
  });
  if (options.start !== false) outreach.worker.start();
  return { clock, storage, sms, email, outreach, errors };
}

export const phone = (i: number) => `+1415555${String(1000 + i).padStart(4, '0')}`;
export const mail = (i: number) => `person${i}@example.com`;

/** Creates and saves a campaign with `n` contacts. */
export async function readyCampaign(
  outreach: Outreach,
  channel: Channel,
  n: number,
  extra: { scope?: string; name?: string; address?: (i: number) => string } = {},
) {
  const content =
    channel === 'sms'
      ? { body: 'Hi {{first_name}}, school is closed today.' }
      : {
          subject: 'School closed',
          html: '<p>Hi {{first_name}}, school is closed today.</p>',
          from: { email: 'office@school.example' },
        };
  const c = await outreach.createCampaign({
    name: extra.name ?? `${channel} campaign`,
    channel,
    scope: extra.scope,
    content,
  });
  const address = extra.address ?? (channel === 'sms' ? phone : mail);
  await outreach.addContacts(
    c.id,
    Array.from({ length: n }, (_, i) => ({ address: address(i), fields: { first_name: `Kid${i}` } })),
  );
  return outreach.save(c.id);
}

/** Every message of a campaign. */
export async function allMessages(outreach: Outreach, campaignId: string) {
  return outreach.listMessages(campaignId, { limit: 1_000_000 });
}

export async function statusesOf(outreach: Outreach, campaignId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await allMessages(outreach, campaignId)) out[m.status] = (out[m.status] ?? 0) + 1;
  return out;
}

/** A snapshot of everything a refused command must leave unchanged. */
export async function snapshot(outreach: Outreach, campaignId: string) {
  const c = await outreach.getCampaign(campaignId);
  const ms = await allMessages(outreach, campaignId);
  return JSON.stringify({ c, ms });
}

export type { CampaignStatus, MessageStatus };
