/**
 * Loopback fixtures for the webhook campaign tests: one real HTTP server on 127.0.0.1 that routes
 * by path to web handlers, an ingest recorder, and a snapshot of everything a forged request must
 * leave unchanged.
 */
import type { Channel, EventSink, IngestResult, Outreach } from 'campaign-lifecycle';
import { serveWebHandler } from './loopback-http.js';

/** A web handler, as the adapters export them. */
export type WebHandler = (request: Request) => Promise<Response>;

/**
 * Serves web handlers by path on one loopback port. Routes are added after the server listens,
 * since the engine needs the server's URL (callback and unsubscribe URLs) before its handlers exist.
 */
export async function serveRoutes() {
  const routes = new Map<string, WebHandler>();
  const server = await serveWebHandler(async (request) => {
    const handler = routes.get(new URL(request.url).pathname);
    return handler ? handler(request) : new Response('no such route', { status: 404 });
  });
  return {
    url: server.url,
    route(path: string, handler: WebHandler) {
      routes.set(path, handler);
    },
    close: server.close,
  };
}

/** Passes events to the engine and keeps what each ingest did, so that a test can see duplicates. */
export function recordIngest(outreach: Outreach): EventSink & { results: IngestResult[] } {
  const results: IngestResult[] = [];
  return {
    results,
    async ingest(events) {
      const r = await outreach.ingest(events);
      results.push(r);
      return r;
    },
  };
}

/** Messages, campaign counters and the suppression of some addresses, as one comparable string. */
export async function snapshot(
  outreach: Outreach,
  campaignId: string,
  channel: Channel,
  addresses: readonly string[],
): Promise<string> {
  const messages = await outreach.listMessages(campaignId, { limit: 100_000 });
  const stats = await outreach.getStats(campaignId);
  const suppressed = await Promise.all(addresses.map((address) => outreach.isSuppressed({ channel, address })));
  return JSON.stringify({ messages, stats, suppressed });
}
