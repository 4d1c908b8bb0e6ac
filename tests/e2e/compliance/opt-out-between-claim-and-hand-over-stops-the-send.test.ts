/**
 * Compliance: an opt-out acknowledged between a worker's claim and its hand-over stops the send (issue 20).
 *
 * A STOP that is ingested after a worker claimed a message (Queued → Sending, suppression checked in
 * that transaction) but before the worker took the claim's lease back (the hand-over, a second
 * transaction) used to let the send start after the Twilio handler had answered 200. Here the worker is
 * held for that moment, as a GC pause or a slow COMMIT reply would hold it, while another process
 * ingests the STOP. The hand-over checks the suppression list again: the message ends Opted Out unsent.
 */
import { createOutreach, type Storage } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { computeTwilioSignature, twilioWebhookHandler } from 'campaign-lifecycle/twilio';
import { expect, it } from 'vitest';

it('should hand no SMS to the transport after the Twilio handler acknowledged a STOP from its number', async () => {
  const clock = createFakeClock();
  const base = memoryStorage();
  let afterClaim: (() => Promise<void>) | undefined;
  // The storage as the worker sees it: once, right after a claim commits, the worker is held while `afterClaim` runs.
  const storage: Storage = {
    info: base.info,
    transaction(fn) {
      let claimed = false;
      return base
        .transaction((t) =>
          fn(
            new Proxy(t, {
              get(target, prop) {
                if (prop === 'claimMessages')
                  return async (...args: Parameters<typeof t.claimMessages>) => {
                    const rows = await target.claimMessages(...args);
                    if (args[1] === 'queued' && rows.length > 0) claimed = true;
                    return rows;
                  };
                const value = Reflect.get(target, prop, target) as unknown;
                return typeof value === 'function' ? value.bind(target) : value;
              },
            }),
          ),
        )
        .then(async (result) => {
          if (claimed && afterClaim) {
            const hold = afterClaim;
            afterClaim = undefined;
            await hold();
          }
          return result;
        });
    },
  };
  const sms = simulatedSmsCarrier({ clock });
  const dispatcher = createOutreach({ storage, clock, transports: { sms } });
  const webhooks = createOutreach({ storage: base, clock, transports: {} }); // the webhook process
  const stop = twilioWebhookHandler({ outreach: webhooks, authToken: 'twilio-auth-token' });

  const c = await webhooks.createCampaign({ name: 'Snow day', channel: 'sms', content: { body: 'School is closed.' } });
  await webhooks.addContacts(c.id, [{ address: '+14155550100' }]);
  await webhooks.save(c.id);

  let acknowledgedAt: number | undefined;
  afterClaim = async () => {
    const url = 'https://hooks.example.com/twilio/inbound';
    const params = {
      MessageSid: 'SMinbound1',
      SmsStatus: 'received',
      From: '+14155550100',
      To: '+14155550000',
      Body: 'STOP',
    };
    const response = await stop(
      new Request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': await computeTwilioSignature('twilio-auth-token', url, params),
        },
        body: new URLSearchParams(params),
      }),
    );
    expect(response.status).toBe(200);
    expect(await webhooks.isSuppressed({ channel: 'sms', address: '+14155550100' })).toBe(true);
    acknowledgedAt = sms.sendCalls; // transport calls made before the STOP was acknowledged
  };

  await dispatcher.run(c.id);
  dispatcher.worker.start();
  await clock.advance('1m');
  await dispatcher.worker.stop();

  expect(acknowledgedAt).toBe(0);
  expect(sms.sendCalls - (acknowledgedAt ?? 0)).toBe(0);
  const [m] = await webhooks.listMessages(c.id);
  expect(m?.status).toBe('opted_out');
  expect((await webhooks.getCampaign(c.id)).status).toBe('complete');
});
