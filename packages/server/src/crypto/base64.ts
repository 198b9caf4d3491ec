/**
 * Strict base64 for request fields (RFC 4648 §4, standard alphabet, padding).
 *
 * Node's decoder is lenient: it skips characters outside the alphabet and
 * also accepts the URL-safe `-` and `_`. Strictness is therefore checked
 * around it, without a regex pass over multi-megabyte attachments: a skipped
 * character shows as a decoded length shorter than the text's length implies,
 * `-`/`_` are searched for directly, and the unused bits of the last quantum
 * must be zero so that every byte string has exactly one accepted encoding.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decoded length of a base64 text of valid shape, without decoding it. */
function decodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/** Characters of base64 needed for `bytes` decoded bytes. */
export function encodedLength(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

function canonicalEnding(text: string): boolean {
  if (text.endsWith('==')) return (ALPHABET.indexOf(text[text.length - 3]!) & 0x0f) === 0;
  if (text.endsWith('=')) return (ALPHABET.indexOf(text[text.length - 2]!) & 0x03) === 0;
  return true;
}

/** The bytes, or null when `text` is not strict base64. */
export function decodeStrictBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || text.includes('-') || text.includes('_') || !canonicalEnding(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === decodedLength(text) ? bytes : null;
}
