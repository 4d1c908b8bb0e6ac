/** @module campaign-lifecycle/testing — a fake clock, simulated carriers, and the conformance suites for storage and transports. */
export { createFakeClock } from './fake-clock.js';
export type { FakeClock, FakeClockOptions } from './fake-clock.js';
export { simulatedSmsCarrier, simulatedEmailCarrier, seededRandom } from './simulated-carriers.js';
export type {
  SmsOutcome,
  EmailOutcome,
  CarrierScript,
  SimulatedCarrierOptions,
  SimulatedCarrier,
} from './simulated-carriers.js';
export { storageConformanceSuite, sampleCampaign, sampleContact, sampleMessage } from './storage-suite.js';
export type { SuiteRunner, StorageSuiteOptions } from './storage-suite.js';
export { transportConformanceSuite, isSendResult, sampleSms, sampleEmail } from './transport-suite.js';
export type { TransportScenario, TransportSuiteOptions } from './transport-suite.js';
