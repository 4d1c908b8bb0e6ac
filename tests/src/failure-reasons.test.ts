import { FAILURE_REASONS } from 'campaign-lifecycle';
import { describe, expect, it } from 'vitest';
import { reasonForSendgridEvent } from '../../adapters/sendgrid/index.js';
import { reasonForTwilioCode } from '../../adapters/twilio/index.js';

describe('failure reasons: provider code mapping', () => {
  it('should map seed 001 codes to their reasons, keeping retryable flags', () => {
    expect(reasonForTwilioCode(30003)).toBe('unreachable');
    expect(FAILURE_REASONS.unreachable.retryable).toBe(false);
    expect(reasonForTwilioCode('30008')).toBe('unknown');
    expect(FAILURE_REASONS.unknown.retryable).toBe(true);
    expect(reasonForSendgridEvent({ event: 'bounce', type: 'blocked' })).toBe('blocked');
  });

  it('should map unknown and prototype-named codes to unknown, never to an inherited property', () => {
    for (const code of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '99999', '', null, undefined]) {
      expect(reasonForTwilioCode(code)).toBe('unknown');
    }
  });
});
