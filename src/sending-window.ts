/**
 * Sending windows (quiet hours): daily local times, optionally some days of the week, in an IANA time
 * zone. Pure functions over epoch milliseconds; the zone arithmetic is `Intl`'s (no zone tables here).
 */
import * as z from 'zod';

/** An ISO weekday: 1 = Monday … 7 = Sunday. */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/**
 * When messages of a campaign may be sent, in each recipient's local time.
 * @example { start: '08:00', end: '21:00', days: [1, 2, 3, 4, 5], timeZone: 'America/New_York', timeZoneField: 'timezone' }
 */
export interface SendingWindow {
  /** Local time the window opens each day, `HH:MM` (24-hour). */
  readonly start: string;
  /**
   * Local time it closes, `HH:MM`; not included. Earlier than `start` for a window that spans midnight
   * (`22:00`–`06:00`): it then ends the next morning.
   */
  readonly end: string;
  /** The days it opens on (ISO weekdays, 1 = Monday); a window spanning midnight belongs to the day it opens. Every day when absent. */
  readonly days?: readonly IsoWeekday[] | undefined;
  /** The IANA zone of recipients who have none of their own (`America/New_York`). */
  readonly timeZone: string;
  /** The contact field holding a recipient's own IANA zone (e.g. `timezone`); the default zone when absent or empty. */
  readonly timeZoneField?: string | undefined;
}

const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day written HH:MM (00:00 to 23:59)');

/** Zod schema of a {@link SendingWindow} (the zone is checked with `Intl`). */
export const SendingWindowSchema = z
  .strictObject({
    start: Clock,
    end: Clock,
    days: z
      .array(
        z
          .int()
          .min(1, 'days are ISO weekdays, 1 (Monday) to 7 (Sunday)')
          .max(7, 'days are ISO weekdays, 1 (Monday) to 7 (Sunday)')
          .transform((d) => d as IsoWeekday),
      )
      .min(1, 'list at least one day, or leave days out for every day')
      .max(7)
      .optional(),
    timeZone: z.string().max(100).refine(isTimeZone, 'must be an IANA time zone such as America/New_York'),
    timeZoneField: z.string().min(1).max(100).optional(),
  })
  .refine((w) => w.start !== w.end, { message: 'start and end must differ', path: ['end'] });

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A formatter of wall-clock parts in the zone (cached: building one is slow). Throws for an unknown zone. */
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    if (formatters.size > 1000) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `Intl` knows the IANA time zone. */
export function isTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.length === 0 || timeZone.length > 100) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const WEEKDAYS: Readonly<Record<string, IsoWeekday>> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** The wall clock in the zone at `t`. */
interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** Minutes since local midnight. */
  readonly minutes: number;
  readonly weekday: IsoWeekday;
}

function wallClock(timeZone: string, t: number): WallClock {
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(t)) p[part.type] = part.value;
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    minutes: Number(p.hour) * 60 + Number(p.minute),
    weekday: WEEKDAYS[p.weekday as string] ?? 1,
  };
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const MINUTE = 60_000;
const DAY = 86_400_000;

/** The weekday before. */
const dayBefore = (d: IsoWeekday): IsoWeekday => (d === 1 ? 7 : ((d - 1) as IsoWeekday));

/** Whether the window is open at `t` for a recipient in `timeZone`. */
export function isWindowOpen(window: SendingWindow, timeZone: string, t: number): boolean {
  const w = wallClock(timeZone, t);
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  const on = (d: IsoWeekday) => !window.days || window.days.includes(d);
  if (start < end) return w.minutes >= start && w.minutes < end && on(w.weekday);
  // Spans midnight: the evening part belongs to today, the morning part to yesterday's window.
  if (w.minutes >= start) return on(w.weekday);
  return w.minutes < end && on(dayBefore(w.weekday));
}

/**
 * The instant the wall clock of `timeZone` reads `minutes` on the given local date. A time that does
 * not exist that day (skipped by a change to summer time) gives the instant the clock jumps past it.
 */
function instantOf(timeZone: string, year: number, month: number, day: number, minutes: number): number {
  const naive = Date.UTC(year, month - 1, day, 0, minutes);
  const offsetAt = (t: number) => {
    const w = wallClock(timeZone, t);
    return Date.UTC(w.year, w.month - 1, w.day, 0, w.minutes) - Math.floor(t / MINUTE) * MINUTE;
  };
  // Both offsets around the date; the earlier of the instants that read the wanted time.
  const candidates = [offsetAt(naive - DAY), offsetAt(naive + DAY)].map((o) => naive - o);
  const exact = candidates.filter((t) => {
    const w = wallClock(timeZone, t);
    return w.year === year && w.month === month && w.day === day && w.minutes === minutes;
  });
  if (exact.length) return Math.min(...exact);
  // Skipped: the first instant after the jump, which both candidates bracket.
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  while (hi - lo > MINUTE) {
    const mid = Math.floor((lo + hi) / 2 / MINUTE) * MINUTE;
    const w = wallClock(timeZone, mid);
    const reached = Date.UTC(w.year, w.month - 1, w.day, 0, w.minutes) >= Date.UTC(year, month - 1, day, 0, minutes);
    if (reached) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * When the window next opens for a recipient in `timeZone`: `t` itself while it is open, else the
 * first opening after `t` (at most eight days on).
 */
export function nextWindowOpening(window: SendingWindow, timeZone: string, t: number): number {
  if (isWindowOpen(window, timeZone, t)) return t;
  const start = minutesOf(window.start);
  const today = wallClock(timeZone, t);
  // Calendar dates from yesterday on (pure calendar arithmetic: local days of 23 or 25 hours skip none).
  for (let i = -1; i <= 8; i++) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + i));
    const weekday = (date.getUTCDay() === 0 ? 7 : date.getUTCDay()) as IsoWeekday;
    if (window.days && !window.days.includes(weekday)) continue;
    const opens = instantOf(timeZone, date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), start);
    if (opens > t) return opens;
  }
  // Unreachable for a valid window (some day of the next eight is one of its days).
  return t + 8 * DAY;
}

/** The zone of a recipient: its contact field when it names a known zone, else the window's default. */
export function recipientTimeZone(window: SendingWindow, fields: Readonly<Record<string, string>>): string {
  const own = window.timeZoneField ? fields[window.timeZoneField]?.trim() : undefined;
  // Imports reject unknown zones; one that slipped in before the window was set falls back to the default.
  return own && isTimeZone(own) ? own : window.timeZone;
}
