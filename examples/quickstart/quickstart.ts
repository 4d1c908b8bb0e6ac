/**
 * The shortest campaign on the embedded defaults: memory storage, a fake clock and a simulated SMS
 * carrier. Three contacts, fifteen minutes of campaign time, run in milliseconds.
 *
 * Run: npx tsx examples/quickstart/quickstart.ts
 */
import { fileURLToPath } from 'node:url';
import { type CampaignStats, createOutreach } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, simulatedSmsCarrier } from 'campaign-lifecycle/testing';

/** Runs the quickstart campaign, prints its status and counts, and returns its stats. */
export async function quickstart(print: (line: string) => void = console.log): Promise<CampaignStats> {
  const clock = createFakeClock();
  const sms = simulatedSmsCarrier({ clock });
  const outreach = createOutreach({ storage: memoryStorage(), clock, transports: { sms } });

  const { id } = await outreach.createCampaign({
    name: 'Snow day',
    channel: 'sms',
    content: { body: 'Hi {{first_name}}, school is closed today. Stay safe!' },
  });
  await outreach.addContacts(id, [
    { address: '+14155550101', fields: { first_name: 'Ada' } },
    { address: '+14155550102', fields: { first_name: 'Grace' } },
    { address: '+14155550103', fields: { first_name: 'Alan' } },
  ]);
  await outreach.save(id);
  await outreach.run(id);
  outreach.worker.start();
  await clock.advance('15m'); // sends, receipts and the 10-minute rules all happen on the way
  await outreach.worker.stop();

  const stats = await outreach.getStats(id);
  const counts = Object.entries(stats.counts).filter(([, n]) => n > 0);
  print(`Snow day: ${stats.status} (${counts.map(([s, n]) => `${s} ${n}`).join(', ')})`);
  return stats;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await quickstart();
