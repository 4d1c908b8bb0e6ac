/**
 * Sending windows (quiet hours in the recipient's zone) and campaign deadlines, on the fake clock,
 * on memory storage and on PGlite. The clock starts Monday 5 January 2026, 09:00 UTC: 04:00 in New
 * York (outside 08:00–21:00), 09:00 in London (inside).
 */
import { PGlite } from '@electric-sql/pglite';
import type { SendingWindow } from 'campaign-lifecycle';
import { createOutreach, type Outreach, type Storage } from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { postgresStorage } from 'campaign-lifecycle/postgres';
import { createFakeClock, type FakeClock, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const T0 = Date.UTC(2026, 0, 5, 9);
const NY_OPENS = Date.UTC(2026, 0, 5, 13); // 08:00 EST
const WINDOW: SendingWindow = { start: '08:00', end: '21:00', timeZone: 'America/New_York', timeZoneField: 'timezone' };
const NEW_YORKER = '+14155551001';
const LONDONER = '+14155551002';

let db: PGlite | undefined;
let schemas = 0;
const storages: [string, () => Storage][] = [
  ['memory', () => memoryStorage()],
  [
    'PGlite',
    () => {
      db ??= new PGlite();
      schemas++;
      return postgresStorage({ pool: db, schema: `windows_${schemas}` });
    },
  ],
];
beforeAll(async () => {
  db ??= new PGlite();
  await db.query('select 1'); // PGlite's start-up is not a test's time
});
afterAll(() => db?.close());

function engine(storage: Storage, clock: FakeClock, limits?: { ratePerSecond: number }) {
  const sms = simulatedSmsCarrier({ clock, ...(limits ? { limits } : {}) });
  const errors: unknown[] = [];
  const outreach = createOutreach({ storage, clock, transports: { sms }, onError: (e) => errors.push(e) });
  return { outreach, errors };
}

async function campaign(
  outreach: Outreach,
  contacts: { address: string; fields?: Record<string, string> }[],
  timing: { sendingWindow?: SendingWindow; deadline?: number },
) {
  const c = await outreach.createCampaign({
    name: 'Snow day',
    channel: 'sms',
    content: { body: 'School is closed today.' },
    ...timing,
  });
  await outreach.addContacts(c.id, contacts);
  await outreach.save(c.id);
  return c.id;
}

const byAddress = async (outreach: Outreach, campaignId: string) =>
  new Map((await outreach.listMessages(campaignId)).map((m) => [m.to, m]));

describe.each(storages)('sending windows and deadlines on %s storage', (_name, makeStorage) => {
  it('should hold a message outside its recipient window in Queued, with its due time, and send it when the window opens', async () => {
    const clock = createFakeClock({ start: T0 });
    const { outreach, errors } = engine(makeStorage(), clock);
    const id = await campaign(
      outreach,
      [{ address: NEW_YORKER }, { address: LONDONER, fields: { timezone: 'Europe/London' } }],
      { sendingWindow: WINDOW },
    );
    await outreach.run(id);
    outreach.worker.start();
    await clock.advance('1m');
    let messages = await byAddress(outreach, id);
    expect(messages.get(LONDONER)?.status).toBe('delivered');
    const waiting = messages.get(NEW_YORKER);
    expect(waiting?.status).toBe('queued');
    expect(waiting?.state).toBe('outside_window');
    expect(waiting?.context.dueAt).toBe(NY_OPENS);
    expect((await outreach.getCampaign(id)).status).toBe('in_progress');
    await clock.advance(NY_OPENS - clock.now() - 1);
    expect((await byAddress(outreach, id)).get(NEW_YORKER)?.status).toBe('queued');
    await clock.advance('1m');
    messages = await byAddress(outreach, id);
    const sent = messages.get(NEW_YORKER);
    expect(sent?.status).toBe('delivered');
    expect(sent?.context.dueAt).toBeNull();
    const { log } = await outreach.getMessage(sent?.id ?? '');
    expect(log.find((e) => e.event === 'DISPATCH')?.at).toBe(NY_OPENS);
    expect((await outreach.getCampaign(id)).status).toBe('complete');
    expect(errors).toEqual([]);
  });

  it('should keep the window wait in storage: another engine on the same storage sends at the opening', async () => {
    const clock = createFakeClock({ start: T0 });
    const storage = makeStorage();
    const first = engine(storage, clock);
    const id = await campaign(first.outreach, [{ address: NEW_YORKER }], { sendingWindow: WINDOW });
    await first.outreach.run(id);
    first.outreach.worker.start();
    await clock.advance('1m');
    await first.outreach.worker.stop();
    // The first process is gone; a second one starts later on the same storage.
    const second = engine(storage, clock);
    second.outreach.worker.start();
    await clock.advance(NY_OPENS - clock.now() + 60_000);
    const [m] = await second.outreach.listMessages(id);
    expect(m?.status).toBe('delivered');
    expect((await second.outreach.getCampaign(id)).status).toBe('complete');
    expect([...first.errors, ...second.errors]).toEqual([]);
  });

  it('should cancel messages not handed over by the deadline with "deadline passed", let sent ones finish, and complete the campaign', async () => {
    const clock = createFakeClock({ start: T0 });
    const { outreach, errors } = engine(makeStorage(), clock, { ratePerSecond: 1 });
    const addresses = [1, 2, 3, 4, 5].map((i) => `+1415555200${i}`);
    const id = await campaign(
      outreach,
      addresses.map((address) => ({ address })),
      { deadline: T0 + 2_500 },
    );
    await outreach.run(id);
    outreach.worker.start();
    await clock.advance('1m');
    const messages = [...(await byAddress(outreach, id)).values()];
    const cancelled = messages.filter((m) => m.status === 'cancelled');
    const delivered = messages.filter((m) => m.status === 'delivered');
    expect(delivered).toHaveLength(3); // sent at 0 s, 1 s and 2 s: before the deadline
    expect(cancelled).toHaveLength(2);
    expect(cancelled.every((m) => m.context.reason === 'deadline_passed')).toBe(true);
    const c = await outreach.getCampaign(id);
    expect(c.status).toBe('complete');
    expect(c.counts.failed).toBe(0);
    expect(errors).toEqual([]);
  });

  it('should cancel a message still waiting for its window when the deadline passes', async () => {
    const clock = createFakeClock({ start: T0 });
    const { outreach, errors } = engine(makeStorage(), clock);
    const deadline = NY_OPENS - 3_600_000; // 07:00 in New York: the window never opens in time
    const id = await campaign(
      outreach,
      [{ address: NEW_YORKER }, { address: LONDONER, fields: { timezone: 'Europe/London' } }],
      { sendingWindow: WINDOW, deadline },
    );
    await outreach.run(id);
    outreach.worker.start();
    await clock.advance('5h');
    const messages = await byAddress(outreach, id);
    expect(messages.get(LONDONER)?.status).toBe('delivered');
    const late = messages.get(NEW_YORKER);
    expect(late?.status).toBe('cancelled');
    expect(late?.context.reason).toBe('deadline_passed');
    const { log } = await outreach.getMessage(late?.id ?? '');
    expect(log.some((e) => e.event === 'DISPATCH')).toBe(false);
    expect(log.at(-1)?.at).toBe(deadline);
    expect((await outreach.getCampaign(id)).status).toBe('complete');
    expect(errors).toEqual([]);
  });

  it('should refuse a contact whose time-zone field names no zone, with its line and a reason, and import the rest', async () => {
    const clock = createFakeClock({ start: T0 });
    const { outreach } = engine(makeStorage(), clock);
    const c = await outreach.createCampaign({
      name: 'Snow day',
      channel: 'sms',
      content: { body: 'School is closed today.' },
      sendingWindow: WINDOW,
    });
    const csv = `phone,timezone\n${NEW_YORKER},America/Chicago\n${LONDONER},Mars/Olympus\n+14155551003,\n`;
    const result = await outreach.importContacts(c.id, csv);
    expect(result.imported).toBe(2);
    expect(result.rejectedCount).toBe(1);
    expect(result.rejected).toEqual([
      expect.objectContaining({ line: 3, column: 'timezone', code: 'invalid_cell', value: 'Mars/Olympus' }),
    ]);
    expect(result.rejected[0]?.reason).toContain('is not an IANA time zone');
    const added = await outreach.addContacts(c.id, [{ address: '+14155551004', fields: { timezone: 'Nowhere' } }]);
    expect(added.added).toBe(0);
    expect(added.rejected[0]?.reason).toContain('is not an IANA time zone');
    expect((await outreach.listContacts(c.id)).map((x) => x.address).sort()).toEqual(
      [NEW_YORKER, '+14155551003'].sort(),
    );
  });
});

describe('sending windows and deadlines at the door', () => {
  it('should refuse a malformed window or deadline with VALIDATION_FAILED naming the field, and create nothing', async () => {
    const clock = createFakeClock({ start: T0 });
    const { outreach } = engine(memoryStorage(), clock);
    const base = { name: 'Snow day', channel: 'sms' as const, content: { body: 'School is closed today.' } };
    await expect(
      outreach.createCampaign({ ...base, sendingWindow: { ...WINDOW, timeZone: 'Mars/Olympus' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('timeZone') });
    await expect(
      outreach.createCampaign({ ...base, sendingWindow: { ...WINDOW, start: '8am' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('start') });
    await expect(outreach.createCampaign({ ...base, deadline: Number.NaN })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('deadline'),
    });
    expect(await outreach.listCampaigns()).toEqual([]);
  });

  it('should set and clear the window and the deadline with updateCampaign, and show them on the campaign', async () => {
    const clock = createFakeClock({ start: T0 });
    const { outreach } = engine(memoryStorage(), clock);
    const c = await outreach.createCampaign({ name: 'Snow day', channel: 'sms', content: { body: 'Closed.' } });
    expect(c.sendingWindow).toBeUndefined();
    const set = await outreach.updateCampaign(c.id, { sendingWindow: WINDOW, deadline: new Date(T0 + 3_600_000) });
    expect(set.sendingWindow).toEqual(WINDOW);
    expect(set.deadline).toBe(T0 + 3_600_000);
    const cleared = await outreach.updateCampaign(c.id, { sendingWindow: null, deadline: null });
    expect(cleared.sendingWindow).toBeNull();
    expect(cleared.deadline).toBeNull();
  });
});
