import querystring from 'node:querystring';
import fc from 'fast-check';
import twilio from 'twilio';
import { describe, expect, it, vi } from 'vitest';
import { computeTwilioSignature, createTwilioVerifier, verifyTwilioSignature } from '../../../adapters/twilio/index.js';

// Vectors from providers.md §3.4 (Twilio's docs example and twilio-node's validation spec).
const TOKEN = '12345';
const URL_ = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const DOCS_PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+12349013030',
  Digits: '1234',
  From: '+12349013030',
  To: '+18005551212',
};
const SPEC_PARAMS = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};

describe('twilio: signature vectors (providers.md §3.4)', () => {
  it("should accept Twilio's documented example", async () => {
    expect(
      await verifyTwilioSignature({
        authToken: TOKEN,
        url: URL_,
        params: DOCS_PARAMS,
        signature: '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
      }),
    ).toBe(true);
    expect(await computeTwilioSignature(TOKEN, URL_, DOCS_PARAMS)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
  });

  it.each([
    ['plain URL', URL_, 'RSOYDt4T1cUTdK1PDd93/VVr8B8='],
    ['https URL, signed with :443 added', URL_, 'kvajT1Ptam85bY51eRf/AJRuM3w='],
    [
      'https URL with :443, signed without the port',
      'https://mycompany.com:443/myapp.php?foo=1&bar=2',
      'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
    ],
    ['http URL, signed with :80 added', 'http://mycompany.com/myapp.php?foo=1&bar=2', '0ZXoZLH/DfblKGATFgpif+LLRf4='],
    ['http URL with port 1234 kept', 'http://mycompany.com:1234/myapp.php?foo=1&bar=2', 'Zmvh+3yNM1Phv2jhDCwEM3q5ebU='],
    [
      'https URL with port 1234, signed with the port stripped',
      'https://mycompany.com:1234/myapp.php?foo=1&bar=2',
      'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
    ],
    ['URL with credentials', 'https://user:pass@mycompany.com/myapp.php?foo=1&bar=2', 'CukzLTc1tT5dXEDIHm/tKBanW10='],
    [
      'URL with credentials, signed with :443',
      'https://user:pass@mycompany.com/myapp.php?foo=1&bar=2',
      'ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=',
    ],
    ['URL with a username only', 'https://user@mycompany.com/myapp.php?foo=1&bar=2', '2YRLlVAflCqxaNicjMpJcSTgzSs='],
    [
      "URL with a raw ' in the query, signed as %27",
      "https://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+amazing",
      'TfZzewPq8wqrGlMfyAud8+/IvJ0=',
    ],
  ])('should accept the twilio-node vector: %s', async (_name, url, signature) => {
    expect(await verifyTwilioSignature({ authToken: TOKEN, url, params: SPEC_PARAMS, signature })).toBe(true);
  });

  it('should accept repeated parameters in either order', async () => {
    const signature = '83O6e2vORAoJHUNzJjDWN1jz+BA=';
    for (const values of [
      ['+1325xxxxxxx', '+1415xxxxxxx'],
      ['+1415xxxxxxx', '+1325xxxxxxx'],
    ]) {
      expect(
        await verifyTwilioSignature({
          authToken: TOKEN,
          url: URL_,
          params: { 'MessagingBinding.Address': values },
          signature,
        }),
      ).toBe(true);
      const form = new URLSearchParams(values.map((v) => ['MessagingBinding.Address', v]));
      expect(await verifyTwilioSignature({ authToken: TOKEN, url: URL_, params: form, signature })).toBe(true);
    }
  });

  it('should dedupe and sort repeated values', async () => {
    const params = { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] };
    expect(
      await verifyTwilioSignature({ authToken: TOKEN, url: URL_, params, signature: 'IK+Dwps556ElfBT0I3Rgjkr1wJU=' }),
    ).toBe(true);
  });

  it('should verify a form body given raw', async () => {
    const rawBody = new URLSearchParams(DOCS_PARAMS).toString();
    expect(
      await verifyTwilioSignature({ authToken: TOKEN, url: URL_, rawBody, signature: '0/KCTR6DLpKmkAf8muzZqo1nDgQ=' }),
    ).toBe(true);
    expect(
      await verifyTwilioSignature({
        authToken: TOKEN,
        url: URL_,
        rawBody: new TextEncoder().encode(rawBody),
        signature: '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
      }),
    ).toBe(true);
  });

  /** Runs `fn` as on a runtime without `process.getBuiltinModule` (an edge runtime): Web Crypto only. */
  async function withoutNodeCrypto(fn: () => Promise<void>) {
    const saved = process.getBuiltinModule;
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
    try {
      await fn();
    } finally {
      process.getBuiltinModule = saved;
    }
  }

  it('should decide a request signed for the URL as received with one HMAC, port or not', async () => {
    const sign = vi.spyOn(crypto.subtle, 'sign');
    try {
      await withoutNodeCrypto(async () => {
        for (const url of ['http://127.0.0.1:8080/twilio/status?m=1', 'https://hooks.example.com/twilio/status']) {
          const params = { MessageSid: 'SM1', MessageStatus: 'delivered' };
          const signature = await computeTwilioSignature(TOKEN, url, params);
          const verify = createTwilioVerifier(TOKEN);
          sign.mockClear();
          expect(await verify({ url, params, signature })).toBe(true);
          expect(sign).toHaveBeenCalledTimes(1);
        }
      });
    } finally {
      sign.mockRestore();
    }
  });

  it("should verify with Node's synchronous HMAC where the runtime has it, and with Web Crypto elsewhere, alike", async () => {
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030' };
    const signature = await computeTwilioSignature(TOKEN, url, params);
    const forged = `${signature.slice(0, 26)}${signature[26] === 'A' ? 'B' : 'A'}=`;
    const sign = vi.spyOn(crypto.subtle, 'sign');
    try {
      const verify = createTwilioVerifier(TOKEN);
      expect([await verify({ url, params, signature }), await verify({ url, params, signature: forged })]).toEqual([
        true,
        false,
      ]);
      expect(sign).not.toHaveBeenCalled();
      await withoutNodeCrypto(async () => {
        const web = createTwilioVerifier(TOKEN);
        expect([await web({ url, params, signature }), await web({ url, params, signature: forged })]).toEqual([
          true,
          false,
        ]);
      });
      expect(sign).toHaveBeenCalled();
    } finally {
      sign.mockRestore();
    }
  });

  describe('bodySHA256 (JSON bodies)', () => {
    const body = '{"property": "value", "boolean": true}';
    const hash = '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620';

    it('should accept the JSON vectors', async () => {
      expect(
        await verifyTwilioSignature({
          authToken: TOKEN,
          url: `${URL_}&bodySHA256=${hash}`,
          rawBody: body,
          signature: 'a9nBmqA0ju/hNViExpshrM61xv4=',
        }),
      ).toBe(true);
      expect(
        await verifyTwilioSignature({
          authToken: TOKEN,
          url: `https://mycompany.com/myapp.php?bodySHA256=${hash}`,
          rawBody: body,
          signature: 'y77kIzt2vzLz71DgmJGsen2scGs=',
        }),
      ).toBe(true);
    });

    it('should accept the {} body vector only through the :443 variant', async () => {
      const emptyHash = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
      const url = `${URL_}&bodySHA256=${emptyHash}`;
      expect(
        await verifyTwilioSignature({
          authToken: TOKEN,
          url,
          rawBody: '{}',
          signature: 'Ldidvp12m26NI7eqEvxnEpkd9Hc=',
        }),
      ).toBe(true);
      expect(
        await verifyTwilioSignature({
          authToken: TOKEN,
          url,
          rawBody: '{}',
          signature: 'rw/jVviOgicj2+kHZULvebnA4ag=',
        }),
      ).toBe(true);
    });

    it('should refuse a body that does not match bodySHA256, even with a valid URL signature', async () => {
      expect(
        await verifyTwilioSignature({
          authToken: TOKEN,
          url: `${URL_}&bodySHA256=${hash}`,
          rawBody: '{"property": "value", "boolean": false}',
          signature: 'a9nBmqA0ju/hNViExpshrM61xv4=',
        }),
      ).toBe(false);
    });
  });

  it("should accept ?test=param'WithQuote and ?test=param%27WithQuote against each other (legacy querystring)", async () => {
    const a = "https://example.com/hook?test=param'WithQuote";
    const b = 'https://example.com/hook?test=param%27WithQuote';
    const params = { From: '+14155550100' };
    expect(
      await verifyTwilioSignature({
        authToken: 's3cr3t',
        url: a,
        params,
        signature: await computeTwilioSignature('s3cr3t', b, params),
      }),
    ).toBe(true);
    expect(
      await verifyTwilioSignature({
        authToken: 's3cr3t',
        url: b,
        params,
        signature: await computeTwilioSignature('s3cr3t', a, params),
      }),
    ).toBe(true);
  });

  it.each([
    ['a wrong token', { authToken: '54321' }],
    ['a changed parameter', { params: { ...DOCS_PARAMS, Digits: '1235' } }],
    ['an added parameter', { params: { ...DOCS_PARAMS, Extra: '' } }],
    ['a different path', { url: 'https://mycompany.com/other.php?foo=1&bar=2' }],
    ['a different host', { url: 'https://evil.example/myapp.php?foo=1&bar=2' }],
    ['a missing signature', { signature: undefined }],
    ['an empty signature', { signature: '' }],
    ['a signature that is not base64', { signature: '0/KCTR6DLpKmkAf8muzZqo1nDg!=' }],
    ['a truncated signature', { signature: '0/KCTR6DLpKmkAf8muzZqo1nDg' }],
    ['a URL that cannot be parsed', { url: 'not a url' }],
  ])('should refuse %s', async (_name, change) => {
    const input = {
      authToken: TOKEN,
      url: URL_,
      params: DOCS_PARAMS,
      signature: '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
      ...change,
    };
    expect(await verifyTwilioSignature(input)).toBe(false);
  });
});

