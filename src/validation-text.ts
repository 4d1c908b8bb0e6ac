/** Well-formed text: the check shared by the zod schemas and the zod-free webhook parsers. */

// A NUL (PostgreSQL cannot store it in text) or a UTF-16 surrogate without its partner (no UTF-8 encoding).
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what it looks for
const ILL_FORMED = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with a string as stored text, or null when it is well-formed. */
export function textProblem(value: string): string | null {
  const m = ILL_FORMED.exec(value);
  if (!m) return null;
  return m[0] === '\u0000'
    ? `contains a NUL character at position ${m.index}, which cannot be stored`
    : `contains a lone UTF-16 surrogate at position ${m.index} (not valid Unicode text)`;
}
