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
