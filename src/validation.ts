/**
 * Checking inputs at the door: well-formed text (no NUL, no lone surrogate) of a bounded length,
 * and one `VALIDATION_FAILED` message format that names each field at fault and what it allows.
 */
import * as z from 'zod';
import { OutreachError } from './errors.js';
import { textProblem } from './validation-text.js';

export { textProblem };

/** A string of at most `max` characters with no NUL and no lone surrogate. */
export function safeText(max: number) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, ctx) => {
      if (value.length > max) return; // already refused; do not scan a huge string
      const problem = textProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `must be well-formed text: it ${problem}` });
    });
}

/** A record of well-formed keys and values with at most `maxKeys` keys. */
export function safeRecord(maxKeys: number, keyLength: number, valueLength: number) {
  return z
    .record(safeText(keyLength), safeText(valueLength))
    .refine((r) => Object.keys(r).length <= maxKeys, `must have at most ${maxKeys} keys`);
}

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * The `VALIDATION_FAILED` error for zod's issues with `value` named `name`: one line per issue,
 * `name.path: what is wrong (what is allowed)`.
 */
export function validationError(where: string, name: string, error: z.ZodError): OutreachError {
  const lines = error.issues.slice(0, 10).map((issue) => {
    const path = [name, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
      .join('.')
      .replace(/\.\[/g, '[');
    return `${path}: ${clip(issue.message)}`;
  });
  if (error.issues.length > 10) lines.push(`…and ${error.issues.length - 10} more issues`);
  return new OutreachError('VALIDATION_FAILED', `${where}: ${lines.join('; ')}`, {
    details: {
      field: name,
      issues: error.issues.slice(0, 10).map((i) => ({
        path: [name, ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
        code: i.code,
        message: clip(i.message),
      })),
    },
  });
}

/**
 * Parses `value` with `schema`, or throws `VALIDATION_FAILED` naming `name` (and the path inside it).
 * @throws OutreachError `VALIDATION_FAILED`
 */
export function parseInput<S extends z.ZodType>(where: string, name: string, schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(where, name, r.error);
  return r.data;
}
