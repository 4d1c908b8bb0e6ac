/**
 * Every input checked at the door: the refusals name the field and what is allowed, unknown keys
 * are refused by name, the channel of a campaign cannot be changed (seed 003), and the documented
 * LIMITS are the ones enforced.
 */
import { createOutreach, isOutreachError, LIMITS, type OutreachError } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { describe, expect, it } from 'vitest';
import { harness, phone, readyCampaign, snapshot } from '../../support/harness.js';

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<OutreachError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (error) {
    if (isOutreachError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('every input checked at the door', () => {
  it("A campaign's channel cannot be changed (seed 003): updateCampaign with a channel says so and changes nothing", async () => {
    const { outreach } = harness({ start: false });
    const c = await outreach.createCampaign({ name: 'Snow day', channel: 'sms', content: { body: 'Hi' } });
    const before = await snapshot(outreach, c.id);
    const e = await refusal(outreach.updateCampaign(c.id, { channel: 'email' } as never));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.message).toContain('channel cannot be changed');
    expect(e.details).toMatchObject({ field: 'patch.channel', reason: 'channel_immutable' });
    expect(await snapshot(outreach, c.id)).toBe(before);
  });

  it('should refuse an unknown key by name instead of dropping it', async () => {
    const { outreach } = harness({ start: false });
    const e = await refusal(outreach.createCampaign({ name: 'n', channel: 'sms', colour: 'red' } as never));
    expect(e.code).toBe('VALIDATION_FAILED');
    expect(e.message).toMatch(/createCampaign: input: .*"colour"/);
    const o = await refusal(() => harness({ start: false, policy: { smsTimeout: '10m' } as never }));
    expect(o.message).toMatch(/policy: .*"smsTimeout"/);
  });

  it('should name the argument, the field and what is allowed', async () => {
    const { outreach } = harness({ start: false });
    const c = await readyCampaign(outreach, 'sms', 1);
    const limit = await refusal(outreach.listMessages(c.id, { limit: -1 }));
    expect(limit.message).toBe(`listMessages: filter.limit: must be a whole number from 1 to ${LIMITS.pageLimit}`);
    const statuses = await refusal(outreach.listCampaigns({ statuses: 5 as never }));
    expect(statuses.message).toMatch(/^listCampaigns: filter\.statuses: .*array/);
    const at = await refusal(outreach.schedule(c.id, Date.now() + 0.5));
    expect(at.message).toMatch(/schedule: at must be .*whole number of milliseconds/);
    const address = await refusal(outreach.optOut({ channel: 'sms', address: 42 as never }));
    expect(address.message).toMatch(/^optOut: input\.address: .*string/);
    const nul = await refusal(outreach.addContacts(c.id, [{ address: phone(3), fields: { first_name: 'a\u0000' } }]));
    expect(nul.message).toMatch(/contacts\[0\]\.fields\.first_name: must be well-formed text: it contains a NUL/);
  });

  it('should enforce the documented LIMITS exactly at their edges', async () => {
    const { outreach } = harness({ start: false });
    const at = (n: number) => 'x'.repeat(n);
    await outreach.createCampaign({
      name: at(LIMITS.nameLength),
      channel: 'sms',
      content: { body: at(LIMITS.smsBodyLength) },
    });
    await refusal(outreach.createCampaign({ name: at(LIMITS.nameLength + 1), channel: 'sms' }));
    await refusal(
      outreach.createCampaign({ name: 'n', channel: 'sms', content: { body: at(LIMITS.smsBodyLength + 1) } }),
    );
    await outreach.createCampaign({ name: 'n', channel: 'sms', metadata: { k: at(LIMITS.metadataValueLength) } });
    const meta = await refusal(
      outreach.createCampaign({ name: 'n', channel: 'sms', metadata: { k: at(LIMITS.metadataValueLength + 1) } }),
    );
    expect(meta.message).toContain(`input.metadata.k: must be at most ${LIMITS.metadataValueLength} characters`);
    const html = await refusal(
      outreach.createCampaign({
        name: 'n',
        channel: 'email',
        content: { subject: 's', html: at(LIMITS.emailBodyLength + 1) },
      }),
    );
    expect(html.code).toBe('VALIDATION_FAILED');
    const huge = await refusal(() => harness({ start: false, policy: { smsSendingTimeout: 1e300 } }));
    expect(huge.message).toContain(
      `policy.smsSendingTimeout must be a whole number of milliseconds from 0 to ${LIMITS.maxDurationMs}`,
    );
    expect(() => harness({ start: false, policy: { smsSendingTimeout: LIMITS.maxDurationMs } })).not.toThrow();
  });

  it('should refuse batchSize 0 and -1 at construction instead of looping for ever in addContacts', async () => {
    for (const batchSize of [0, -1, 1.5, LIMITS.batchSize + 1]) {
      const e = await refusal(() => createOutreach({ storage: memoryStorage(), transports: {}, batchSize }));
      expect(e.message).toBe(`createOutreach: options.batchSize: must be a whole number from 1 to ${LIMITS.batchSize}`);
    }
    const o = createOutreach({ storage: memoryStorage(), transports: {}, batchSize: 1 });
    const c = await o.createCampaign({ name: 'n', channel: 'sms' });
    expect((await o.addContacts(c.id, [{ address: phone(1) }, { address: phone(2) }])).added).toBe(2);
  });
});
