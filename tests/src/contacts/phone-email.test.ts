import { describe, expect, it } from 'vitest';
import { normalizeEmail } from '../../../src/contacts/email.js';
import { normalizePhone } from '../../../src/contacts/phone.js';
import { isOutreachError } from '../../../src/errors.js';

describe('normalizePhone: E.164', () => {
  it('should turn national, 00 and spaced formats into E.164 with the country', () => {
    expect(normalizePhone('07400 123456', { defaultCountry: 'GB' })).toEqual({
      ok: true,
      e164: '+447400123456',
      country: 'GB',
    });
    expect(normalizePhone('06 12 34 56 78', { defaultCountry: 'FR' })).toEqual({
      ok: true,
      e164: '+33612345678',
      country: 'FR',
    });
    expect(normalizePhone('+1 (212) 555-0123')).toEqual({ ok: true, e164: '+12125550123', country: 'US' });
  });

  it('Phone number contains unsupported country code', () => {
    const r = normalizePhone('+33 6 12 34 56 78', { allowedCountries: ['GB', 'US'] });
    expect(r).toMatchObject({ ok: false, reason: 'unsupported_country' });
    expect(!r.ok && r.message).toContain('Phone number contains unsupported country code');
    expect(!r.ok && r.message).toContain('+33 (FR)');
  });

  it('should judge a shared calling code by the number’s own country (+1 Canada is not the US)', () => {
    expect(normalizePhone('+1 416 555 0199', { allowedCountries: ['US'] })).toMatchObject({
      ok: false,
      reason: 'unsupported_country',
    });
    expect(normalizePhone('+1 416 555 0199', { allowedCountries: ['US', 'CA'] })).toMatchObject({
      ok: true,
      country: 'CA',
    });
  });

  it('should report an invalid number of an allowed calling code as invalid, not unsupported', () => {
    expect(normalizePhone('+1 011 555 1234', { allowedCountries: ['US'] })).toMatchObject({
      ok: false,
      reason: 'invalid_number',
    });
  });

  it('should explain a national number given without a default country', () => {
    const r = normalizePhone('07400 123456');
    expect(r).toMatchObject({ ok: false, reason: 'invalid_number' });
    expect(!r.ok && r.message).toContain('has no country code');
  });

  it('should refuse an unknown default country with VALIDATION_FAILED', () => {
    let error: unknown;
    try {
      normalizePhone('07400 123456', { defaultCountry: 'XX' as 'GB' });
    } catch (e) {
      error = e;
    }
    expect(isOutreachError(error) && error.code).toBe('VALIDATION_FAILED');
  });
});

describe('normalizeEmail: addresses', () => {
  it('should trim and lower-case the whole address, local part included', () => {
    expect(normalizeEmail('  Jane.Doe+News@Example.ORG ')).toEqual({ ok: true, email: 'jane.doe+news@example.org' });
  });

  it('should refuse malformed addresses with a reason a person can act on', () => {
    expect(normalizeEmail('jane doe@example.org')).toMatchObject({ ok: false, reason: 'invalid_email' });
    expect(normalizeEmail('jane.example.org')).toMatchObject({ ok: false, message: expect.stringContaining('no @') });
    expect(normalizeEmail('')).toMatchObject({ ok: false, reason: 'invalid_email' });
  });
});
