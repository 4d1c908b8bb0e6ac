/**
 * Fuzzing the two inputs users write by hand: templates (parse, validate, render) and CSV files
 * of contacts (arbitrary bytes and text, and near-valid CSV).
 */

import type { ImportedContact } from 'campaign-lifecycle';
import { importContactsCsv } from 'campaign-lifecycle/csv';
import { escapeHtml, renderEmail, renderSms, validateContent } from 'campaign-lifecycle/templates';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTemplate } from '../../../src/templates/template-parser.js';
import { assertTyped, fuzzParams, nastyString, outcomeOf } from '../../support/fuzz-support.js';

/** Template text: arbitrary, or built from literal text and `{{…}}` pieces that are sometimes broken. */
const templateText = fc.oneof(
  nastyString(200),
  fc
    .array(
      fc.oneof(
        nastyString(20),
        fc
          .tuple(nastyString(10), fc.option(nastyString(10)))
          .map(([name, def]) => (def === null ? `{{${name}}}` : `{{${name}|${def}}}`)),
        fc.constantFrom(
          '{{',
          '}}',
          '{{ first_name }}',
          '{{first_name|there}}',
          '{{unsubscribe_url}}',
          '{{}}',
          '{{a{b}}',
        ),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join('')),
);

const fields = fc.dictionary(fc.oneof(fc.constantFrom('first_name', 'name', 'a'), nastyString(10)), nastyString(60), {
  maxKeys: 5,
});

describe('templates: parse, validate and render under fuzzing', () => {
  it('should parse any text into variables or refuse it with TEMPLATE_INVALID', async () => {
    await fc.assert(
      fc.asyncProperty(templateText, async (text) => {
        const r = await outcomeOf(() => parseTemplate(text));
        assertTyped(r);
        if (!r.ok) expect(r.error).toMatchObject({ code: 'TEMPLATE_INVALID' });
        else for (const v of r.value) expect(v.name.trim()).toBe(v.name);
      }),
      fuzzParams(),
    );
  });

  it('should validate any SMS and email content against any field list, or refuse it with an OutreachError', async () => {
    await fc.assert(
      fc.asyncProperty(
        templateText,
        templateText,
        fc.option(templateText, { nil: undefined }),
        fc.array(nastyString(10), { maxLength: 4 }),
        async (a, b, text, known) => {
          assertTyped(await outcomeOf(() => validateContent('sms', { body: a }, known)));
          assertTyped(await outcomeOf(() => validateContent('email', { subject: a, html: b, text }, known)));
        },
      ),
      fuzzParams(),
    );
  });

  it('should render any template with any field values, or refuse the template with an OutreachError', async () => {
    await fc.assert(
      fc.asyncProperty(templateText, templateText, fields, async (a, b, values) => {
        assertTyped(await outcomeOf(() => renderSms({ body: a }, values)));
        assertTyped(
          await outcomeOf(() =>
            renderEmail({ subject: a, html: b }, values, { unsubscribeUrl: 'https://example.org/u?t=1' }),
          ),
        );
      }),
      fuzzParams(),
    );
  });

  it('should never let a field value put markup in the HTML or a line break in the subject', async () => {
    await fc.assert(
      fc.asyncProperty(nastyString(80), async (value) => {
        const r = renderEmail({ subject: 'Hi {{name}}', html: '<p>{{name}}</p>' }, { name: value });
        expect(r.html).toBe(`<p>${escapeHtml(value.trim() === '' ? '' : value)}</p>`);
        expect(r.html.slice(3, -4)).not.toMatch(/[<>"']/);
        expect(r.subject).not.toMatch(/[\r\n]/);
      }),
      fuzzParams(),
    );
  });
});

// ── CSV ─────────────────────────────────────────────────────────────────────

/** Imports and checks the result's own arithmetic and every imported address. */
async function importChecked(source: string | Uint8Array, channel: 'sms' | 'email') {
  const imported: ImportedContact[] = [];
  const r = await outcomeOf(() =>
    importContactsCsv(source, { channel, defaultCountry: 'US', batchSize: 7 }, async (rows) => {
      imported.push(...rows);
    }),
  );
  assertTyped(r);
  if (!r.ok) {
    expect(r.error).toMatchObject({
      code: expect.stringMatching(/^(CSV_INVALID|PAYLOAD_TOO_LARGE|VALIDATION_FAILED)$/),
    });
    return;
  }
  const result = r.value;
  expect(result.imported + result.rejectedCount + result.duplicates).toBe(result.rows);
  expect(imported).toHaveLength(result.imported);
  const addresses = imported.map((c) => c.address);
  expect(new Set(addresses).size).toBe(addresses.length);
  for (const a of addresses) {
    if (channel === 'sms') expect(a).toMatch(/^\+[1-9]\d{6,14}$/);
    else expect(a).toMatch(/^[^\s@]+@[^\s@]+$/);
  }
}

const phoneCell = fc.oneof(
  fc.constantFrom('+14155550100', '(415) 555-0101', '415.555.0102', '+447700900123', '+1 415 555 0100', '12', ''),
  fc.stringMatching(/^\+?[\d ()-]{0,16}$/),
  nastyString(20),
);
const emailCell = fc.oneof(
  fc.constantFrom('ada@example.com', 'ADA@Example.com', 'no-at-sign', '@example.com', ''),
  fc.emailAddress(),
  nastyString(20),
);

/** A CSV written by csv-stringify (so valid), then sometimes cut short or with a stray quote, BOM or CRLF. */
const nearValidCsv = (channel: 'sms' | 'email') =>
  fc
    .tuple(
      fc.constantFrom(channel === 'sms' ? 'phone' : 'email', channel === 'sms' ? ' Mobile ' : 'E-Mail', 'name'),
      fc.array(fc.tuple(channel === 'sms' ? phoneCell : emailCell, nastyString(20)), { maxLength: 12 }),
      fc.constantFrom('none', 'cut', 'quote', 'bom', 'crlf', 'nul'),
      fc.nat(),
    )
    .map(([header, rows, mutation, at]) => {
      const text = stringify([[header, 'first_name'], ...rows]);
      const i = rows.length === 0 ? 0 : at % text.length;
      switch (mutation) {
        case 'cut':
          return text.slice(0, i);
        case 'quote':
          return `${text.slice(0, i)}"${text.slice(i)}`;
        case 'bom':
          return `\uFEFF${text}`;
        case 'crlf':
          return text.replace(/\n/g, '\r\n');
        case 'nul':
          return `${text.slice(0, i)}\u0000${text.slice(i)}`;
        default:
          return text;
      }
    });

describe('contacts: CSV import under fuzzing', () => {
  it('should import or refuse any bytes with an OutreachError, and count every row', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.constantFrom('sms', 'email'), async (bytes, channel) => {
        await importChecked(bytes, channel);
      }),
      fuzzParams(),
    );
  });

  it('should import or refuse any text (phone or email header first) with an OutreachError, and count every row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('', 'phone\n', 'email,name\r\n', 'phone,"first name"\n'),
        nastyString(300),
        fc.constantFrom('sms', 'email'),
        async (header, body, channel) => {
          await importChecked(header + body, channel);
        },
      ),
      fuzzParams(),
    );
  });

  it('should import or refuse near-valid CSV with an OutreachError, and count every row', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('sms', 'email').chain((channel) => nearValidCsv(channel).map((csv) => [channel, csv] as const)),
        async ([channel, csv]) => {
          await importChecked(csv, channel);
        },
      ),
      fuzzParams(),
    );
  });
});
