import { describe, expect, it } from 'vitest';
import { runDemo } from './run-demo.js';

describe('examples: demo', () => {
  it('should run both campaigns to a final status with every seed outcome represented, sending no message twice', async () => {
    let text = '';
    const report = await runDemo({ write: (s) => (text += s) });
    const [sms, email] = report.campaigns;
    expect(sms?.status).toBe('complete_with_errors');
    expect(email?.status).toBe('complete_with_errors');
    for (const c of report.campaigns) {
      const sum = Object.values(c.byStatus).reduce((a, b) => a + (b ?? 0), 0);
      expect(sum).toBe(c.total);
      expect(c.total).toBe(c.imported);
    }
    expect(sms?.byStatus.assumed_delivered).toBeGreaterThan(0);
    expect(sms?.byStatus.opted_out).toBeGreaterThan(0);
    expect(Object.keys(sms?.byReason ?? {}).some((k) => k.includes('timed_out'))).toBe(true);
    expect(Object.keys(sms?.byReason ?? {}).some((k) => k.includes('unreachable'))).toBe(true);
    expect(Object.keys(email?.byReason ?? {}).some((k) => k.includes('expired'))).toBe(true);
    expect(Object.keys(email?.byReason ?? {}).some((k) => k.includes('bounced'))).toBe(true);
    expect(sms?.rejected.length).toBeGreaterThan(0);
    expect(report.sendsPerMessageMax).toBe(1);
    expect(report.simulatedHours).toBeGreaterThan(72);
    expect(text).toContain('Report');
  }, 120_000);
});
