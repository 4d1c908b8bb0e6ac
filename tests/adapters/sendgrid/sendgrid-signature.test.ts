import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { EventWebhook } from '@sendgrid/eventwebhook';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derSignatureToRaw, verifySendgridSignature } from '../../../adapters/sendgrid/index.js';

// Vectors from providers.md §6 (sendgrid-nodejs eventwebhook.spec.js).
const PUBLIC_KEY =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==';
const SIGNATURE = 'MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=';
const TIMESTAMP = '1600112502';
const PAYLOAD = `${JSON.stringify([
  {
    email: 'hello@world.com',
    event: 'dropped',
    reason: 'Bounced Address',
    sg_event_id: 'ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA',
    sg_message_id: 'LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0',
    'smtp-id': '<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>',
    timestamp: 1600112492,
  },
])}\r\n`;

const PUBLIC_KEY_MULTIPLE =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ4LIFtWztlsF7skFqOncjD1lun4H5w8XOhyOArHW9RcIx/FfEzx6cikC/yPfUvwaX/JScE7Fc9CJD2afQ9Ok3Q==';
const SIGNATURE_MULTIPLE =
  'MEYCIQC/I4o6vCgqRYrTljjoVWB/GRWNtxeePlLMHr3x9ETeRQIhAIpV+03nREPTTHWSW0wIOA0EoMPdcNgXa70yCaqDJlu5';
const TIMESTAMP_MULTIPLE = 1619651159;
const PAYLOAD_MULTIPLE = `${JSON.stringify([
  {
    email: 'invalid@gmail.com',
    event: 'processed',
    send_at: 0,
    sg_event_id: 'cHJvY2Vzc2VkLTE5OTQyMTEyLXFOd0JMZ1BRUWpXNkRKdktRd1NBYnctMA',
    sg_message_id: 'qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0',
    'smtp-id': '<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>',
    timestamp: 1619651146,
  },
  {
    email: 'invalid@gmail.com',
    event: 'bounce',
    ip: '167.89.101.76',
    reason:
      '552 5.2.2 The email account that you tried to reach is over quota and inactive. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm c17si1130468pgv.34 - gsmtp',
    sg_event_id: 'Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w',
    sg_message_id: 'qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0',
    'smtp-id': '<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>',
    status: '5.2.2',
    timestamp: 1619651147,
    tls: 1,
    type: 'blocked',
  },
])
  .split('},{')
  .join('},\r\n{')}\r\n`;

const base = { publicKey: PUBLIC_KEY, rawBody: PAYLOAD, signature: SIGNATURE, timestamp: TIMESTAMP };

describe('sendgrid: signature vectors (providers.md §6)', () => {
  it('should verify the single-event vector', async () => {
    expect(await verifySendgridSignature(base)).toBe(true);
    expect(await verifySendgridSignature({ ...base, rawBody: new TextEncoder().encode(PAYLOAD) })).toBe(true);
  });

  it('should verify the multi-event vector (CRLF between events)', async () => {
    expect(
      await verifySendgridSignature({
        publicKey: PUBLIC_KEY_MULTIPLE,
        rawBody: PAYLOAD_MULTIPLE,
        signature: SIGNATURE_MULTIPLE,
        timestamp: TIMESTAMP_MULTIPLE,
      }),
    ).toBe(true);
  });

  it.each([
    [
      'the wrong key',
      {
        publicKey:
          'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==',
      },
    ],
    ['a bad payload', { rawBody: 'payload' }],
    [
      'a bad signature',
      { signature: 'MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=' },
    ],
    ['a bad timestamp', { timestamp: 'timestamp' }],
    ['the payload without its trailing CRLF', { rawBody: PAYLOAD.slice(0, -2) }],
    ['a missing signature', { signature: null }],
    ['a missing timestamp', { timestamp: undefined }],
    ['a signature that is not base64', { signature: '!!!' }],
    ['a signature that is not DER', { signature: btoa('not a der sequence at all') }],
    ['a key that is not base64 SPKI', { publicKey: 'bm90IGEga2V5' }],
  ])('should refuse %s', async (_name, change) => {
    expect(await verifySendgridSignature({ ...base, ...change })).toBe(false);
  });

  it('should refuse a timestamp older or further ahead than maxAgeSeconds, and accept one inside it', async () => {
    const at = Number(TIMESTAMP) * 1000;
    expect(await verifySendgridSignature({ ...base, maxAgeSeconds: 300, now: at + 299_000 })).toBe(true);
    expect(await verifySendgridSignature({ ...base, maxAgeSeconds: 300, now: at + 301_000 })).toBe(false);
    expect(await verifySendgridSignature({ ...base, maxAgeSeconds: 300, now: at - 301_000 })).toBe(false);
  });
});

