import {
  createFakeClock,
  sampleEmail,
  sampleSms,
  simulatedEmailCarrier,
  simulatedSmsCarrier,
  transportConformanceSuite,
} from 'campaign-lifecycle/testing';
import { describe, it } from 'vitest';

transportConformanceSuite(
  { describe, it },
  {
    name: 'simulated SMS carrier',
    create: () => ({
      transport: simulatedSmsCarrier({
        clock: createFakeClock(),
        byAddress: {
          '+14155550101': { kind: 'rejected', code: '21211' },
          '+14155550102': { kind: 'presend_error', times: 1 },
          '+14155550103': { kind: 'unknown' },
        },
      }),
      scenarios: [
        { message: sampleSms({ to: '+14155550100' }), expect: 'accepted' },
        { message: sampleSms({ to: '+14155550101' }), expect: 'rejected', reason: 'invalid_number' },
        { message: sampleSms({ to: '+14155550102' }), expect: 'presend' },
        { message: sampleSms({ to: '+14155550103' }), expect: 'unknown' },
      ],
    }),
  },
);

transportConformanceSuite(
  { describe, it },
  {
    name: 'simulated email carrier',
    create: () => ({
      transport: simulatedEmailCarrier({
        clock: createFakeClock(),
        byAddress: {
          'invalid@example.com': { kind: 'rejected', reason: 'invalid_address' },
          'busy@example.com': { kind: 'presend_error', times: 1 },
          'lost@example.com': { kind: 'unknown' },
        },
      }),
      scenarios: [
        { message: sampleEmail({ to: 'ada@example.com' }), expect: 'accepted' },
        { message: sampleEmail({ to: 'invalid@example.com' }), expect: 'rejected', reason: 'invalid_address' },
        { message: sampleEmail({ to: 'busy@example.com' }), expect: 'presend' },
        { message: sampleEmail({ to: 'lost@example.com' }), expect: 'unknown' },
      ],
    }),
  },
);
