/**
 * The console's HTTP server on `node:http`: server-rendered pages, one form per command, CSV
 * exports, and server-sent events that push status and progress to open pages.
 *
 * Every command goes to the engine as it is: the engine alone decides whether the campaign's status
 * allows it, and a refusal (an `OutreachError`) is shown to the operator with its message.
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isOutreachError, type Outreach, type OutreachEvent } from 'campaign-lifecycle';
import type { Simulation } from './engine.js';
import type { SafeHtml } from './html.js';
import {
  ACTION_BUTTONS,
  type CampaignForm,
  type Chrome,
  campaignPage,
  campaignRow,
  campaignSummary,
  clockText,
  emptyForm,
  errorPage,
  listPage,
  messageRow,
  messagesTable,
  PAGE_SIZE,
} from './views.js';

/** Options of {@link startConsole}. */
export interface ConsoleServerOptions {
  outreach: Outreach;
  /** The simulated clock's controls, in simulate mode. */
  simulation?: Simulation | null;
  /** Shown in the header. @defaultValue 'memory' */
  storageLabel?: string;
  /** 0 picks a free port. @defaultValue 3000 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
}

/** A running console. */
export interface ConsoleServer {
  /** e.g. `http://127.0.0.1:3000` */
  readonly url: string;
  /** Ends the event streams and stops the server (not the engine). */
  close(): Promise<void>;
}

type Refusal = { code: string; message: string };

const MAX_BODY = 256 * 1024;
const ASSETS: Record<string, { type: string; body: string }> = {
  '/console.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('./public/console.js', import.meta.url), 'utf8'),
  },
  '/console.css': {
    type: 'text/css; charset=utf-8',
    body: readFileSync(new URL('./public/console.css', import.meta.url), 'utf8'),
  },
};
const ADVANCE: Record<string, number> = { '10s': 10_000, '1m': 60_000, '10m': 600_000, '1h': 3_600_000 };

/** The HTTP status for a refusal, by its stable code. */
function statusFor(code: string): number {
  switch (code) {
    case 'NOT_FOUND':
      return 404;
    case 'VALIDATION_FAILED':
    case 'TEMPLATE_INVALID':
    case 'CSV_INVALID':
      return 400;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    default:
      return 409;
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `A form may hold at most ${MAX_BODY} bytes.`);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendHtml(res: ServerResponse, status: number, page: SafeHtml): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // Inline script and style are never needed: the page loads /console.js and /console.css only.
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; object-src 'none'",
  });
  res.end(page.value);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { location });
  res.end();
}

/** Only paths of this console: never another site. */
function safeBack(value: string | null, fallback: string): string {
  return value?.startsWith('/') && !value.startsWith('//') && !value.includes('\\') ? value : fallback;
}

/** A live stream of one page: the list (`campaignId` null) or one campaign's page. */
interface Stream {
  res: ServerResponse;
  campaignId: string | null;
  after: string | null;
  campaigns: Set<string>;
  messages: Set<string>;
  table: boolean;
  timer: NodeJS.Timeout | null;
  flushing: boolean;
}

/**
 * Starts the console over an engine whose worker runs (see `createConsoleEngine`).
 * @example const server = await startConsole({ outreach, simulation, port: 0 });
 */
