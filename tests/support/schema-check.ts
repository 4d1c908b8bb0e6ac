/**
 * A small JSON-schema check for the OpenAPI request schemas under tests/fixtures/providers: the
 * subset those schemas use (type, properties, required, additionalProperties, enum, length and
 * count limits, pattern, the formats email / uri / phone-number). `strict` also refuses a property
 * the schema does not declare, so that a misspelt parameter name is caught even where the
 * provider's schema leaves `additionalProperties` open.
 */

/** The part of a JSON schema this check reads. */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
}

const FORMATS: Record<string, (v: string) => boolean> = {
  email: (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v),
  uri: (v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && !u.hostname.includes('_');
    } catch {
      return false;
    }
  },
  // E.164, a channel address (whatsapp:+1…), a short code, or an alphanumeric sender id.
  'phone-number': (v) =>
    /^\+[1-9]\d{1,14}$/.test(v) || /^[a-z]+:.+$/.test(v) || /^\d{3,8}$/.test(v) || /^[A-Za-z0-9 ]{1,11}$/.test(v),
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: string, value: unknown, form: boolean): boolean {
  const actual = typeOf(value);
  if (expected === actual) return true;
  if (expected === 'number' && actual === 'integer') return true;
  // A form-encoded body carries every value as a string.
  if (form && actual === 'string') {
    const s = value as string;
    if (expected === 'integer') return /^-?\d+$/.test(s);
    if (expected === 'number') return s.trim() !== '' && Number.isFinite(Number(s));
    if (expected === 'boolean') return s === 'true' || s === 'false';
  }
  return false;
}

/** Options of {@link checkSchema}. */
export interface CheckOptions {
  /** Refuse properties the schema does not declare. */
  readonly strict?: boolean;
  /** The value came from a form body: strings stand for integers, numbers and booleans. */
  readonly form?: boolean;
}

/** Every way `value` breaks `schema`, as `path: problem` lines; empty when it conforms. */
export function checkSchema(schema: Schema, value: unknown, options: CheckOptions = {}, path = '$'): string[] {
  const errors: string[] = [];
  const form = options.form === true;
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(t, value, form))) {
      return [`${path}: expected ${types.join(' or ')}, got ${typeOf(value)}`];
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) errors.push(`${path}: not one of ${schema.enum}`);
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength)
      errors.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      errors.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push(`${path}: does not match ${schema.pattern}`);
    }
    const format = schema.format === undefined ? undefined : FORMATS[schema.format];
    if (format && !format(value)) errors.push(`${path}: not a valid ${schema.format}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      errors.push(`${path}: more than ${schema.maxItems} items`);
    if (schema.items) {
      for (const [i, item] of value.entries()) {
        errors.push(...checkSchema(schema.items, item, options, `${path}[${i}]`));
      }
    }
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    for (const key of schema.required ?? []) if (!(key in record)) errors.push(`${path}.${key}: required`);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) {
      errors.push(`${path}: more than ${schema.maxProperties} properties`);
    }
    for (const key of keys) {
      const declared = schema.properties?.[key];
      if (declared) {
        errors.push(...checkSchema(declared, record[key], options, `${path}.${key}`));
      } else if (typeof schema.additionalProperties === 'object') {
        errors.push(...checkSchema(schema.additionalProperties, record[key], options, `${path}.${key}`));
      } else if (
        schema.additionalProperties === false ||
        (options.strict && schema.properties !== undefined && schema.additionalProperties === undefined)
      ) {
        errors.push(`${path}.${key}: not a property of the schema`);
      }
    }
  }
  return errors;
}

/** A form body as the object a schema describes: one string per name, an array when repeated. */
export function formObject(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}
