/**
 * A fake clock, simulated carriers, and the conformance suites for storage and transports.
 * @module campaign-lifecycle/testing
 */

export type { FakeClock, FakeClockOptions } from './fake-clock.js';
export { createFakeClock } from './fake-clock.js';
export type {
  CarrierScript,
  EmailOutcome,
  SimulatedCarrier,
  SimulatedCarrierOptions,
  SmsOutcome,
} from './simulated-carriers.js';
export { seededRandom, simulatedEmailCarrier, simulatedSmsCarrier } from './simulated-carriers.js';
export type { StorageSuiteOptions, SuiteRunner } from './storage-suite.js';
export { sampleCampaign, sampleContact, sampleMessage, storageConformanceSuite } from './storage-suite.js';
export type {
  LookupScenario,
  TransportScenario,
  TransportSuiteOptions,
  TransportUnderTest,
} from './transport-suite.js';
export { isLookupResult, isSendResult, sampleEmail, sampleSms, transportConformanceSuite } from './transport-suite.js';
