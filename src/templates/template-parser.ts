/**
 * The `{{field}}` / `{{field|default}}` template language: parsing, with a small cache because a
 * campaign renders the same few templates a million times.
 */
import { OutreachError } from '../errors.js';

/** One variable of a template. */
export interface TemplateVariable {
  /** The field name, trimmed (`{{ First Name }}` → `First Name`). */
  name: string;
  /** The text after `|`, trimmed; present when the template gives a default (possibly empty). */
  defaultValue?: string;
}

/** A parsed template: literal text and variables, alternating. */
export type TemplatePart = string | TemplateVariable;

const MAX_CACHED = 64;
const cache = new Map<string, readonly TemplatePart[]>();

function positionOf(text: string, index: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${index - lineStart + 1}`;
}

function invalid(text: string, index: number, what: string): OutreachError {
  return new OutreachError(
    'TEMPLATE_INVALID',
    `Template error at ${positionOf(text, index)} (offset ${index}): ${what}`,
    {
      details: { offset: index },
    },
  );
}

/**
 * Parses a template into literal parts and variables.
 * @throws OutreachError `TEMPLATE_INVALID` naming the line and column of a `{{` that is not closed,
 * an empty name, or a `{` or `}` inside a variable.
 */
export function compileTemplate(text: string): readonly TemplatePart[] {
  const cached = cache.get(text);
  if (cached) return cached;
  const parts: TemplatePart[] = [];
  let from = 0;
  for (;;) {
    const open = text.indexOf('{{', from);
    if (open === -1) break;
    const close = text.indexOf('}}', open + 2);
    if (close === -1) throw invalid(text, open, '"{{" is never closed with "}}".');
    const inner = text.slice(open + 2, close);
    const brace = inner.search(/[{}]/);
    if (brace !== -1) throw invalid(text, open + 2 + brace, `unexpected "${inner[brace]}" inside "{{…}}".`);
    const bar = inner.indexOf('|');
    const name = (bar === -1 ? inner : inner.slice(0, bar)).trim();
    if (name === '') throw invalid(text, open, 'a variable needs a name, as in {{first_name}}.');
    if (open > from) parts.push(text.slice(from, open));
    parts.push(bar === -1 ? { name } : { name, defaultValue: inner.slice(bar + 1).trim() });
    from = close + 2;
  }
  if (from < text.length) parts.push(text.slice(from));
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(text, parts);
  return parts;
}

/**
 * The variables of a template, each distinct `{name, defaultValue}` once, in order of appearance.
 * @throws OutreachError `TEMPLATE_INVALID` for a malformed `{{`.
 * @example
 * parseTemplate('Hi {{ first_name | there }}, {{code}}')
 * // [{ name: 'first_name', defaultValue: 'there' }, { name: 'code' }]
 */
export function parseTemplate(text: string): TemplateVariable[] {
  const out: TemplateVariable[] = [];
  const keys = new Set<string>();
  for (const part of compileTemplate(text)) {
    if (typeof part === 'string') continue;
    const key = part.defaultValue === undefined ? `${part.name}\u0000` : `${part.name}\u0001${part.defaultValue}`;
    if (keys.has(key)) continue;
    keys.add(key);
    out.push(
      part.defaultValue === undefined ? { name: part.name } : { name: part.name, defaultValue: part.defaultValue },
    );
  }
  return out;
}

/**
 * Fills a template. A field that is absent or blank takes the variable's default, else renders
 * empty; `encode` is applied to every inserted value (defaults included), never to the template's
 * own text. `extra` holds built-in values that take precedence over fields.
 */
export function fillTemplate(
  text: string,
  fields: Readonly<Record<string, string | undefined>>,
  encode?: (value: string) => string,
  extra?: Readonly<Record<string, string>>,
): string {
  const parts = compileTemplate(text);
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    // Built-in values (the unsubscribe link) win over a contact field of the same name.
    let value =
      extra !== undefined && Object.hasOwn(extra, part.name)
        ? extra[part.name]
        : Object.hasOwn(fields, part.name)
          ? fields[part.name]
          : undefined;
    if (value === undefined || value.trim() === '') value = part.defaultValue ?? '';
    out += encode ? encode(value) : value;
  }
  return out;
}
