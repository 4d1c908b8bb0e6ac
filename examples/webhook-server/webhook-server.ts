/**
 * A webhook server on `node:http`: Twilio status callbacks and inbound STOP replies, SendGrid's
 * signed Event Webhook and the email unsubscribe link all reach the engine through the library's
 * web `(Request) => Response` handlers, served by `toNodeListener` (campaign-lifecycle/node: no Web
 * `Request`/`Response` built per call), and the engine's worker runs in the same process. The real
 * transports send with `nodeFetch` (keep-alive `node:http`/`node:https`).
 *
 * Run: npx tsx examples/webhook-server/webhook-server.ts
 *
 * Configuration (environment variables; without provider credentials the simulated carriers of the
 * demo send, so the server runs as it is):
 * - `PORT` (3000), `HOST` (127.0.0.1), `PUBLIC_URL` (the URL the providers call, http://localhost:PORT)
 * - `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_FROM`: send SMS through Twilio
 * - `SENDGRID_API_KEY`, `SENDGRID_FROM`: send email through SendGrid
 * - `SENDGRID_WEBHOOK_PUBLIC_KEY`: the Signed Event Webhook verification key (the route is off without it)
 * - `UNSUBSCRIBE_SECRET`: signs the unsubscribe links (at least 32 characters)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createOutreach,
  type EmailTransport,
  type Outreach,
  type SmsTransport,
  systemClock,
  unsubscribeHandler,
} from 'campaign-lifecycle';
import { memoryStorage } from 'campaign-lifecycle/memory';
import { type NodeListener, nodeFetch, toNodeListener } from 'campaign-lifecycle/node';
import { sendgridTransport, sendgridWebhookHandler } from 'campaign-lifecycle/sendgrid';
import { simulatedEmailCarrier, simulatedSmsCarrier } from 'campaign-lifecycle/testing';
import { twilioTransport, twilioWebhookHandler } from 'campaign-lifecycle/twilio';

/** Options of {@link startWebhookServer}. */
export interface WebhookServerOptions {
  /** The engine that receives the events; its worker is started with the server and stopped on close. */
  outreach: Outreach;
  /** The port to listen on; 0 picks a free one. @defaultValue 3000 */
  port?: number;
  /** The address to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** The auth token Twilio signs its callbacks with. */
  twilioAuthToken: string;
  /**
   * The public base URL Twilio calls, when the server sits behind a proxy or tunnel (Twilio signs the
   * URL it called). The request's own URL when absent.
   */
  publicUrl?: string | undefined;
  /** The SendGrid Signed Event Webhook key (base64 DER P-256); without it the SendGrid route answers 404. */
  sendgridPublicKey?: string | undefined;
  /** The secret of the engine's unsubscribe links; without it the unsubscribe route answers 404. */
  unsubscribeSecret?: string | undefined;
}

/** A running webhook server. */
export interface WebhookServer {
  /** The base URL it listens on, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** Stops the worker (sends in flight finish) and the server. */
  close(): Promise<void>;
}

/**
 * Starts the webhook server and the engine's worker. Routes: `POST /webhooks/twilio` (status
 * callbacks and inbound STOP/START), `POST /webhooks/sendgrid` (Event Webhook), `GET|POST
 * /unsubscribe` (the email link), `GET /health`.
 * @example
 * const { url, close } = await startWebhookServer({ outreach, port: 3000, twilioAuthToken: process.env.TWILIO_AUTH_TOKEN! });
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { outreach } = options;
  const routes = new Map<string, NodeListener>();
  // A handler throws only on a bug or a misconfiguration: log it; the listener answers 500 so the provider retries.
  const onError = (error: unknown) => console.error('[webhook-server]', error);
  routes.set(
    '/webhooks/twilio',
    toNodeListener(
      twilioWebhookHandler({ outreach, authToken: options.twilioAuthToken, publicUrl: options.publicUrl }),
      {
        onError,
      },
    ),
  );
  if (options.sendgridPublicKey) {
    routes.set(
      '/webhooks/sendgrid',
      toNodeListener(
        sendgridWebhookHandler({
          outreach,
          publicKey: options.sendgridPublicKey,
          maxAgeSeconds: 600,
          clock: outreach.clock,
        }),
        { onError },
      ),
    );
  }
  if (options.unsubscribeSecret) {
    routes.set(
      '/unsubscribe',
      toNodeListener(unsubscribeHandler({ outreach, secret: options.unsubscribeSecret, clock: outreach.clock }), {
        onError,
      }),
    );
  }
  routes.set('/health', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, worker: outreach.worker.running }));
  });

  let base = '';
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const listener = routes.get(path);
    if (listener) listener(req, res);
    else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not found.');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  base = `http://${host}:${address.port}`;
  outreach.worker.start();

  return {
    url: base,
    async close() {
      await outreach.worker.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Builds an engine from the environment: real providers when their credentials are set, simulated carriers otherwise. */
export function outreachFromEnv(env: NodeJS.ProcessEnv, publicUrl: string): Outreach {
  const clock = systemClock;
  // One keep-alive agent pool for both providers' APIs.
  const fetch = nodeFetch();
  const sms: SmsTransport =
    env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN
      ? twilioTransport({
          accountSid: env.TWILIO_ACCOUNT_SID,
          authToken: env.TWILIO_AUTH_TOKEN,
          from: env.TWILIO_FROM,
          statusCallbackUrl: `${publicUrl}/webhooks/twilio`,
          fetch,
        })
      : simulatedSmsCarrier({ clock });
  const email: EmailTransport = env.SENDGRID_API_KEY
    ? sendgridTransport({
        apiKey: env.SENDGRID_API_KEY,
        ...(env.SENDGRID_FROM ? { from: { email: env.SENDGRID_FROM } } : {}),
        fetch,
      })
    : simulatedEmailCarrier({ clock });
  return createOutreach({
    storage: memoryStorage(),
    clock,
    transports: { sms, email },
    ...(env.UNSUBSCRIBE_SECRET
      ? { unsubscribe: { baseUrl: `${publicUrl}/unsubscribe`, secret: env.UNSUBSCRIBE_SECRET } }
      : {}),
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const env = process.env;
  const port = Number(env.PORT ?? 3000);
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const server = await startWebhookServer({
    outreach: outreachFromEnv(env, publicUrl),
    port,
    host: env.HOST ?? '127.0.0.1',
    publicUrl,
    twilioAuthToken: env.TWILIO_AUTH_TOKEN ?? 'demo-twilio-auth-token',
    sendgridPublicKey: env.SENDGRID_WEBHOOK_PUBLIC_KEY,
    unsubscribeSecret: env.UNSUBSCRIBE_SECRET,
  });
  console.log(`Webhook server on ${server.url} (providers call ${publicUrl})`);
  console.log(`  POST ${publicUrl}/webhooks/twilio`);
  if (env.SENDGRID_WEBHOOK_PUBLIC_KEY) console.log(`  POST ${publicUrl}/webhooks/sendgrid`);
  else console.log('  (SendGrid route off: set SENDGRID_WEBHOOK_PUBLIC_KEY)');
  if (env.UNSUBSCRIBE_SECRET) console.log(`  GET|POST ${publicUrl}/unsubscribe`);
  else console.log('  (unsubscribe route off: set UNSUBSCRIBE_SECRET)');
  const shutdown = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