export async function startConsole(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const { outreach } = options;
  const simulation = options.simulation ?? null;
  const chrome = (): Chrome => ({
    storageLabel: options.storageLabel ?? 'memory',
    simulation: simulation
      ? { now: simulation.clock.now(), speed: simulation.speed, playing: simulation.playing }
      : null,
  });
  const streams = new Set<Stream>();

  const write = (s: Stream, event: string, data: unknown) => {
    s.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  const flush = async (s: Stream) => {
    s.timer = null;
    if (s.flushing) return schedule(s);
    s.flushing = true;
    const campaigns = [...s.campaigns];
    const messages = [...s.messages];
    const table = s.table;
    s.campaigns.clear();
    s.messages.clear();
    s.table = false;
    try {
      if (s.campaignId === null) {
        for (const id of campaigns) {
          const c = await outreach.getCampaign(id).catch(() => null);
          if (c) write(s, 'campaign', { id, html: campaignRow(c).value });
        }
      } else if (campaigns.length > 0 || messages.length > 0) {
        const c = await outreach.getCampaign(s.campaignId);
        write(s, 'summary', { html: campaignSummary(c).value });
        if (table || messages.length > PAGE_SIZE) {
          const page = await outreach.listMessages(c.id, { limit: PAGE_SIZE, ...(s.after ? { after: s.after } : {}) });
          write(s, 'messages', { html: messagesTable(c, page, s.after).value });
        } else {
          for (const id of messages) {
            const m = await outreach.getMessage(id);
            write(s, 'message', { id, html: messageRow(c, m).value });
          }
        }
      }
      write(s, 'clock', { text: clockText(chrome()) });
    } catch (error) {
      console.error('[console] live update', error);
    } finally {
      s.flushing = false;
    }
  };
  function schedule(s: Stream) {
    s.timer ??= setTimeout(() => void flush(s), 150);
  }

  const unsubscribe = outreach.subscribe((event: OutreachEvent) => {
    for (const s of streams) {
      if (s.campaignId !== null && s.campaignId !== event.campaignId) continue;
      s.campaigns.add(event.campaignId);
      if (event.type === 'message.status') s.messages.add(event.messageId);
      if (event.type === 'campaign.status') s.table = true; // the Retry buttons follow the campaign's status
      schedule(s);
    }
  });
  // The clock line moves even when nothing else does.
  const ticker = setInterval(() => {
    if (!simulation) return;
    for (const s of streams) write(s, 'clock', { text: clockText(chrome()) });
  }, 1000);
  ticker.unref();

  const openStream = (req: IncomingMessage, res: ServerResponse, campaignId: string | null, after: string | null) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    const s: Stream = {
      res,
      campaignId,
      after,
      campaigns: new Set(),
      messages: new Set(),
      table: false,
      timer: null,
      flushing: false,
    };
    streams.add(s);
    // A page may have missed changes between its render and this stream: send its state once now.
    if (campaignId) {
      s.campaigns.add(campaignId);
      s.table = true;
      schedule(s);
    }
    req.on('close', () => {
      streams.delete(s);
      if (s.timer) clearTimeout(s.timer);
    });
  };

  const renderCampaign = async (
    res: ServerResponse,
    id: string,
    status: number,
    extra: { after?: string | null; error?: Refusal | null; notice?: string | null },
  ) => {
    const campaign = await outreach.getCampaign(id);
    const after = extra.after ?? null;
    const messages = await outreach.listMessages(id, { limit: PAGE_SIZE, ...(after ? { after } : {}) });
    sendHtml(
      res,
      status,
      campaignPage({
        campaign,
        messages,
        after,
        chrome: chrome(),
        error: extra.error ?? null,
        notice: extra.notice ?? null,
      }),
    );
  };

  const renderList = async (res: ServerResponse, status: number, form: CampaignForm, error: Refusal | null) => {
    const campaigns = await outreach.listCampaigns();
    campaigns.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    sendHtml(res, status, listPage({ campaigns, chrome: chrome(), form, error }));
  };

  const createCampaign = async (res: ServerResponse, form: URLSearchParams) => {
    const input: CampaignForm = {
      name: form.get('name') ?? '',
      channel: form.get('channel') === 'email' ? 'email' : 'sms',
      subject: form.get('subject') ?? '',
      body: form.get('body') ?? '',
      contacts: form.get('contacts') ?? '',
    };
    let id: string | null = null;
    try {
      const campaign = await outreach.createCampaign({
        name: input.name,
        channel: input.channel,
        content:
          input.channel === 'sms'
            ? { body: input.body }
            : {
                subject: input.subject,
                html: input.body,
                from: { email: 'office@school.example', name: 'School office' },
              },
      });
      id = campaign.id;
      const report = await outreach.importContacts(id, input.contacts);
      const rejected = report.rejected
        .filter((r) => r.code !== 'duplicate')
        .slice(0, 3)
        .map((r) => `line ${r.line}: ${r.reason}`);
      const notice =
        `Imported ${report.imported} contact${report.imported === 1 ? '' : 's'}` +
        (report.duplicates > 0 ? `, ${report.duplicates} duplicate${report.duplicates === 1 ? '' : 's'} dropped` : '') +
        (report.rejectedCount > 0 ? `, ${report.rejectedCount} rejected (${rejected.join('; ')})` : '') +
        '. Save the campaign to create its messages, then run it.';
      redirect(res, `/campaigns/${id}?notice=${encodeURIComponent(notice)}`);
    } catch (error) {
      if (!isOutreachError(error)) throw error;
      // A campaign created before the contacts were refused stays a draft the operator can delete.
      if (id) return renderCampaign(res, id, statusFor(error.code), { error: refusal(error) });
      return renderList(res, statusFor(error.code), input, refusal(error));
    }
  };

  const refusal = (error: { code: string; message: string }): Refusal => ({ code: error.code, message: error.message });

  /** Runs a command; a refusal re-renders the campaign's page with the engine's message. */
  const command = async (res: ServerResponse, id: string, run: () => Promise<unknown>, after: string) => {
    try {
      await run();
    } catch (error) {
      if (!isOutreachError(error)) throw error;
      if (error.code === 'NOT_FOUND') return sendHtml(res, 404, errorPage(chrome(), refusal(error)));
      return renderCampaign(res, id, statusFor(error.code), { error: refusal(error) });
    }
    redirect(res, after);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const asset = ASSETS[path];

    // Another site's page may not post to the console through the operator's browser (CSRF): browsers
    // name the page's origin on every POST they send on a page's behalf.
    const origin = req.headers.origin;
    if (method === 'POST' && origin !== undefined && origin !== `http://${req.headers.host}`) {
      throw new HttpError(403, 'FORBIDDEN', "Commands are accepted only from the console's own pages.");
    }
    if (method === 'GET' && asset) {
      res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
      return void res.end(asset.body);
    }
    if (method === 'GET' && path === '/') return renderList(res, 200, emptyForm(), null);
    if (method === 'GET' && path === '/events') return openStream(req, res, null, null);
    if (method === 'GET' && path === '/campaigns.csv') {
      return streamCsv(res, 'campaigns.csv', outreach.exportCampaigns());
    }
    if (method === 'POST' && path === '/campaigns') return createCampaign(res, await readForm(req));
    if (parts[0] === 'simulation' && method === 'POST' && simulation) {
      const form = await readForm(req);
      if (parts[1] === 'play') simulation.play();
      else if (parts[1] === 'pause') simulation.pause();
      else if (parts[1] === 'advance' && ADVANCE[form.get('by') ?? ''] !== undefined) {
        await simulation.advance(ADVANCE[form.get('by') ?? ''] as number);
      } else throw new HttpError(404, 'NOT_FOUND', 'No such simulation control.');
      return redirect(res, safeBack(form.get('back'), '/'));
    }
    if (parts[0] === 'campaigns' && parts[1]) {
      const id = parts[1];
      if (method === 'GET' && parts.length === 2) {
        return renderCampaign(res, id, 200, {
          after: url.searchParams.get('after'),
          notice: url.searchParams.get('notice'),
        });
      }
      if (method === 'GET' && parts[2] === 'events' && parts.length === 3) {
        await outreach.getCampaign(id); // NOT_FOUND before the stream opens
        return openStream(req, res, id, url.searchParams.get('after'));
      }
      if (method === 'GET' && parts[2] === 'messages.csv' && parts.length === 3) {
        await outreach.getCampaign(id);
        return streamCsv(res, `campaign-${id}-messages.csv`, outreach.exportMessages(id, { fields: ['first_name'] }));
      }
      if (method === 'POST' && parts[2] === 'actions' && parts.length === 4) {
        await readForm(req);
        const action = parts[3] as string;
        if (!ACTION_BUTTONS.some((b) => b.action === action)) {
          throw new HttpError(404, 'NOT_FOUND', `The console has no action "${action}".`);
        }
        const after = action === 'delete' ? '/' : `/campaigns/${id}`;
        return command(res, id, () => runAction(outreach, action, id), after);
      }
      if (method === 'POST' && parts[2] === 'messages' && parts[3] && parts[4] === 'retry' && parts.length === 5) {
        await readForm(req);
        const messageId = parts[3];
        return command(res, id, () => outreach.retryFailed(id, { messageIds: [messageId] }), `/campaigns/${id}`);
      }
    }
    throw new HttpError(404, 'NOT_FOUND', `Nothing at ${method} ${path}.`);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.end();
      if (error instanceof HttpError) {
        return sendHtml(res, error.status, errorPage(chrome(), { code: error.code, message: error.message }));
      }
      if (isOutreachError(error)) {
        return sendHtml(res, statusFor(error.code), errorPage(chrome(), refusal(error)));
      }
      console.error('[console]', error);
      sendHtml(
        res,
        500,
        errorPage(chrome(), { code: 'INTERNAL', message: 'Something went wrong; see the server log.' }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    async close() {
      unsubscribe();
      clearInterval(ticker);
      for (const s of streams) {
        if (s.timer) clearTimeout(s.timer);
        s.res.end();
      }
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One console button → one engine command. */
function runAction(outreach: Outreach, action: string, id: string): Promise<unknown> {
  switch (action) {
    case 'save':
      return outreach.save(id);
    case 'run':
      return outreach.run(id);
    case 'pause':
      return outreach.pause(id);
    case 'resume':
      return outreach.resume(id);
    case 'stop':
      return outreach.stop(id);
    case 'close':
      return outreach.close(id);
    case 'retryFailed':
      return outreach.retryFailed(id);
    case 'retryCampaign':
      return outreach.retryCampaign(id);
    case 'archive':
      return outreach.archive(id);
    case 'delete':
      return outreach.delete(id);
    default:
      throw new HttpError(404, 'NOT_FOUND', `The console has no action "${action}".`);
  }
}

async function streamCsv(res: ServerResponse, filename: string, rows: AsyncIterable<string>): Promise<void> {
  const iterator = rows[Symbol.asyncIterator]();
  // The first chunk before the headers, so that a refusal still becomes an error page.
  const first = await iterator.next();
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`,
  });
  if (!first.done) res.write(first.value);
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    if (!res.write(next.value)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}
