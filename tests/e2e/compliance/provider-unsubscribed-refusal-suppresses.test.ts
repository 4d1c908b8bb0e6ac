/**
 * Compliance: a provider's refusal of an unsubscribed recipient puts the address on the suppression
 * list (issue 20). A SendGrid `dropped` event with reason "Unsubscribed Address" used to end only that
 * message Opted Out; the next campaign in the scope would send to the address again.
 */
import { parseSendgridEvents } from 'campaign-lifecycle/sendgrid';
import { describe, expect, it } from 'vitest';
import { harness, mail, readyCampaign } from '../../support/harness.js';

describe('compliance: a provider refusal of an unsubscribed recipient suppresses the address', () => {
  it('should suppress the address of a SendGrid drop "Unsubscribed Address" in the message scope, and send the next campaign to nobody else', async () => {
    const { outreach, clock, email, errors } = harness();
    const first = await readyCampaign(outreach, 'email', 2, { scope: 'school-1' });
    await outreach.run(first.id);
    await clock.advance('1m');
    const [m] = (await outreach.listMessages(first.id)).filter((x) => x.to === mail(0));
    const { events } = parseSendgridEvents([
      {
        email: mail(0),
        event: 'dropped',
        reason: 'Unsubscribed Address',
        timestamp: Math.floor(clock.now() / 1000),
        sg_event_id: 'drop-1',
        message_id: m?.id,
      },
    ]);
    await outreach.ingest(events);
    expect(await outreach.isSuppressed({ channel: 'email', address: mail(0), scope: 'school-1' })).toBe(true);
    expect(await outreach.isSuppressed({ channel: 'email', address: mail(0), scope: 'school-2' })).toBe(false);

    const sent = email.sendCalls;
    const second = await readyCampaign(outreach, 'email', 2, { scope: 'school-1', name: 'second' });
    await outreach.run(second.id);
    await clock.advance('1m');
    expect(email.sendCalls - sent).toBe(1);
    const statuses = Object.fromEntries((await outreach.listMessages(second.id)).map((x) => [x.to, x.status]));
    expect(statuses).toEqual({ [mail(0)]: 'opted_out', [mail(1)]: 'delivered' });
    expect(errors).toEqual([]);
    await outreach.worker.stop();
  });
});
