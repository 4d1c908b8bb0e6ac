/**
 * Durations written as milliseconds or as short strings: `'500ms'`, `'10s'`, `'10m'`, `'72h'`, `'2d'`.
 */
import { OutreachError } from './errors.js';

/** A duration: milliseconds, or a string such as `'10m'`, `'72h'`, `'1d 2h'`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;

/**
 * Converts a duration to milliseconds. `Infinity` is allowed (a window that never ends).
 * @throws OutreachError `VALIDATION_FAILED` for a negative, NaN or unreadable duration.
 */
export function toMs(duration: Duration): number {
  if (typeof duration === 'number') {
    if (Number.isNaN(duration) || duration < 0) {
      throw new OutreachError(
        'VALIDATION_FAILED',
        `Duration ${duration} is not a non-negative number of milliseconds.`,
      );
    }
    return duration;
  }
  const text = duration.trim().replace(/\s+/g, '');
  if (text === 'Infinity') return Number.POSITIVE_INFINITY;
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(text); m; m = PART.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    consumed = PART.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) {
    throw new OutreachError(
      'VALIDATION_FAILED',
      `Duration "${duration}" is not readable; write milliseconds or a string like "500ms", "10s", "10m", "72h" or "2d".`,
    );
  }
  return total;
}
