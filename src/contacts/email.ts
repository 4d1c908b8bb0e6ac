/**
 * Email addresses: trimmed, lower-cased and checked with zod's `z.email()`.
 *
 * The whole address is lower-cased, local part included. RFC 5321 allows a case-sensitive local
 * part, but no mainstream mailbox provider uses one, SendGrid matches its suppression lists without
 * case, and `Jane.Doe@X.org` and `jane.doe@x.org` in one upload are the same person: the
 * duplicate check must see them as one. Dots and `+tags` are kept (they are provider specific).
 */
import * as z from 'zod';

/** The result of {@link normalizeEmail}. */
export type EmailResult = { ok: true; email: string } | { ok: false; reason: 'invalid_email'; message: string };

const emailSchema = z.email();

/**
 * Normalises an email address: trims it, lower-cases it and validates it.
 * @example
 * normalizeEmail('  Jane.Doe@Example.ORG ') // { ok: true, email: 'jane.doe@example.org' }
 */
export function normalizeEmail(raw: string): EmailResult {
  const email = raw.trim().toLowerCase();
  if (email === '') return { ok: false, reason: 'invalid_email', message: 'Email address is invalid: it is empty.' };
  if (!emailSchema.safeParse(email).success) {
    const hint = /\s/.test(email) ? ' (it contains a space)' : email.includes('@') ? '' : ' (it has no @)';
    return { ok: false, reason: 'invalid_email', message: `Email address is invalid: "${raw.trim()}"${hint}.` };
  }
  return { ok: true, email };
}
