/**
 * CSV injection defence (OWASP "CSV Injection"): a text cell that a spreadsheet would run as a
 * formula gets a leading apostrophe, so it opens as text.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Neutralises a text cell that starts with `=`, `+`, `-`, `@`, tab or carriage return by prefixing
 * an apostrophe. Only text goes through it: the exports write their own numbers (counts, attempts)
 * as JavaScript numbers, which are written as they are, so `-1` from a contact field becomes
 * `'-1` while a count stays `3`.
 * @example
 * neutralizeCell('=HYPERLINK("http://x","y")') // '\'=HYPERLINK("http://x","y")'
 */
export function neutralizeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}
