/**
 * Calls into a transport, narrowed by channel: an SMS goes only to an SMS transport, an email only to
 * an email transport (a renderer that produced the other channel's payload is a failure to create).
 */
import type { OutgoingEmail, OutgoingSms } from '../content.js';
import type { LookupOptions, LookupResult, SendOptions, SendResult, Transport } from '../ports/transport.js';

/** A rendered message of either channel. */
export type Outgoing = OutgoingSms | OutgoingEmail;

const mismatch = (transport: Transport, payload: Outgoing) =>
  `the renderer produced ${payload.channel === 'sms' ? 'an SMS' : 'an email'} for the ${transport.channel} transport ${transport.name}`;

/** Hands one message to the transport of its channel. */
export function sendVia(transport: Transport, payload: Outgoing, options: SendOptions): Promise<SendResult> {
  if (transport.channel === 'sms' && payload.channel === 'sms') return transport.send(payload, options);
  if (transport.channel === 'email' && payload.channel === 'email') return transport.send(payload, options);
  return Promise.resolve({ outcome: 'rejected', reason: 'failed_to_create', error: mismatch(transport, payload) });
}

/** Whether the transport takes several emails in one call (`EmailTransport.sendBatch`). */
export function canBatch(transport: Transport): boolean {
  return transport.channel === 'email' && typeof transport.sendBatch === 'function';
}

/**
 * Hands several emails to the transport's `sendBatch` in one call and answers one result per payload,
 * in order. A payload of the other channel is a failure to create (it is not handed over); a call that
 * throws, or answers another number of results, leaves every message of it `unknown` (they may have
 * been sent, so never resent blindly).
 */
export async function sendBatchVia(
  transport: Transport,
  payloads: readonly Outgoing[],
  options: SendOptions,
  onError: (error: unknown) => void,
): Promise<SendResult[]> {
  const results: SendResult[] = payloads.map((p) => ({
    outcome: 'rejected',
    reason: 'failed_to_create',
    error: mismatch(transport, p),
  }));
  if (transport.channel !== 'email' || !transport.sendBatch) return results;
  const at: number[] = [];
  const emails: OutgoingEmail[] = [];
  payloads.forEach((p, i) => {
    if (p.channel !== 'email') return;
    at.push(i);
    emails.push(p);
  });
  if (emails.length === 0) return results;
  let answers: readonly SendResult[] | undefined;
  let error = '';
  try {
    answers = await transport.sendBatch(emails, options);
    if (!Array.isArray(answers) || answers.length !== emails.length) {
      error = `the ${transport.name} transport answered a batch of ${emails.length} with ${Array.isArray(answers) ? answers.length : 'no'} results`;
      answers = undefined;
      onError(new Error(error));
    }
  } catch (e) {
    // A transport that throws broke its contract; it may have sent, so never resend.
    onError(e);
    error = e instanceof Error ? e.message : String(e);
  }
  at.forEach((i, k) => {
    results[i] = answers ? (answers[k] as SendResult) : { outcome: 'unknown', error };
  });
  return results;
}

/** Whether the transport can look up sends of unknown outcome. */
export function canLookUp(transport: Transport | undefined): boolean {
  return typeof transport?.lookup === 'function';
}

/** Asks the transport of the payload's channel what it knows of a send. */
export function lookupVia(transport: Transport, payload: Outgoing, options: LookupOptions): Promise<LookupResult> {
  if (transport.channel === 'sms' && payload.channel === 'sms' && transport.lookup)
    return transport.lookup(payload, options);
  if (transport.channel === 'email' && payload.channel === 'email' && transport.lookup)
    return transport.lookup(payload, options);
  return Promise.resolve({ outcome: 'undecidable', error: mismatch(transport, payload) });
}
