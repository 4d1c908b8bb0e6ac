import { CAMPAIGN_STATUS_LABELS, failureReason, isOutreachError, MESSAGE_STATUS_LABELS } from 'campaign-lifecycle';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConsoleEngine, createConsoleEngine } from './engine.js';
import { escapeText } from './html.js';
import { type ConsoleServer, startConsole } from './server.js';
import { sampleContactsCsv } from './views.js';

let engine: ConsoleEngine;
let server: ConsoleServer;

beforeEach(async () => {
  // The clock stands still unless a test moves it, so every step is deterministic.
  engine = createConsoleEngine({ simulate: true, playing: false, onError: (e) => console.error(e) });
  server = await startConsole({ outreach: engine.outreach, simulation: engine.simulation, port: 0 });
});

afterEach(async () => {
  await server.close();
  await engine.close();
});

function post(path: string, fields: Record<string, string> = {}): Promise<Response> {
  return fetch(server.url + path, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
}

async function createCampaign(name: string, contacts = sampleContactsCsv('sms')): Promise<string> {
  const res = await post('/campaigns', {
    name,
    channel: 'sms',
    body: 'Hi {{first_name}}, school is closed.',
    contacts,
  });
  expect(res.status).toBe(303);
  const location = res.headers.get('location') ?? '';
  const id = /^\/campaigns\/([^/?]+)\?notice=/.exec(location)?.[1];
  if (!id) throw new Error(`unexpected redirect ${location}`);
  return id;
}

async function page(path: string): Promise<string> {
  const res = await fetch(server.url + path);
  expect(res.status).toBe(200);
  return res.text();
}

/** Reads server-sent events from a stream until one satisfies `want`. */
async function readEvents(path: string) {
  const controller = new AbortController();
  const res = await fetch(server.url + path, { signal: controller.signal });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async until(want: (event: string, data: { html?: string; id?: string }) => boolean) {
      for (;;) {
        let end = buffer.indexOf('\n\n');
        while (end === -1) {
          const { value, done } = await reader.read();
          if (done) throw new Error('the event stream ended');
          buffer += decoder.decode(value, { stream: true });
          end = buffer.indexOf('\n\n');
        }
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) {
          const parsed = JSON.parse(data) as { html?: string; id?: string };
          if (want(event, parsed)) return parsed;
        }
      }
    },
    close: () => controller.abort(),
  };
}

