/**
 * Fixtures the benchmarks share: generated recipients, a saved campaign built through the public
 * API, and a transport that accepts instantly and reports nothing (so a benchmark feeds the
 * provider events itself).
 */
import type { Outreach, SendResult, SmsTransport } from 'campaign-lifecycle';
import { msSince } from './bench-report.js';

/** The i-th generated UK mobile number (+44 74xx xxxxxx), valid for libphonenumber, distinct for i < 10^8. */
export const smsAddress = (i: number) => `+4474${String(i).padStart(8, '0')}`;

/** The i-th generated email address. */
export const emailAddress = (i: number) => `parent.${i}@example.org`;

/**
 * Adds `n` contacts through `outreach.addContacts` in chunks (as an application importing a list
 * would), and returns the milliseconds it took.
 */
export async function addGeneratedContacts(
  outreach: Outreach,
  campaignId: string,
  n: number,
  channel: 'sms' | 'email' = 'sms',
  chunk = 10_000,
): Promise<number> {
  const start = process.hrtime.bigint();
  for (let from = 0; from < n; from += chunk) {
    const contacts = [];
    for (let i = from; i < Math.min(n, from + chunk); i++) {
      contacts.push({
        address: channel === 'sms' ? smsAddress(i) : emailAddress(i),
        fields: { first_name: `Parent${i}` },
      });
    }
    const r = await outreach.addContacts(campaignId, contacts);
    if (r.added !== contacts.length)
      throw new Error(`added ${r.added} of ${contacts.length} contacts: ${JSON.stringify(r.rejected.slice(0, 3))}`);
  }
  return msSince(start);
}

/** Creates an SMS (or email) campaign with `n` generated contacts and saves it; returns its id and the setup times. */
export async function savedCampaign(outreach: Outreach, n: number, channel: 'sms' | 'email' = 'sms') {
  const content =
    channel === 'sms'
      ? { body: 'Hi {{first_name}}, school is closed today.' }
      : {
          subject: 'Snow day',
          html: '<p>Hi {{first_name}}, school is closed today.</p>',
          from: { email: 'office@example.org' },
        };
  const campaign = await outreach.createCampaign({ name: `bench ${n}`, channel, content });
  const addMs = await addGeneratedContacts(outreach, campaign.id, n, channel);
  const start = process.hrtime.bigint();
  await outreach.save(campaign.id);
  return { id: campaign.id, addMs, saveMs: msSince(start) };
}

/**
 * An SMS transport that accepts every message at once without a provider id and reports nothing:
 * messages stay `sending` until the benchmark ingests their provider events.
 */
export function acceptingSmsTransport(concurrency = 5000): SmsTransport {
  const accepted: SendResult = { outcome: 'accepted' };
  return { channel: 'sms', name: 'bench-accepting', limits: { concurrency }, send: async () => accepted };
}
