/**
 * The console's pages and the fragments its live updates replace. Labels, failure reasons and the
 * buttons all come from the library: `CAMPAIGN_STATUS_LABELS`, `MESSAGE_STATUS_LABELS`,
 * `failureReason` and each campaign's `availableActions`.
 */
import {
  CAMPAIGN_STATUS_LABELS,
  type Campaign,
  failureReason,
  MESSAGE_STATUS_LABELS,
  type Outreach,
} from 'campaign-lifecycle';
import { html, type SafeHtml } from './html.js';

/** One row of a campaign's messages, as `listMessages` returns it. */
export type MessageRow = Awaited<ReturnType<Outreach['listMessages']>>[number];
type CampaignAction = Campaign['availableActions'][number];
type CampaignStatus = keyof typeof CAMPAIGN_STATUS_LABELS;
type MessageStatus = keyof typeof MESSAGE_STATUS_LABELS;

/** The buttons the console offers, in display order; each is shown only when `availableActions` has it. */
export const ACTION_BUTTONS: readonly { action: CampaignAction; label: string; danger?: boolean }[] = [
  { action: 'save', label: 'Save' },
  { action: 'run', label: 'Run' },
  { action: 'pause', label: 'Pause' },
  { action: 'resume', label: 'Resume' },
  { action: 'retryFailed', label: 'Retry failed' },
  { action: 'retryCampaign', label: 'Retry campaign' },
  { action: 'stop', label: 'Stop', danger: true },
  { action: 'close', label: 'Close', danger: true },
  { action: 'archive', label: 'Archive' },
  { action: 'delete', label: 'Delete', danger: true },
];

/** Messages shown per page of a campaign. */
export const PAGE_SIZE = 50;

/** What the header shows about the engine. */
export interface Chrome {
  storageLabel: string;
  /** The simulated clock, in simulate mode. */
  simulation: { now: number; speed: number; playing: boolean } | null;
}

const SAMPLE_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Frances', 'Dennis'];

/** The contacts prefilled in the new-campaign form: 40 numbers (or addresses) with first names. */
export function sampleContactsCsv(channel: 'sms' | 'email'): string {
  const lines = [channel === 'sms' ? 'phone,first_name' : 'email,first_name'];
  for (let i = 0; i < 40; i++) {
    const name = SAMPLE_NAMES[i % SAMPLE_NAMES.length] as string;
    const n = String(100 + i).padStart(4, '0');
    lines.push(channel === 'sms' ? `+1415555${n},${name}` : `${name.toLowerCase()}.${n}@example.com,${name}`);
  }
  return lines.join('\n');
}

function statusTone(status: CampaignStatus): string {
  switch (status) {
    case 'in_progress':
    case 'active_retries':
      return 'running';
    case 'complete':
      return 'ok';
    case 'complete_with_errors':
    case 'failed':
      return 'bad';
    case 'draft':
    case 'ready':
    case 'scheduled':
      return 'idle';
    default:
      return 'muted';
  }
}

/** Seed 001's three colours: delivered green, pending yellow, failed red (cancelled is grey). */
function messageTone(status: MessageStatus): string {
  switch (status) {
    case 'delivered':
    case 'assumed_delivered':
      return 'ok';
    case 'failed':
    case 'opted_out':
      return 'bad';
    case 'cancelled':
      return 'muted';
    default:
      return 'pending';
  }
}

