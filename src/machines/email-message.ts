/**
 * The email message machine (SendGrid): waiting → queued → sending → delivered, with `retrying` for
 * deferrals, the deferral window of seed 000 and "late truth wins" for every guess the library makes.
 */
import { DEFAULT_POLICY, type Policy } from '../policy.js';
import { messageMachineSetup, sharedMessageConfig } from './message-machine-shared.js';

/**
 * Builds the email message machine for a policy. States are flat; final statuses carry the tag `final`
 * instead of `type: 'final'`, so that a late provider report can still correct them.
 * @example
 * const machine = createEmailMessageMachine(resolvePolicy({ emailDeferralWindow: Infinity }));
 * const [snapshot] = initialTransition(machine, { at: Date.now() });
 */
export function createEmailMessageMachine(policy: Policy) {
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
  } = sharedMessageConfig('email');
  return messageMachineSetup('email', policy).createMachine({
    id: 'email',
    context,
    initial: 'waiting',
    states: {
      ...preSendStates,
      sending: {
        after: sendingTimeout,
        on: {
          ...handOver,
          PROVIDER_DEFERRED: { target: 'retrying', actions: 'startDeferral' },
          PROVIDER_DELIVERED: { target: 'delivered', actions: 'stamp' },
          PROVIDER_FAILED: providerFailed,
          CLOSE: close,
          OPT_OUT: optOut,
        },
      },
      retrying: {
        after: {
          deferralWindow: {
            guard: 'deferralWindowIsFinite',
            target: 'failed',
            actions: { type: 'setReason', params: { reason: 'expired' } },
          },
        },
        on: {
          // No target: a repeated deferral must not restart the window.
          PROVIDER_DEFERRED: { guard: 'newDeferral', actions: 'countDeferral' },
          PROVIDER_DELIVERED: { target: 'delivered', actions: 'stamp' },
          PROVIDER_FAILED: providerFailed,
          CLOSE: close,
          OPT_OUT: optOut,
        },
      },
      delivered: { tags: ['final'], on: { OPT_OUT: optOut } },
      failed: {
        tags: ['final'],
        on: {
          PROVIDER_DEFERRED: { guard: 'timedOut', target: 'retrying', actions: 'startDeferral' },
          ...failedCorrections,
        },
      },
      ...settledStates,
    },
  });
}

/** The email message machine with the seed policy ({@link DEFAULT_POLICY}). */
export const emailMessageMachine = /* @__PURE__ */ createEmailMessageMachine(DEFAULT_POLICY);

/** The email message machine's type. */
export type EmailMessageMachine = ReturnType<typeof createEmailMessageMachine>;
