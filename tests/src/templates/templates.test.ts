import {
  missingFieldsFor,
  renderEmail,
  renderSms,
  smsSegments,
  templateVariables,
  validateContent,
} from 'campaign-lifecycle/templates';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOutreachError } from '../../../src/errors.js';
import { parseTemplate } from '../../../src/templates/template-parser.js';

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (e) {
    if (isOutreachError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('parseTemplate: variables', () => {
  it('should find {{field}} and {{field|default}} with whitespace inside the braces', () => {
    expect(parseTemplate('Hi {{ first_name | there }}, code {{code}}; {{ First Name }} {{code}}')).toEqual([
      { name: 'first_name', defaultValue: 'there' },
      { name: 'code' },
      { name: 'First Name' },
    ]);
    expect(parseTemplate('{{x|}}')).toEqual([{ name: 'x', defaultValue: '' }]);
    expect(parseTemplate('a { b } c }} d')).toEqual([]);
  });

  it('should refuse a malformed {{ with TEMPLATE_INVALID naming the position', () => {
    const e = refusal(() => parseTemplate('Hello\nDear {{name, see you'));
    expect(e.code).toBe('TEMPLATE_INVALID');
    expect(e.message).toContain('line 2, column 6');
    expect(refusal(() => parseTemplate('{{ }}')).message).toContain('needs a name');
    expect(refusal(() => parseTemplate('{{a{{b}}')).message).toContain('unexpected "{"');
  });
});

describe('validateContent: on save', () => {
  it('should name every variable that is neither a field nor defaulted, and the fields', () => {
    const e = refusal(() =>
      validateContent('email', { subject: 'Hi {{first}}', html: '<p>{{last}} {{city|here}} {{unsubscribe_url}}</p>' }, [
        'email',
        'name',
      ]),
    );
    expect(e.code).toBe('TEMPLATE_INVALID');
    expect(e.message).toContain('{{first}}, {{last}}');
    expect(e.message).toContain('"email", "name"');
    expect(e.message).not.toContain('city');
    expect(e.message).not.toContain('unsubscribe_url');
  });

  it('should refuse an empty SMS body or email subject', () => {
    expect(refusal(() => validateContent('sms', { body: '  ' }, [])).message).toContain('SMS body is empty');
    expect(refusal(() => validateContent('email', { subject: '', html: '<p>x</p>' }, [])).message).toContain(
      'subject is empty',
    );
  });

  it('should accept content whose variables are all fields or defaulted', () => {
    expect(() => validateContent('sms', { body: 'Hi {{name}} {{x|y}}' }, ['name'])).not.toThrow();
  });

  it('should name the part of a malformed template', () => {
    expect(refusal(() => templateVariables('email', { subject: 'ok', html: '<p>{{oops</p>' })).message).toContain(
      'In the html',
    );
  });
});

describe('missingFieldsFor: every contact can fill', () => {
  it('should list variables without default that the contact lacks or has blank', () => {
    const vars = parseTemplate('{{first}} {{last}} {{city|your town}} {{code}}');
    expect(missingFieldsFor(vars, { first: 'Ann', last: '  ', city: '' })).toEqual(['last', 'code']);
    expect(missingFieldsFor(vars, { first: 'Ann', last: 'Lee', code: '7' })).toEqual([]);
  });
});

describe('smsSegments: encoding and parts', () => {
  it('should count GSM-7 with 160/153 and extension characters as two', () => {
    expect(smsSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1, characters: 160 });
    expect(smsSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', segments: 2, characters: 161 });
    expect(smsSegments('€'.repeat(80))).toEqual({ encoding: 'GSM-7', segments: 1, characters: 160 });
    expect(smsSegments('')).toEqual({ encoding: 'GSM-7', segments: 0, characters: 0 });
  });

  it('should never split an escape sequence across parts', () => {
    // 152 septets then "€" (2): the euro does not fit in part one, so it opens part two.
    expect(smsSegments(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toMatchObject({ segments: 3, characters: 306 });
    expect(smsSegments(`${'a'.repeat(151)}€${'a'.repeat(153)}`)).toMatchObject({ segments: 2, characters: 306 });
  });

  it('should use UCS-2 with 70/67 UTF-16 code units, keeping surrogate pairs whole', () => {
    expect(smsSegments('ć'.repeat(70))).toEqual({ encoding: 'UCS-2', segments: 1, characters: 70 });
    expect(smsSegments('ć'.repeat(71))).toEqual({ encoding: 'UCS-2', segments: 2, characters: 71 });
    expect(smsSegments(`${'x'.repeat(66)}👋${'x'.repeat(66)}`)).toMatchObject({
      encoding: 'UCS-2',
      segments: 3,
      characters: 134,
    });
  });

  it('should agree with a simple reference on GSM basic text', () => {
    const basic = fc.constantFrom(
      ...'@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà\n',
    );
    fc.assert(
      fc.property(fc.array(basic, { maxLength: 800 }), (chars) => {
        const text = chars.join('');
        const n = text.length;
        const reference = n === 0 ? 0 : n <= 160 ? 1 : Math.ceil(n / 153);
        expect(smsSegments(text)).toEqual({ encoding: 'GSM-7', segments: reference, characters: n });
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('renderSms: personalised text', () => {
  it('should fill fields and defaults and report encoding and segments', () => {
    expect(renderSms({ body: 'Hi {{name|there}}, {{ day }}!' }, { name: '', day: 'Zoë' })).toEqual({
      body: 'Hi there, Zoë!',
      encoding: 'UCS-2',
      segments: 1,
      characters: 14,
    });
  });
});

describe('renderEmail: escaping and unsubscribe', () => {
  const url = 'https://example.org/u?token=a.b&x=1';

  it('should escape a <script> contact field in the HTML but not in the subject or text', () => {
    const r = renderEmail(
      { subject: 'For {{name}}', html: '<p>Dear {{name}}</p>', text: 'Dear {{name}}' },
      { name: '<script>alert("x")</script>' },
    );
    expect(r.html).toBe('<p>Dear &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
    expect(r.subject).toBe('For <script>alert("x")</script>');
    expect(r.text).toBe('Dear <script>alert("x")</script>');
    expect(r.headers).toEqual({});
  });

  it('should keep a field from starting a new header line in the subject', () => {
    expect(renderEmail({ subject: 'Hi {{n}}', html: 'x' }, { n: 'a\r\nBcc: evil@x.org' }).subject).toBe(
      'Hi a Bcc: evil@x.org',
    );
  });

  it('should put the link where {{unsubscribe_url}} is, with the RFC 8058 headers', () => {
    const r = renderEmail(
      { subject: 's', html: '<a href="{{unsubscribe_url}}">stop</a>' },
      { unsubscribe_url: 'https://evil' },
      { unsubscribeUrl: url },
    );
    expect(r.html).toBe('<a href="https://example.org/u?token=a.b&amp;x=1">stop</a>');
    expect(r.headers).toEqual({
      'List-Unsubscribe': `<${url}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });

  it('should append a footer link before </body> (and to the text) when the template has no link', () => {
    const r = renderEmail(
      { subject: 's', html: '<html><body><p>x</p></body></html>', text: 'x' },
      {},
      { unsubscribeUrl: url },
    );
    expect(r.html).toMatch(
      /<p>x<\/p><p style="[^"]*">.*<a href="https:\/\/example\.org\/u\?token=a\.b&amp;x=1">unsubscribe<\/a>.*<\/p>\n<\/body><\/html>$/,
    );
    expect(r.text).toBe(`x\n\nUnsubscribe: ${url}`);
  });

  it('should add neither link nor headers when content.unsubscribe is false', () => {
    const r = renderEmail(
      { subject: 's', html: '<p>x{{unsubscribe_url}}</p>', unsubscribe: false },
      {},
      { unsubscribeUrl: url },
    );
    expect(r).toEqual({ subject: 's', html: '<p>x</p>', headers: {} });
  });

  it('should never throw and never let a field value add a "<" to the HTML', () => {
    const html = '<div><p>{{a}}</p><a href="{{b}}">{{c|x<y}}</a></div>';
    const templateLt = (html.replace(/\{\{[^}]*\}\}/g, '').match(/</g) ?? []).length;
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.string({ unit: 'binary' })), (fields) => {
        const r = renderEmail({ subject: '{{a}}', html, text: '{{b}}' }, fields);
        // The template's own "<" stay; the default's "<" is escaped too.
        expect((r.html.match(/</g) ?? []).length).toBe(templateLt);
        expect(() => renderSms({ body: '{{a}}{{b|z}}' }, fields)).not.toThrow();
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
