/**
 * The worker thread of {@link startPhonePool}: checks the phone numbers it is sent with
 * {@link checkPhone} and the options it was started with, and answers in order. Loaded only as a
 * worker (never by an entry), so it may import Node's `worker_threads`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkPhone, type PhoneOptions } from './phone.js';

const options = workerData as PhoneOptions;
const port = parentPort;
port?.on('message', (message: { id: number; raws: string[] }) => {
  const results = new Array(message.raws.length);
  for (let i = 0; i < message.raws.length; i++) results[i] = checkPhone(message.raws[i] as string, options);
  port.postMessage({ id: message.id, results });
});
