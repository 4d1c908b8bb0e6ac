/**
 * Phone numbers to E.164 with libphonenumber-js, a default country for national formats and an
 * optional allow-list of countries.
 *
 * Metadata: the `max` set. It checks digit patterns as well as lengths, so a number that cannot
 * exist (`+1 011 555 1234`, a UK number in a reserved range) is refused at import, where the person
 * uploading the file can fix it, instead of failing later at Twilio. The server-side core does not
 * care about the extra ~65 kB over `min`; keep the dependency updated so the patterns stay current.
 */
import {
  type CountryCode,
  getCountries,
  getCountryCallingCode,
  isSupportedCountry,
  ParseError,
  type PhoneNumber,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max';
import { OutreachError } from '../errors.js';

export type { CountryCode };

/** Options of {@link normalizePhone}. */
export interface PhoneOptions {
  /** Country assumed for numbers written without `+` and country code (national formats, `00` prefixes). */
  defaultCountry?: CountryCode | undefined;
  /** When given, numbers of any other country are refused with `unsupported_country`. */
  allowedCountries?: readonly CountryCode[] | undefined;
}

/** Why a phone number was refused; the ids match the failure reasons of the same name. */
export type PhoneRejection = 'invalid_number' | 'unsupported_country';

/** The result of {@link normalizePhone}. */
export type PhoneResult =
  | { ok: true; e164: string; country?: string }
  | { ok: false; reason: PhoneRejection; message: string };

const INVALID = 'Phone number is invalid';
const UNSUPPORTED = 'Phone number contains unsupported country code';

/** Calling codes of an allow-list, cached because an import checks the same list for every row. */
const callingCodesCache = new WeakMap<readonly CountryCode[], ReadonlySet<string>>();
function callingCodesOf(allowed: readonly CountryCode[]): ReadonlySet<string> {
  let codes = callingCodesCache.get(allowed);
  if (!codes) {
    codes = new Set(allowed.map((c) => getCountryCallingCode(c)));
    callingCodesCache.set(allowed, codes);
  }
  return codes;
}

/**
 * Checks that country codes are ones libphonenumber-js knows.
 * @throws OutreachError `VALIDATION_FAILED` naming the unknown code.
 */
export function assertCountryCodes(codes: readonly string[]): void {
  for (const code of codes) {
    if (!isSupportedCountry(code)) {
      throw new OutreachError(
        'VALIDATION_FAILED',
        `Unknown country code "${code}"; use an ISO 3166-1 alpha-2 code such as GB, US or FR.`,
        { details: { country: code, known: getCountries().length } },
      );
    }
  }
}

function reject(reason: PhoneRejection, detail: string): PhoneResult {
  return { ok: false, reason, message: `${reason === 'invalid_number' ? INVALID : UNSUPPORTED}: ${detail}` };
}

/**
 * Normalises a phone number to E.164 (`+447911123456`).
 *
 * Letters, extensions and numbers that do not match their country's patterns are `invalid_number`;
 * a number whose country is not in `allowedCountries` is `unsupported_country` with seed 001's
 * message "Phone number contains unsupported country code".
 * @throws OutreachError `VALIDATION_FAILED` when `defaultCountry` or `allowedCountries` holds an unknown code.
 * @example
 * normalizePhone('07911 123456', { defaultCountry: 'GB' }) // { ok: true, e164: '+447911123456', country: 'GB' }
 */
export function normalizePhone(raw: string, options: PhoneOptions = {}): PhoneResult {
  const { defaultCountry, allowedCountries } = options;
  if (defaultCountry !== undefined && !isSupportedCountry(defaultCountry)) assertCountryCodes([defaultCountry]);
  const text = raw.trim();
  if (text === '') return reject('invalid_number', 'the number is empty.');
  let phone: PhoneNumber;
  try {
    phone = parsePhoneNumberWithError(text, { defaultCountry, extract: false });
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    switch (error.message) {
      case 'INVALID_COUNTRY':
        return reject(
          'invalid_number',
          /^\s*\+/.test(text)
            ? `"${text}" starts with a country code that does not exist.`
            : `"${text}" has no country code; write it as +<country code><number> or set a default country.`,
        );
      case 'TOO_SHORT':
        return reject('invalid_number', `"${text}" is too short.`);
      case 'TOO_LONG':
        return reject('invalid_number', `"${text}" is too long.`);
      default:
        return reject(
          'invalid_number',
          `"${text}" is not a phone number (only digits, spaces, +, -, ( ) and . are allowed).`,
        );
    }
  }
  // Both are computed by matching the country patterns: read each once.
  const valid = phone.isValid();
  const country = phone.country;
  if (allowedCountries !== undefined) {
    // A valid number has a country; an invalid one is judged by its calling code, so "+33 1" is
    // reported as the unsupported country it names rather than as a bad number.
    const allowed = country
      ? allowedCountries.includes(country)
      : !valid && callingCodesOf(allowedCountries).has(phone.countryCallingCode);
    if (!allowed) {
      return reject(
        'unsupported_country',
        `+${phone.countryCallingCode}${country ? ` (${country})` : ''} is not one of the allowed countries (${allowedCountries.join(', ')}).`,
      );
    }
  }
  if (phone.ext) return reject('invalid_number', `"${text}" has an extension, which cannot receive SMS.`);
  if (!valid) {
    const why = phone.isPossible() ? 'does not match any number range' : 'has the wrong number of digits';
    return reject('invalid_number', `"${text}" ${why} for +${phone.countryCallingCode}.`);
  }
  return country ? { ok: true, e164: phone.number, country } : { ok: true, e164: phone.number };
}

/** {@link normalizePhone}'s answer in the compact form imports pass between threads: the E.164 number, or why not. */
export type PhoneCheck = string | { readonly message: string; readonly reason: PhoneRejection };

/**
 * {@link normalizePhone} for imports: the E.164 number when valid, otherwise the reason and message.
 * @example checkPhone('07911 123456', { defaultCountry: 'GB' }) // '+447911123456'
 */
export function checkPhone(raw: string, options: PhoneOptions): PhoneCheck {
  const r = normalizePhone(raw, options);
  return r.ok ? r.e164 : { message: r.message, reason: r.reason };
}
