import { readFileSync } from 'node:fs';
import { FAILURE_REASONS } from 'campaign-lifecycle';
import { describe, expect, it } from 'vitest';
import { SENDGRID_EVENT_MAP, SENDGRID_SUPPRESSION_EVENT_MAP } from '../../../adapters/sendgrid/index.js';
import { TWILIO_ERROR_CODES, TWILIO_STATUS_MAP } from '../../../adapters/twilio/index.js';

const doc = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const rows = doc.split('\n').filter((line) => line.startsWith('|'));

describe('providers: the provider mapping in README.md stays in sync with the tables', () => {
  it.each(Object.entries(TWILIO_ERROR_CODES).map(([code, e]) => [code, e.reason]))(
    'should list Twilio code %s as %s',
    (code, reason) => {
      expect(rows.some((r) => r.startsWith(`| ${code} |`) && r.includes(`\`${reason}\``))).toBe(true);
    },
  );

  it.each(Object.entries(TWILIO_ERROR_CODES))(
    'should list Twilio code %s with its title, label and retry',
    (code, e) => {
      const expected = `| ${code} | ${e.title} | \`${e.reason}\` | ${FAILURE_REASONS[e.reason].label} | ${e.retryable ? 'yes' : 'no'} |`;
      expect(rows).toContain(expected);
    },
  );

  it('should list no Twilio code the table does not map', () => {
    const listed = rows.map((r) => /^\| (\d{5}) \|/.exec(r)?.[1]).filter((c): c is string => c !== undefined);
    expect(listed.sort()).toEqual(Object.keys(TWILIO_ERROR_CODES).sort());
  });

  it.each(Object.entries(TWILIO_STATUS_MAP))('should list Twilio status %s as %s', (status, ours) => {
    expect(rows.some((r) => r.includes(`\`${status}\``) && r.includes(`| \`${ours}\``))).toBe(true);
  });

  it.each(Object.entries(SENDGRID_EVENT_MAP))('should list SendGrid event %s as %s', (event, ours) => {
    expect(rows.some((r) => r.includes(`\`${event}\``) && r.includes(`| \`${ours}\``))).toBe(true);
  });

  it.each(Object.entries(SENDGRID_SUPPRESSION_EVENT_MAP))('should list SendGrid event %s as an %s', (event, action) => {
    expect(rows.some((r) => r.startsWith(`| \`${event}\` |`) && r.includes(action.replace('_', '-')))).toBe(true);
  });
});
