/**
 * SMS encoding and segment count: GSM-7 (3GPP TS 23.038 basic table plus the extension table)
 * when every character fits, else UCS-2.
 */

// The GSM 03.38 basic character set (the escape character 0x1B itself excluded).
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// Characters of the extension table: each costs an escape plus itself, two septets.
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

/** How an SMS body travels. */
export interface SmsEncodingInfo {
  encoding: 'GSM-7' | 'UCS-2';
  /** Message parts billed: 1 up to 160 septets (GSM-7) or 70 code units (UCS-2), then 153 / 67 per part. */
  segments: number;
  /** Length in the encoding's units: septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2. */
  characters: number;
}

/** Whether every character of the text is in the GSM-7 basic or extension table. */
export function isGsm7(text: string): boolean {
  for (const ch of text) if (!GSM_BASIC.has(ch) && !GSM_EXTENSION.has(ch)) return false;
  return true;
}

/**
 * Encoding, segments and length of an SMS body. A multi-part message never splits an escape
 * sequence (GSM-7) or a surrogate pair (UCS-2) across two parts, so such a character moves to the
 * next part whole. Empty text has 0 segments.
 * @example
 * smsSegments('Hello') // { encoding: 'GSM-7', segments: 1, characters: 5 }
 * smsSegments('Hi 👋') // { encoding: 'UCS-2', segments: 1, characters: 5 }
 */
export function smsSegments(text: string): SmsEncodingInfo {
  const gsm = isGsm7(text);
  const single = gsm ? 160 : 70;
  const part = gsm ? 153 : 67;
  let characters = 0;
  const sizes: number[] = [];
  for (const ch of text) {
    const size = gsm ? (GSM_EXTENSION.has(ch) ? 2 : 1) : ch.length;
    characters += size;
    sizes.push(size);
  }
  if (characters === 0) return { encoding: gsm ? 'GSM-7' : 'UCS-2', segments: 0, characters: 0 };
  if (characters <= single) return { encoding: gsm ? 'GSM-7' : 'UCS-2', segments: 1, characters };
  let segments = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > part) {
      segments++;
      used = 0;
    }
    used += size;
  }
  return { encoding: gsm ? 'GSM-7' : 'UCS-2', segments, characters };
}
