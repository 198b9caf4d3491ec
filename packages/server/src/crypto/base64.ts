/**
 * Strict base64 decoding for request fields (RFC 4648 §4 with padding).
 * Node's own decoder silently skips invalid characters, so the input is
 * checked first. A single character-class regex is used because a
 * quantified-group regex overflows V8's stack on multi-megabyte attachments.
 */
const ALPHABET_WITH_PADDING = /^[A-Za-z0-9+/]*={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function isStrictBase64(text: string): boolean {
  if (text.length % 4 !== 0 || !ALPHABET_WITH_PADDING.test(text)) return false;
  // Unused bits of the last quantum must be zero, so each byte string has one encoding.
  if (text.endsWith('==')) return (ALPHABET.indexOf(text[text.length - 3]!) & 0x0f) === 0;
  if (text.endsWith('=')) return (ALPHABET.indexOf(text[text.length - 2]!) & 0x03) === 0;
  return true;
}

/** Decoded length of a strictly valid base64 string, without decoding it. */
export function decodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/** Characters of base64 needed for `bytes` decoded bytes. */
export function encodedLength(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

