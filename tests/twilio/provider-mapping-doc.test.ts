import { readFileSync } from 'node:fs';
import { TWILIO_ERROR_REASONS } from 'campaign-lifecycle';
import { describe, expect, it } from 'vitest';
import { SENDGRID_EVENT_MAP } from '../../adapters/sendgrid/index.js';
import { TWILIO_STATUS_MAP } from '../../adapters/twilio/index.js';

const doc = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const rows = doc.split('\n').filter((line) => line.startsWith('|'));

describe('providers: the provider mapping in README.md stays in sync with the tables', () => {
  it.each(Object.entries(TWILIO_ERROR_REASONS))('should list Twilio code %s as %s', (code, reason) => {
    expect(rows.some((r) => r.startsWith(`| ${code} |`) && r.includes(`\`${reason}\``))).toBe(true);
  });

  it.each(Object.entries(TWILIO_STATUS_MAP))('should list Twilio status %s as %s', (status, ours) => {
    expect(rows.some((r) => r.includes(`\`${status}\``) && r.includes(`| \`${ours}\``))).toBe(true);
  });

  it.each(Object.entries(SENDGRID_EVENT_MAP))('should list SendGrid event %s as %s', (event, ours) => {
    expect(rows.some((r) => r.includes(`\`${event}\``) && r.includes(`| \`${ours}\``))).toBe(true);
  });
});
