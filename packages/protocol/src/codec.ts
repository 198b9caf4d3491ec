/**
 * Strict base64 (RFC 4648 §4, standard alphabet, with padding) and PEM helpers.
 *
 * "Strict" means: length a multiple of 4, only the standard alphabet, `=` only as
 * final padding, and the unused bits of the last quantum zero, so every byte
 * string has exactly one accepted encoding. Anything else is rejected instead of
 * being silently "repaired".
 *
 * @example
 * decodeBase64('QUJD') // Uint8Array [65, 66, 67]
 * isStrictBase64('QUJD$$$$') // false
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE_TABLE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE_TABLE[ALPHABET.charCodeAt(i)] = i;

export class Base64Error extends Error {
  override name = 'Base64Error';
}

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  const value = code < 128 ? (DECODE_TABLE[code] as number) : -1;
  if (value < 0) throw new Base64Error(`invalid base64 character at position ${index}`);
  return value;
}

/** Decodes strict base64; throws `Base64Error` on anything not strictly valid. */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new Base64Error('base64 length must be a multiple of 4');
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  const fullQuanta = padding === 0 ? text.length : text.length - 4;
  let o = 0;
  for (let i = 0; i < fullQuanta; i += 4) {
    const n = (sextet(text, i) << 18) | (sextet(text, i + 1) << 12) | (sextet(text, i + 2) << 6) | sextet(text, i + 3);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (padding === 2) {
    const a = sextet(text, fullQuanta);
    const b = sextet(text, fullQuanta + 1);
    if ((b & 0x0f) !== 0) throw new Base64Error('non-canonical base64 padding bits');
    out[o] = (a << 2) | (b >> 4);
  } else if (padding === 1) {
    const a = sextet(text, fullQuanta);
    const b = sextet(text, fullQuanta + 1);
    const c = sextet(text, fullQuanta + 2);
    if ((c & 0x03) !== 0) throw new Base64Error('non-canonical base64 padding bits');
    out[o++] = (a << 2) | (b >> 4);
    out[o] = ((b & 0x0f) << 4) | (c >> 2);
  }
  return out;
}

export function isStrictBase64(text: string): boolean {
  try {
    decodeBase64(text);
    return true;
  } catch (error) {
    if (error instanceof Base64Error) return false;
    throw error;
  }
}

/** Encodes bytes as standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  const full = bytes.length - (bytes.length % 3);
  for (let i = 0; i < full; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    chunk += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
    // Flushing keeps intermediate strings short for multi-megabyte attachments.
    if (chunk.length >= 65536) {
      parts.push(chunk);
      chunk = '';
    }
  }
  const rest = bytes.length - full;
  if (rest === 1) {
    const n = (bytes[full] as number) << 16;
    chunk += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = ((bytes[full] as number) << 16) | ((bytes[full + 1] as number) << 8);
    chunk += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + '=';
  }
  parts.push(chunk);
  return parts.join('');
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8Encode(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Decodes UTF-8, throwing on malformed input rather than inserting U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

/** Extracts the DER bytes of the first PEM block with the given label. */
export function pemToDer(pem: string, label: string): Uint8Array {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const start = pem.indexOf(begin);
  const stop = pem.indexOf(end, start + begin.length);
  if (start < 0 || stop < 0) throw new Error(`not a PEM ${label}`);
  const body = pem.slice(start + begin.length, stop).replace(/\s+/g, '');
  return decodeBase64(body);
}

/** Wraps DER bytes as PEM with 64-character lines and a trailing newline. */
export function derToPem(der: Uint8Array, label: string): string {
  const body = encodeBase64(der).replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}