describe('operator console over loopback HTTP', () => {
  it('renders the campaigns list and a campaign page with the library labels, escaping every value', async () => {
    const id = await createCampaign('<script>alert("x")</script> & snow');
    const list = await page('/');
    expect(list).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; snow');
    expect(list).not.toContain('<script>alert');
    expect(list).toContain(`>${CAMPAIGN_STATUS_LABELS.draft}</span>`);

    const html = await page(`/campaigns/${id}`);
    expect(html).not.toContain('<script>alert');
    // A draft offers Save and Delete, never Run: the buttons are availableActions.
    const campaign = await engine.outreach.getCampaign(id);
    expect(campaign.availableActions).toContain('save');
    expect(html).toContain(`action="/campaigns/${id}/actions/save"`);
    expect(html).toContain(`action="/campaigns/${id}/actions/delete"`);
    expect(html).not.toContain(`action="/campaigns/${id}/actions/run"`);
  });

  it('shows the import report of the contacts, rejected rows named by line', async () => {
    const res = await post('/campaigns', {
      name: 'Mixed list',
      channel: 'sms',
      body: 'Hi {{first_name}}',
      contacts: 'phone,first_name\n+14155550100,Ada\nnot a number,Bob\n+14155550100,Ada',
    });
    expect(res.status).toBe(303);
    const html = await page(res.headers.get('location') ?? '');
    expect(html).toMatch(/Imported 1 contact, 1 duplicate dropped, 1 rejected \(line 3: [^)]+\)/);
  });

  it("refuses an action the status does not allow and shows the engine's OutreachError message", async () => {
    const id = await createCampaign('Draft only');
    const direct = await engine.outreach.archive(id).catch((e: unknown) => e);
    if (!isOutreachError(direct)) throw new Error('the engine accepted archive on a draft');

    const res = await post(`/campaigns/${id}/actions/archive`);
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(html).toContain('role="alert"');
    expect(html).toContain(escapeText(direct.message));
    expect((await engine.outreach.getCampaign(id)).status).toBe('draft');
  });

  it('refuses to run a second SMS campaign while one runs (CHANNEL_BUSY), with the reason shown', async () => {
    const first = await createCampaign('First');
    const second = await createCampaign('Second');
    for (const id of [first, second]) expect((await post(`/campaigns/${id}/actions/save`)).status).toBe(303);
    expect((await post(`/campaigns/${first}/actions/run`)).status).toBe(303);

    const res = await post(`/campaigns/${second}/actions/run`);
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(html).toMatch(
      /<div class="alert" role="alert" data-testid="error"><strong>CHANNEL_BUSY<\/strong> Cannot run/,
    );
    expect((await engine.outreach.getCampaign(second)).status).toBe('ready');
  });

  it('pushes progress and status over server-sent events while the simulated clock runs the campaign', async () => {
    const id = await createCampaign('Live');
    await post(`/campaigns/${id}/actions/save`);
    const stream = await readEvents(`/campaigns/${id}/events`);
    const list = await readEvents('/events');
    try {
      // The stream first sends the page's state as it is now.
      await stream.until((e, d) => e === 'summary' && (d.html ?? '').includes('0 / 40 done'));
      await post(`/campaigns/${id}/actions/run`);
      await post('/simulation/advance', { by: '1m' });
      const moved = await stream.until(
        (e, d) =>
          e === 'summary' && /data-status="in_progress"/.test(d.html ?? '') && !/ 0 \/ 40 done/.test(d.html ?? ''),
      );
      expect(moved.html).toContain(`>${CAMPAIGN_STATUS_LABELS.in_progress}</span>`);
      const row = await list.until((e, d) => e === 'campaign' && d.id === id);
      expect(row.html).toContain(`id="c-${id}"`);
      // Rows come one by one, or as the whole table when the campaign's status moved in the same batch.
      await stream.until(
        (e, d) => (e === 'message' || e === 'messages') && (d.html ?? '').includes(MESSAGE_STATUS_LABELS.delivered),
      );
    } finally {
      stream.close();
      list.close();
    }
  });

  it('shows each failed reason with its description, retries a retryable one, and exports the messages', async () => {
    const id = await createCampaign('To completion');
    await post(`/campaigns/${id}/actions/save`);
    await post(`/campaigns/${id}/actions/run`);
    await engine.simulation?.advance(15 * 60_000); // past the 10-minute rules
    expect((await engine.outreach.getCampaign(id)).status).toBe('complete_with_errors');

    const html = await page(`/campaigns/${id}`);
    const timedOut = failureReason('timed_out');
    const unreachable = failureReason('unreachable');
    expect(html).toContain(`title="${escapeText(timedOut.description)}" data-testid="reason">${timedOut.label}</span>`);
    expect(html).toContain(`data-testid="reason">${unreachable.label}</span> <span class="hint"`);

    const [failed] = await engine.outreach
      .listMessages(id, { statuses: ['failed'] })
      .then((ms) => ms.filter((m) => m.context.reason === 'timed_out'));
    if (!failed) throw new Error('the sample has a number whose SMS times out');
    // Only retryable failures get a Retry button.
    expect(html).toContain(`action="/campaigns/${id}/messages/${failed.id}/retry"`);
    expect(html.match(/\/retry"/g)?.length).toBe(1);

    expect((await post(`/campaigns/${id}/messages/${failed.id}/retry`)).status).toBe(303);
    expect((await engine.outreach.getMessage(failed.id)).status).toBe('queued');
    await engine.simulation?.advance(60_000);
    expect((await engine.outreach.getMessage(failed.id)).status).toBe('delivered');

    const csv = await fetch(`${server.url}/campaigns/${id}/messages.csv`);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const lines = (await csv.text()).trim().split(/\r?\n/);
    expect(lines).toHaveLength(41);
    expect(lines[0]).toContain('first_name');
  });

  it('runs an email campaign from the form: deferred emails show as Retrying and the campaign as Active Retries', async () => {
    const res = await post('/campaigns', {
      name: 'Snow day (email)',
      channel: 'email',
      subject: 'School is closed',
      body: '<p>Dear {{first_name}}, school is closed today.</p>',
      contacts: sampleContactsCsv('email'),
    });
    expect(res.status).toBe(303);
    const id = /^\/campaigns\/([^/?]+)/.exec(res.headers.get('location') ?? '')?.[1] ?? '';
    await post(`/campaigns/${id}/actions/save`);
    await post(`/campaigns/${id}/actions/run`);
    await engine.simulation?.advance(5 * 60_000);

    const html = await page(`/campaigns/${id}`);
    expect(html).toContain(`data-status="active_retries">${CAMPAIGN_STATUS_LABELS.active_retries}</span>`);
    expect(html).toContain(`>${MESSAGE_STATUS_LABELS.retrying}</span>`);
    expect(html).toContain(`>${failureReason('bounced').label}</span>`);
  });

  it("refuses a command posted from another site's page (CSRF) and changes nothing", async () => {
    const id = await createCampaign('Targeted');
    const res = await fetch(`${server.url}/campaigns/${id}/actions/save`, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
      redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect((await engine.outreach.getCampaign(id)).status).toBe('draft');
    const own = await fetch(`${server.url}/campaigns/${id}/actions/save`, {
      method: 'POST',
      headers: { origin: server.url },
      redirect: 'manual',
    });
    expect(own.status).toBe(303);
    expect((await engine.outreach.getCampaign(id)).status).toBe('ready');
  });

  it('answers 404 with a page for an unknown campaign and an unknown action', async () => {
    const missing = await fetch(`${server.url}/campaigns/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('NOT_FOUND');
    const id = await createCampaign('Any');
    expect((await post(`/campaigns/${id}/actions/launch-missiles`)).status).toBe(404);
  });
});

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(!databaseUrl)('operator console on PostgreSQL (DATABASE_URL)', () => {
  const schema = `console_example_${process.pid}`;

  afterEach(async () => {
    const pg = await import('pg');
    const pool = new pg.default.Pool({ connectionString: databaseUrl });
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  it('keeps campaigns in the database: a restarted console shows the stopped campaign and its messages', async () => {
    const first = createConsoleEngine({ simulate: true, playing: false, databaseUrl, schema });
    const app = await startConsole({ outreach: first.outreach, simulation: first.simulation, port: 0 });
    let id: string;
    try {
      const res = await fetch(`${app.url}/campaigns`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({
          name: 'Kept in Postgres',
          channel: 'sms',
          body: 'Hi {{first_name}}',
          contacts: sampleContactsCsv('sms'),
        }),
      });
      id = /^\/campaigns\/([^/?]+)/.exec(res.headers.get('location') ?? '')?.[1] ?? '';
      for (const action of ['save', 'run']) {
        const done = await fetch(`${app.url}/campaigns/${id}/actions/${action}`, {
          method: 'POST',
          redirect: 'manual',
        });
        expect(done.status).toBe(303);
      }
      await first.simulation?.advance(60_000);
      expect(
        (await fetch(`${app.url}/campaigns/${id}/actions/stop`, { method: 'POST', redirect: 'manual' })).status,
      ).toBe(303);
      expect((await first.outreach.getCampaign(id)).status).toBe('stopped');
    } finally {
      await app.close();
      await first.close();
    }

    const again = createConsoleEngine({ simulate: true, playing: false, databaseUrl, schema });
    const restarted = await startConsole({ outreach: again.outreach, simulation: again.simulation, port: 0 });
    try {
      expect(again.storageLabel).toBe(`PostgreSQL (schema ${schema})`);
      const html = await (await fetch(`${restarted.url}/`)).text();
      expect(html).toContain(`<tr id="c-${id}">`);
      expect(html).toContain(`>${CAMPAIGN_STATUS_LABELS.stopped}</span>`);
      const campaignHtml = await (await fetch(`${restarted.url}/campaigns/${id}`)).text();
      expect(campaignHtml).toContain(`>${MESSAGE_STATUS_LABELS.delivered}</span>`);
    } finally {
      await restarted.close();
      await again.close();
    }
  });
});
