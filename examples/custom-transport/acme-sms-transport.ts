/**
 * A custom SMS transport for the made-up provider "Acme SMS" (see acme-sms-api.ts for its HTTP
 * contract). A transport does one thing: hand one message to the provider and classify what
 * happened, so that the engine never guesses:
 * - `accepted`: the provider queued it; receipts, if any, come later through `outreach.ingest`.
 * - `presend`: proven not queued (connection refused, 429, 503): the engine retries with backoff.
 * - `rejected`: refused for good, with a failure reason: never retried automatically.
 * - `unknown`: it may have been queued (timeout, dropped connection, 500): never resent.
 *
 * Run: npx tsx examples/custom-transport/acme-sms-transport.ts
 */
import { fileURLToPath } from 'node:url';
import {
  createOutreach,
  type FailureReasonId,
  type OutgoingSms,
  type SendOptions,
  type SendResult,
  type SmsTransport,
  type TransportLimits,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { createFakeClock } from 'campaign-lifecycle/testing';
import { ACME_TEST_NUMBERS, startAcmeSmsApi } from './acme-sms-api.js';

/** Options of {@link acmeSmsTransport}. */
export interface AcmeSmsTransportOptions {
  /** The Acme API key. */
  apiKey: string;
  /** The API's base URL. */
  baseUrl: string;
  /** How long one request may take before its outcome is unknown. @defaultValue 10000 */
  timeoutMs?: number;
  /** Rate and concurrency limits the engine's dispatcher honours. */
  limits?: TransportLimits;
}

/** Acme's refusal codes and the library's failure reasons they mean. */
const ACME_REASONS: Record<string, FailureReasonId> = {
  invalid_number: 'invalid_number',
  blocked: 'blocked_number',
  opted_out: 'opted_out',
};

/** Error codes that prove the request never left this host, so the message cannot have been queued. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 4;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function retryAfterMs(header: string | null): number | undefined {
  const seconds = header === null ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * Creates the Acme SMS transport.
 * @example
 * const sms = acmeSmsTransport({ apiKey: process.env.ACME_API_KEY!, baseUrl: 'https://api.acme-sms.example' });
 * const outreach = createOutreach({ storage: memoryStorage(), transports: { sms } });
 */
export function acmeSmsTransport(options: AcmeSmsTransportOptions): SmsTransport {
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/v1/messages`;
  const timeoutMs = options.timeoutMs ?? 10_000;

  const send = async (message: OutgoingSms, sendOptions?: SendOptions): Promise<SendResult> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = sendOptions?.signal ? AbortSignal.any([timeout, sendOptions.signal]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
        // `ref` carries our message id, so that Acme's receipts can name the message.
        body: JSON.stringify({ to: message.to, text: message.body, ref: message.messageId, from: message.from }),
        signal,
      });
      text = await response.text();
    } catch (error) {
      const code = errorCode(error);
      const detail = `Acme SMS request failed: ${error instanceof Error ? error.message : String(error)}${code ? ` (${code})` : ''}`;
      // Only a failure before the connection was made proves nothing reached Acme.
      return code && NOT_SENT.has(code) ? { outcome: 'presend', error: detail } : { outcome: 'unknown', error: detail };
    }
    let body: { id?: unknown; code?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // A body that is not JSON leaves the status code to decide.
    }
    const status = response.status;
    if (status === 201 || status === 200) {
      return typeof body.id === 'string' && body.id !== ''
        ? { outcome: 'accepted', providerMessageId: body.id }
        : { outcome: 'accepted' };
    }
    const code = typeof body.code === 'string' ? body.code : String(status);
    const error = `Acme SMS answered ${status} ${code}`;
    if (status === 429 || status === 503)
      return { outcome: 'presend', error, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
    if (status === 401) return { outcome: 'rejected', reason: 'sender_config', code, error, fatal: true };
    if (status >= 400 && status < 500)
      return { outcome: 'rejected', reason: ACME_REASONS[code] ?? 'failed_to_create', code, error };
    // 500 and the rest: Acme may have queued it before failing, so it must not be sent again.
    return { outcome: 'unknown', error };
  };

  return { channel: 'sms', name: 'acme-sms', limits: options.limits, send };
}

/**
 * Runs a small campaign over the Acme API on loopback and returns each recipient's status.
 * @example const statuses = await runAcmeExample();
 */
export async function runAcmeExample(print: (line: string) => void = () => {}): Promise<Record<string, string>> {
  const api = await startAcmeSmsApi({ apiKey: 'acme-test-key' });
  const clock = createFakeClock();
  const sms = acmeSmsTransport({ apiKey: 'acme-test-key', baseUrl: api.url });
  const outreach = createOutreach({ storage: memoryStorage(), clock, transports: { sms } });
  try {
    const { id } = await outreach.createCampaign({
      name: 'Acme hello',
      channel: 'sms',
      content: { body: 'Hello from Acme' },
    });
    const recipients = [
      '+14155550101',
      ACME_TEST_NUMBERS.busyOnce,
      ACME_TEST_NUMBERS.invalid,
      ACME_TEST_NUMBERS.optedOut,
    ];
    await outreach.addContacts(
      id,
      recipients.map((address) => ({ address })),
    );
    await outreach.save(id);
    await outreach.run(id);
    outreach.worker.start();
    await clock.advance('1m'); // enough for the busy number's automatic retry after its backoff
    await outreach.worker.stop();
    const statuses: Record<string, string> = {};
    for (const m of await outreach.listMessages(id)) {
      statuses[m.to] = m.context.reason ? `${m.status} (${m.context.reason})` : m.status;
      print(`${m.to}  ${statuses[m.to]}  after ${m.context.attempts} attempt(s)`);
    }
    print(
      `Acme queued ${api.queued.length} message(s); accepted messages stay Sending until a receipt or the 10-minute rule.`,
    );
    return statuses;
  } finally {
    await api.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runAcmeExample(console.log);
