/**
 * A loopback fake of Twilio's Messages API with state: `POST …/Messages.json` creates a message,
 * `GET …/Messages.json` lists them (filters To and From, PageSize, paging by PageToken, newest first),
 * as Twilio's API v2010 shapes both. `onCreate` can lose the answer of a create: after the message was
 * created (`drop-after`: Twilio has it) or before (`drop-before`: Twilio never saw it).
 */
import type { ServerResponse } from 'node:http';
import { fakeProvider, json, type Loopback, type RecordedRequest } from './loopback-http.js';

/** One message the fake holds. */
export interface FakeTwilioMessage {
  sid: string;
  to: string;
  from: string | null;
  messaging_service_sid: string | null;
  body: string;
  status: string;
  error_code: number | null;
  date_created: string;
  direction: string;
}

/** RFC 2822 as Twilio writes it: `Thu, 24 Aug 2023 05:01:45 +0000`. */
export function twilioDate(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

export interface FakeTwilioOptions {
  /** Where `date_created` comes from (the test's fake clock). */
  now: () => number;
  /** What happens to a create's answer. @defaultValue 'answer' */
  onCreate?: (form: URLSearchParams) => 'answer' | 'drop-after' | 'drop-before';
  /** The status a created message is listed with (as if its callbacks were lost). @defaultValue 'queued' */
  status?: string;
}

export interface FakeTwilio extends Loopback {
  readonly messages: FakeTwilioMessage[];
  /** GET requests received (lookups). */
  readonly lists: RecordedRequest[];
}

export async function fakeTwilioMessages(options: FakeTwilioOptions): Promise<FakeTwilio> {
  const messages: FakeTwilioMessage[] = [];
  const lists: RecordedRequest[] = [];
  let n = 0;
  const list = (req: RecordedRequest, res: ServerResponse) => {
    lists.push(req);
    const url = new URL(req.path, 'http://twilio.invalid');
    const q = url.searchParams;
    const matching = messages
      .filter((m) => (!q.has('To') || m.to === q.get('To')) && (!q.has('From') || m.from === q.get('From')))
      .reverse();
    const size = Number(q.get('PageSize') ?? 50);
    const start = Number(q.get('PageToken') ?? 0);
    const page = matching.slice(start, start + size);
    const nextQuery = new URLSearchParams(q);
    nextQuery.set('PageToken', String(start + size));
    json(res, 200, {
      messages: page,
      page_size: size,
      start,
      end: start + page.length - 1,
      uri: req.path,
      next_page_uri: start + size < matching.length ? `${url.pathname}?${nextQuery.toString()}` : null,
    });
  };
  const api = await fakeProvider((req, res) => {
    if (req.method === 'GET') return list(req, res);
    const form = new URLSearchParams(req.body);
    const fate = options.onCreate?.(form) ?? 'answer';
    if (fate === 'drop-before') return 'drop';
    const message: FakeTwilioMessage = {
      sid: `SM${(++n).toString(16).padStart(32, '0')}`,
      to: form.get('To') ?? '',
      from: form.get('From'),
      messaging_service_sid: form.get('MessagingServiceSid'),
      body: form.get('Body') ?? '',
      status: options.status ?? 'queued',
      error_code: null,
      date_created: twilioDate(options.now()),
      direction: 'outbound-api',
    };
    messages.push(message);
    if (fate === 'drop-after') return 'drop';
    return json(res, 201, message);
  });
  return Object.assign(api, { messages, lists });
}