describe('sendgrid: DER signature conversion', () => {
  it('should strip the sign byte and left-pad short integers to 32 bytes', () => {
    const r = new Uint8Array(33).fill(0xaa);
    r[0] = 0; // 33 bytes with a sign byte
    const s = new Uint8Array(31).fill(0x11); // a short s (leading zeros dropped by DER)
    const der = new Uint8Array([0x30, 2 + 33 + 2 + 31, 0x02, 33, ...r, 0x02, 31, ...s]);
    const raw = derSignatureToRaw(der)!;
    expect(raw).toHaveLength(64);
    expect([...raw.subarray(0, 32)]).toEqual(new Array(32).fill(0xaa));
    expect([...raw.subarray(32, 33)]).toEqual([0]);
    expect([...raw.subarray(33)]).toEqual(new Array(31).fill(0x11));
  });

  it.each([
    ['an empty input', []],
    ['a wrong outer tag', [0x31, 6, 2, 1, 1, 2, 1, 1]],
    ['a wrong length', [0x30, 7, 2, 1, 1, 2, 1, 1]],
    ['trailing bytes', [0x30, 6, 2, 1, 1, 2, 1, 1, 0]],
    ['a negative integer', [0x30, 6, 2, 1, 0x81, 2, 1, 1]],
    ['an integer longer than 32 bytes', [0x30, 38, 2, 34, 1, ...new Array(33).fill(1), 2, 0]],
  ])('should refuse %s', (_name, bytes) => {
    expect(derSignatureToRaw(new Uint8Array(bytes))).toBeNull();
  });
});

describe('sendgrid: signature differential against @sendgrid/eventwebhook', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const key = createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const official = new EventWebhook();
  const theirs = (payload: string, signature: string, timestamp: string) => {
    try {
      return official.verifySignature(official.convertPublicKeyToECDSA(spki), payload, signature, timestamp);
    } catch {
      return false;
    }
  };
  const payload = fc
    .array(
      fc.record({
        email: fc.emailAddress(),
        event: fc.constantFrom('processed', 'delivered', 'bounce', 'open'),
        note: fc.string({ maxLength: 40, unit: 'grapheme' }),
        timestamp: fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }),
      }),
      { minLength: 1, maxLength: 4 },
    )
    .map((events) => `${JSON.stringify(events).split('},{').join('},\r\n{')}\r\n`);

  it('should judge signed, re-timed, altered and forged payloads as the official package does', async () => {
    await fc.assert(
      fc.asyncProperty(
        payload,
        fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }),
        fc.nat(),
        async (body, ts, n) => {
          const timestamp = String(ts);
          const signature = sign('sha256', Buffer.from(timestamp + body), key).toString('base64');
          const cases: [string, string, string][] = [
            [body, signature, timestamp],
            [`${body} `, signature, timestamp],
            [body, signature, String(ts + 1)],
            [body.replace('"', "'"), signature, timestamp],
          ];
          // A signature with one byte of r or s changed (the DER framing kept intact).
          const der = Buffer.from(signature, 'base64');
          const at = 4 + (n % (der.length - 4));
          if (der[at - 1] !== 0x02 && der[at] !== 0x02) {
            der[at] = (der[at]! ^ 0x01) & 0xff;
            cases.push([body, der.toString('base64'), timestamp]);
          }
          const ours = await Promise.all(
            cases.map(([b, s, t]) =>
              verifySendgridSignature({ publicKey: spki, rawBody: b, signature: s, timestamp: t }),
            ),
          );
          expect(ours[0]).toBe(true);
          expect(ours.slice(1).every((v) => v === false)).toBe(true);
          expect(cases.map(([b, s, t]) => theirs(b, s, t))).toEqual(ours);
        },
      ),
      { seed: 8058, numRuns: 100 },
    );
  });
});
