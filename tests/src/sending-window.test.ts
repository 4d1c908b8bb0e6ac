import { describe, expect, it } from 'vitest';
import {
  isTimeZone,
  isWindowOpen,
  nextWindowOpening,
  recipientTimeZone,
  type SendingWindow,
  SendingWindowSchema,
} from '../../src/sending-window.js';

const utc = (y: number, mo: number, d: number, h: number, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);
const day = (start: string, end: string, timeZone: string, days?: SendingWindow['days']): SendingWindow => ({
  start,
  end,
  timeZone,
  ...(days ? { days } : {}),
});

describe('sending windows: time zones and DST (Intl)', () => {
  const ny = day('08:00', '21:00', 'America/New_York');
  const sydney = day('08:00', '21:00', 'Australia/Sydney');

  it('should open at 08:00 local on both sides of the northern spring change (New York, 8 March 2026)', () => {
    // Saturday 7 March, 00:00 EST (UTC−5): opens 08:00 EST = 13:00Z.
    expect(nextWindowOpening(ny, ny.timeZone, utc(2026, 3, 7, 5))).toBe(utc(2026, 3, 7, 13));
    // Saturday 22:00 EST: the next opening is Sunday 08:00 EDT (UTC−4) = 12:00Z, an hour earlier in UTC.
    expect(nextWindowOpening(ny, ny.timeZone, utc(2026, 3, 8, 3))).toBe(utc(2026, 3, 8, 12));
    expect(isWindowOpen(ny, ny.timeZone, utc(2026, 3, 8, 11, 59))).toBe(false);
    expect(isWindowOpen(ny, ny.timeZone, utc(2026, 3, 8, 12))).toBe(true);
    // Closes at 21:00 EDT = 01:00Z Monday, not a minute later.
    expect(isWindowOpen(ny, ny.timeZone, utc(2026, 3, 9, 0, 59))).toBe(true);
    expect(isWindowOpen(ny, ny.timeZone, utc(2026, 3, 9, 1))).toBe(false);
  });

  it('should open at 08:00 local on both sides of the northern autumn change (New York, 1 November 2026)', () => {
    // Saturday 31 October 22:00 EDT = 02:00Z: next opening Sunday 08:00 EST = 13:00Z.
    expect(nextWindowOpening(ny, ny.timeZone, utc(2026, 11, 1, 2))).toBe(utc(2026, 11, 1, 13));
    expect(isWindowOpen(ny, ny.timeZone, utc(2026, 11, 1, 12, 59))).toBe(false);
    expect(isWindowOpen(ny, ny.timeZone, utc(2026, 11, 1, 13))).toBe(true);
  });

  it('should open at 08:00 local on both sides of the southern autumn change (Sydney, 5 April 2026)', () => {
    // Saturday 4 April 22:00 AEDT (UTC+11) = 11:00Z: next opening Sunday 08:00 AEST (UTC+10) = 22:00Z Saturday.
    expect(nextWindowOpening(sydney, sydney.timeZone, utc(2026, 4, 4, 11))).toBe(utc(2026, 4, 4, 22));
    // The Saturday before opened at 08:00 AEDT = 21:00Z Friday.
    expect(nextWindowOpening(sydney, sydney.timeZone, utc(2026, 4, 3, 12))).toBe(utc(2026, 4, 3, 21));
  });

  it('should open at 08:00 local on both sides of the southern spring change (Sydney, 4 October 2026)', () => {
    // Saturday 3 October 22:00 AEST = 12:00Z: next opening Sunday 08:00 AEDT = 21:00Z Saturday.
    expect(nextWindowOpening(sydney, sydney.timeZone, utc(2026, 10, 3, 12))).toBe(utc(2026, 10, 3, 21));
    expect(isWindowOpen(sydney, sydney.timeZone, utc(2026, 10, 3, 20, 59))).toBe(false);
    expect(isWindowOpen(sydney, sydney.timeZone, utc(2026, 10, 3, 21))).toBe(true);
  });

  it('should open a window whose start the spring change skips at the jump (02:30 on 8 March in New York → 03:00 EDT)', () => {
    const w = day('02:30', '05:00', 'America/New_York');
    expect(nextWindowOpening(w, w.timeZone, utc(2026, 3, 8, 5))).toBe(utc(2026, 3, 8, 7));
    expect(isWindowOpen(w, w.timeZone, utc(2026, 3, 8, 7))).toBe(true);
  });

  it('should keep a window that spans midnight open into the morning, for the day it opened on', () => {
    const w = day('22:00', '06:00', 'Europe/London', [5]); // Friday nights only
    // Friday 16 January 2026, 23:00 GMT: open. Saturday 05:59: still Friday's window. 06:00: closed.
    expect(isWindowOpen(w, w.timeZone, utc(2026, 1, 16, 23))).toBe(true);
    expect(isWindowOpen(w, w.timeZone, utc(2026, 1, 17, 5, 59))).toBe(true);
    expect(isWindowOpen(w, w.timeZone, utc(2026, 1, 17, 6))).toBe(false);
    // Saturday 23:00 is not a Friday: the next opening is Friday 23 January, 22:00.
    expect(isWindowOpen(w, w.timeZone, utc(2026, 1, 17, 23))).toBe(false);
    expect(nextWindowOpening(w, w.timeZone, utc(2026, 1, 17, 23))).toBe(utc(2026, 1, 23, 22));
    // Thursday 21:00: Thursday is not one of its days, so Friday 22:00.
    expect(nextWindowOpening(w, w.timeZone, utc(2026, 1, 22, 21))).toBe(utc(2026, 1, 23, 22));
  });

  it('should span midnight across a DST change (London, 29 March 2026: 22:00–06:00 every day)', () => {
    const w = day('22:00', '06:00', 'Europe/London');
    // Saturday 28 March 22:00 GMT = 22:00Z; the clocks go forward at 01:00Z; 06:00 BST = 05:00Z.
    expect(isWindowOpen(w, w.timeZone, utc(2026, 3, 29, 4, 59))).toBe(true);
    expect(isWindowOpen(w, w.timeZone, utc(2026, 3, 29, 5))).toBe(false);
    // Sunday 22:00 BST = 21:00Z.
    expect(nextWindowOpening(w, w.timeZone, utc(2026, 3, 29, 5))).toBe(utc(2026, 3, 29, 21));
  });

  it('should return the time itself while the window is open', () => {
    const t = utc(2026, 6, 10, 15);
    expect(nextWindowOpening(ny, ny.timeZone, t)).toBe(t);
  });

  it('should take the recipient zone from the contact field when it names a known zone, else the default', () => {
    const w: SendingWindow = { ...ny, timeZoneField: 'timezone' };
    expect(recipientTimeZone(w, { timezone: 'Europe/Paris' })).toBe('Europe/Paris');
    expect(recipientTimeZone(w, { timezone: ' ' })).toBe('America/New_York');
    expect(recipientTimeZone(w, {})).toBe('America/New_York');
    expect(recipientTimeZone(ny, { timezone: 'Europe/Paris' })).toBe('America/New_York');
  });

  it('should know IANA zones through Intl and refuse others', () => {
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });

  it('should refuse a malformed window with the field at fault', () => {
    const bad = SendingWindowSchema.safeParse({ start: '8:00', end: '25:00', timeZone: 'Nowhere/City', days: [0] });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['start', 'end', 'timeZone', 'days.0']));
    expect(SendingWindowSchema.safeParse({ start: '08:00', end: '08:00', timeZone: 'UTC' }).success).toBe(false);
    expect(SendingWindowSchema.safeParse({ ...ny, days: [1, 2, 3, 4, 5] }).success).toBe(true);
  });
});
