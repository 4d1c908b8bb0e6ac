/**
 * The SMS message machine (Twilio): waiting → queued → sending → sent → delivered, with the two
 * 10-minute rules of seed 000 and "late truth wins" for every guess the library makes.
 */
import { DEFAULT_POLICY, type Policy } from '../policy.js';
import { messageMachineSetup, sharedMessageConfig } from './message-machine-shared.js';

/**
 * Builds the SMS message machine for a policy. States are flat; final statuses carry the tag `final`
 * instead of `type: 'final'`, so that a late provider report can still correct them.
 * @example
 * const machine = createSmsMessageMachine(resolvePolicy({ smsReceiptTimeout: '15m' }));
 * const [snapshot] = initialTransition(machine, { at: Date.now() });
 */
export function createSmsMessageMachine(policy: Policy) {
  const {
    context,
    optOut,
    close,
    providerFailed,
    preSendStates,
    handOver,
    sendingTimeout,
    failedCorrections,
    settledStates,
  } = sharedMessageConfig('sms');
  return messageMachineSetup('sms', policy).createMachine({
    id: 'sms',
    context,
    initial: 'waiting',
    states: {
      ...preSendStates,
      sending: {
        after: sendingTimeout,
        on: {
          ...handOver,
          PROVIDER_SENT: { target: 'sent', actions: 'recordSent' },
          PROVIDER_DELIVERED: { target: 'delivered', actions: 'stamp' },
          PROVIDER_FAILED: providerFailed,
          CLOSE: close,
          OPT_OUT: optOut,
        },
      },
      sent: {
        after: { receiptTimeout: { target: 'assumed_delivered', actions: 'stamp' } },
        on: {
          PROVIDER_DELIVERED: { target: 'delivered', actions: 'stamp' },
          PROVIDER_FAILED: providerFailed,
          CLOSE: close,
          OPT_OUT: optOut,
        },
      },
      delivered: { tags: ['final'], on: { OPT_OUT: optOut } },
      assumed_delivered: {
        tags: ['final'],
        on: {
          PROVIDER_DELIVERED: { target: 'delivered', actions: 'stamp' },
          PROVIDER_FAILED: providerFailed,
          OPT_OUT: optOut,
        },
      },
      failed: {
        tags: ['final'],
        on: {
          PROVIDER_SENT: { guard: 'timedOut', target: 'sent', actions: 'recordSent' },
          ...failedCorrections,
        },
      },
      ...settledStates,
    },
  });
}

/** The SMS message machine with the seed policy ({@link DEFAULT_POLICY}). */
export const smsMessageMachine = /* @__PURE__ */ createSmsMessageMachine(DEFAULT_POLICY);

/** The SMS message machine's type. */
export type SmsMessageMachine = ReturnType<typeof createSmsMessageMachine>;