describe('twilio: signature differential against the official twilio package', () => {
  const token = fc.string({ minLength: 1, maxLength: 40 });
  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9._]{0,15}$/);
  const value = fc.string({ maxLength: 30, unit: 'grapheme' });
  const params = fc.dictionary(name, fc.oneof(value, fc.array(value, { minLength: 1, maxLength: 3 })), { maxKeys: 8 });
  const queryValue = fc.stringMatching(/^[A-Za-z0-9 '!*()~._-]{0,12}$/);
  const url = fc
    .record({
      scheme: fc.constantFrom('https', 'http'),
      host: fc.constantFrom('example.com', 'hooks.example.org', 'user:pw@example.net', '127.0.0.1'),
      port: fc.constantFrom('', ':443', ':80', ':8443', ':1234'),
      path: fc.stringMatching(/^(\/[a-z0-9._-]{1,8}){0,3}$/),
      query: fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), queryValue), { maxLength: 4 }),
    })
    .map(({ scheme, host, port, path, query }) => {
      const q = query.map(([k, v]) => `${k}=${v.replace(/ /g, '+')}`).join('&');
      return `${scheme}://${host}${port}${path || '/'}${q ? `?${q}` : ''}`;
    });

  it('should accept every signature the twilio package computes, and refuse tampered ones as it does', async () => {
    await fc.assert(
      fc.asyncProperty(token, url, params, fc.nat(), async (authToken, u, p, flip) => {
        const signature = twilio.getExpectedTwilioSignature(authToken, u, p);
        expect(twilio.validateRequest(authToken, signature, u, p)).toBe(true);
        expect(await verifyTwilioSignature({ authToken, url: u, params: p, signature })).toBe(true);

        const tamperedParams = { ...p, 'Tampered!': 'x' };
        expect(twilio.validateRequest(authToken, signature, u, tamperedParams)).toBe(false);
        expect(await verifyTwilioSignature({ authToken, url: u, params: tamperedParams, signature })).toBe(false);

        const chars = [...signature];
        const at = flip % (chars.length - 1);
        chars[at] = chars[at] === 'A' ? 'B' : 'A';
        const badSignature = chars.join('');
        expect(twilio.validateRequest(authToken, badSignature, u, p)).toBe(false);
        expect(await verifyTwilioSignature({ authToken, url: u, params: p, signature: badSignature })).toBe(false);
      }),
      { seed: 20_240_601, numRuns: 200 },
    );
  });

  it('should agree with the twilio package on every URL variant of a signed URL', async () => {
    await fc.assert(
      fc.asyncProperty(url, params, fc.constantFrom('', ':443', ':80', ':8443'), async (signedUrl, p, port) => {
        const signature = twilio.getExpectedTwilioSignature('tok', signedUrl, p);
        // The request may arrive under another port than the one signed.
        const received = signedUrl.replace(/^(https?:\/\/[^/?#]*?)(:\d+)?(?=[/?#]|$)/, `$1${port}`);
        const theirs = twilio.validateRequest('tok', signature, received, p);
        expect(await verifyTwilioSignature({ authToken: 'tok', url: received, params: p, signature })).toBe(theirs);
      }),
      { seed: 424_242, numRuns: 200 },
    );
  });

  it('should re-encode query strings exactly as node:querystring does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40, unit: 'grapheme' }), async (q) => {
        const base = 'https://example.com/hook';
        const legacy = `${base}?${querystring.stringify(querystring.parse(q))}`;
        const params = { A: '1' };
        // A signature over the node-legacy form of the URL is accepted for the raw form when the
        // raw form normalises to the same query (the only case twilio-node accepts it).
        const signature = await computeTwilioSignature('tok', legacy, params);
        const ours = await verifyTwilioSignature({ authToken: 'tok', url: `${base}?${q}`, params, signature });
        const theirs = (() => {
          try {
            return twilio.validateRequest('tok', signature, `${base}?${q}`, params);
          } catch {
            return false;
          }
        })();
        expect(ours).toBe(theirs);
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});