function time(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function percent(c: Campaign): number {
  return c.messageCount === 0 ? 0 : Math.floor((c.done / c.messageCount) * 100);
}

function progress(c: Campaign): SafeHtml {
  const pct = percent(c);
  return html`<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="${c.messageCount}" aria-valuenow="${c.done}">
    <div class="bar"><span style="width:${pct}%"></span></div>
    <span class="progress-text" data-testid="progress">${c.done} / ${c.messageCount} done (${pct}%)</span>
  </div>`;
}

function statusBadge(c: Campaign): SafeHtml {
  return html`<span class="badge ${statusTone(c.status)}" data-testid="campaign-status" data-status="${c.status}">${CAMPAIGN_STATUS_LABELS[c.status]}</span>`;
}

/** The clock line of the header (replaced live). */
export function clockText(chrome: Chrome): string {
  if (!chrome.simulation) return 'system clock';
  const s = chrome.simulation;
  return `simulated time ${time(s.now)} UTC · ${s.playing ? `×${s.speed}` : 'paused'}`;
}

function simulationControls(chrome: Chrome, back: string): SafeHtml {
  if (!chrome.simulation) return html``;
  // Skipping ahead is sent by the script without leaving the page (the live updates show its effect).
  const form = (path: string, label: string, extra = html``, live = false) =>
    html`<form method="post" action="${path}" class="inline"${live ? html` data-fetch` : html``}>${extra}<input type="hidden" name="back" value="${back}"><button type="submit" class="small">${label}</button></form>`;
  return html`<div class="sim" data-testid="simulation">
    ${chrome.simulation.playing ? form('/simulation/pause', '⏸ Pause clock') : form('/simulation/play', '▶ Play clock')}
    ${['10s', '1m', '10m', '1h'].map((by) => form('/simulation/advance', `+${by}`, html`<input type="hidden" name="by" value="${by}">`, true))}
  </div>`;
}

function layout(title: string, chrome: Chrome, back: string, body: SafeHtml, events: string): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Outreach console</title>
<link rel="stylesheet" href="/console.css">
<script src="/console.js" defer></script>
</head>
<body data-events="${events}">
<header>
  <a href="/" class="brand">Outreach console</a>
  <span class="meta">storage: ${chrome.storageLabel} · <span id="clock" data-testid="clock">${clockText(chrome)}</span></span>
  ${simulationControls(chrome, back)}
</header>
<main>
${body}
</main>
</body>
</html>`;
}

function errorBanner(error: { code: string; message: string } | null): SafeHtml {
  if (!error) return html``;
  return html`<div class="alert" role="alert" data-testid="error"><strong>${error.code}</strong> ${error.message}</div>`;
}

function noticeBanner(notice: string | null): SafeHtml {
  return notice ? html`<div class="notice" role="status" data-testid="notice">${notice}</div>` : html``;
}

/** One row of the campaigns list (replaced live). */
export function campaignRow(c: Campaign): SafeHtml {
  return html`<tr id="c-${c.id}">
    <td><a href="/campaigns/${c.id}">${c.name}</a></td>
    <td>${c.channel === 'sms' ? 'SMS' : 'Email'}</td>
    <td>${statusBadge(c)}</td>
    <td>${progress(c)}</td>
    <td>${time(c.startedAt)}</td>
  </tr>`;
}

/** What the new-campaign form shows again after a refusal. */
export interface CampaignForm {
  name: string;
  channel: 'sms' | 'email';
  subject: string;
  body: string;
  contacts: string;
}

/** The form's first values. */
export function emptyForm(): CampaignForm {
  return {
    name: 'Snow day closure',
    channel: 'sms',
    subject: 'School is closed today',
    body: 'Hi {{first_name}}, school is closed today because of snow. Stay safe!',
    contacts: sampleContactsCsv('sms'),
  };
}

/** The campaigns list and the new-campaign form. */
export function listPage(args: {
  campaigns: readonly Campaign[];
  chrome: Chrome;
  form: CampaignForm;
  error: { code: string; message: string } | null;
}): SafeHtml {
  const { campaigns, form } = args;
  const body = html`
<h1>Campaigns</h1>
${errorBanner(args.error)}
<p class="links"><a href="/campaigns.csv" download>Export campaigns (CSV)</a></p>
<table class="campaigns" data-testid="campaigns">
  <thead><tr><th>Name</th><th>Type</th><th>Status</th><th>Progress</th><th>Started</th></tr></thead>
  <tbody>${campaigns.length === 0 ? html`<tr class="empty"><td colspan="5">No campaigns yet: create one below.</td></tr>` : campaigns.map(campaignRow)}</tbody>
</table>
<h2>New campaign</h2>
<form method="post" action="/campaigns" class="create" data-testid="create-form">
  <label>Name <input name="name" value="${form.name}" required></label>
  <label>Type <select name="channel">
    <option value="sms"${form.channel === 'sms' ? html` selected` : html``}>SMS</option>
    <option value="email"${form.channel === 'email' ? html` selected` : html``}>Email</option>
  </select></label>
  <label class="email-only">Subject <input name="subject" value="${form.subject}"></label>
  <label>Message <textarea name="body" rows="3">${form.body}</textarea></label>
  <label><span>Contacts (CSV with a header; <code>{{first_name}}</code> and other columns fill the template)</span>
    <textarea name="contacts" rows="8" data-sample-sms="${sampleContactsCsv('sms')}" data-sample-email="${sampleContactsCsv('email')}">${form.contacts}</textarea></label>
  <button type="submit">Create campaign</button>
</form>`;
  return layout('Campaigns', args.chrome, '/', body, '/events');
}

function reasonCell(m: MessageRow): SafeHtml {
  if (!m.context.reason) return html`<td class="reason"></td>`;
  const reason = failureReason(m.context.reason);
  return html`<td class="reason"><span class="tip" tabindex="0" title="${reason.description}" data-testid="reason">${reason.label}</span>${reason.retryable ? html`` : html` <span class="hint" title="A retry will not help: the library refuses it.">(not retryable)</span>`}</td>`;
}

/** One row of a campaign's messages (replaced live). */
export function messageRow(c: Campaign, m: MessageRow): SafeHtml {
  const canRetry =
    m.status === 'failed' &&
    c.availableActions.includes('retryFailed') &&
    m.context.reason !== null &&
    failureReason(m.context.reason).retryable;
  return html`<tr id="m-${m.id}" data-status="${m.status}">
    <td>${m.to}</td>
    <td><span class="dot ${messageTone(m.status)}" data-testid="message-status">${MESSAGE_STATUS_LABELS[m.status]}</span></td>
    ${reasonCell(m)}
    <td>${m.context.attempts}</td>
    <td>${time(m.updatedAt)}</td>
    <td>${canRetry ? html`<form method="post" action="/campaigns/${c.id}/messages/${m.id}/retry" class="inline"><button type="submit" class="small">Retry</button></form>` : html``}</td>
  </tr>`;
}

/** A campaign's messages table (replaced live when the campaign's status changes). */
export function messagesTable(c: Campaign, messages: readonly MessageRow[], after: string | null): SafeHtml {
  const last = messages.length === PAGE_SIZE ? messages[messages.length - 1] : undefined;
  return html`<div id="messages">
<table class="messages" data-testid="messages">
  <thead><tr><th>To</th><th>Delivered</th><th>Failed reason</th><th>Attempts</th><th>Updated</th><th></th></tr></thead>
  <tbody>${messages.length === 0 ? html`<tr class="empty"><td colspan="6">No messages yet: they are created when the campaign is saved.</td></tr>` : messages.map((m) => messageRow(c, m))}</tbody>
</table>
<p class="pages">${after ? html`<a href="/campaigns/${c.id}">First page</a> ` : html``}${last ? html`<a href="/campaigns/${c.id}?after=${encodeURIComponent(last.id)}">Next page</a>` : html``}</p>
</div>`;
}

/** A campaign's status, progress, counts and buttons (replaced live). */
export function campaignSummary(c: Campaign): SafeHtml {
  const counts = (Object.keys(MESSAGE_STATUS_LABELS) as MessageStatus[]).filter((s) => c.counts[s] > 0);
  return html`<section id="summary" data-status="${c.status}">
  <p>${statusBadge(c)} ${c.channel === 'sms' ? 'SMS' : 'Email'} campaign · created ${time(c.createdAt)}${c.startedAt ? html` · started ${time(c.startedAt)}` : html``}${c.finishedAt ? html` · finished ${time(c.finishedAt)}` : html``}</p>
  ${c.failureCause ? html`<p class="alert">Failed: ${c.failureCause}</p>` : html``}
  ${progress(c)}
  <ul class="counts" data-testid="counts">${counts.map((s) => html`<li><span class="dot ${messageTone(s)}">${MESSAGE_STATUS_LABELS[s]}</span> ${c.counts[s]}</li>`)}</ul>
  <div class="actions" data-testid="actions">
    ${ACTION_BUTTONS.filter((b) => c.availableActions.includes(b.action)).map(
      (b) =>
        html`<form method="post" action="/campaigns/${c.id}/actions/${b.action}" class="inline"><button type="submit"${b.danger ? html` class="danger"` : html``}>${b.label}</button></form>`,
    )}
    ${c.availableActions.includes('export') ? html`<a class="button" href="/campaigns/${c.id}/messages.csv" download>Export messages (CSV)</a>` : html``}
  </div>
</section>`;
}

/** A campaign's page: summary, buttons and the Contacts table with delivery status and failed reason. */
export function campaignPage(args: {
  campaign: Campaign;
  messages: readonly MessageRow[];
  after: string | null;
  chrome: Chrome;
  error: { code: string; message: string } | null;
  notice: string | null;
}): SafeHtml {
  const c = args.campaign;
  const here = `/campaigns/${c.id}${args.after ? `?after=${encodeURIComponent(args.after)}` : ''}`;
  const body = html`
<p><a href="/">← Campaigns</a></p>
<h1>${c.name}</h1>
${errorBanner(args.error)}
${noticeBanner(args.notice)}
${campaignSummary(c)}
<h2>Contacts</h2>
${messagesTable(c, args.messages, args.after)}`;
  const events = `/campaigns/${c.id}/events${args.after ? `?after=${encodeURIComponent(args.after)}` : ''}`;
  return layout(c.name, args.chrome, here, body, events);
}

/** A plain error page (unknown campaign, unknown route). */
export function errorPage(chrome: Chrome, error: { code: string; message: string }): SafeHtml {
  return layout('Error', chrome, '/', html`<p><a href="/">← Campaigns</a></p>${errorBanner(error)}`, '/events');
}
