/**
 * Strict base64 for request fields (RFC 4648 §4, standard alphabet, padding).
 *
 * Node's decoder is lenient: it skips characters outside the alphabet and
 * also accepts the URL-safe `-` and `_`. Strictness is therefore checked
 * around it, without a regex pass over multi-megabyte attachments: a skipped
 * character shows as a decoded length shorter than the text's length implies,
 * `-`/`_` and non-ASCII characters are searched for directly, and the unused bits of the last quantum
 * must be zero so that every byte string has exactly one accepted encoding.
 */
import { setImmediate } from 'node:timers/promises';

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

/**
 * The checks Node's decoder does not make: no URL-safe `-`/`_`, and padding
 * (when allowed, at the end only) with zero unused bits. Characters outside
 * the alphabet are caught by the decoded length instead.
 */
function strictCharacters(text: string, paddingAllowed: boolean): boolean {
  // Node decodes a string's UTF-16 units by their low byte (U+0661 reads as "a"): anything but ASCII is refused first.
  if (Buffer.byteLength(text, 'utf8') !== text.length) return false;
  if (text.includes('-') || text.includes('_')) return false;
  return paddingAllowed ? canonicalEnding(text) : !text.includes('=');
}

function canonicalEnding(text: string): boolean {
  if (text.endsWith('==')) return (ALPHABET.indexOf(text[text.length - 3]!) & 0x0f) === 0;
  if (text.endsWith('=')) return (ALPHABET.indexOf(text[text.length - 2]!) & 0x03) === 0;
  return true;
}

/** The bytes, or null when `text` is not strict base64. */
export function decodeStrictBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !strictCharacters(text, true)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === decodedLength(text) ? bytes : null;
}

/** Characters per slice of a large value: a multiple of 4, small enough that its garbage dies young. */
const SLICE_CHARS = 64 * 1024;
/** Slices between turns of the event loop: about a millisecond of work. */
const SLICES_PER_TURN = 16;

/** Decoded length of base64 text whose length is a multiple of 4, without decoding it. */
export function decodedLengthOfBytes(text: Buffer): number {
  const padding = text.at(-1) === 0x3d ? (text.at(-2) === 0x3d ? 2 : 1) : 0;
  return (text.length / 4) * 3 - padding;
}

/**
 * Strict base64 held as ASCII bytes (a large value, see http/large-json.ts),
 * decoded a slice at a time into one reused buffer: `onBytes` gets a view of
 * each slice's bytes, valid only during the call. The event loop gets a turn
 * every few slices, so a 25 MiB attachment never blocks other requests for
 * long. Resolves false — possibly after some slices were delivered — when
 * the text is not strict base64.
 */
export async function decodeStrictBase64InSlices(text: Buffer, onBytes: (bytes: Buffer) => void): Promise<boolean> {
  if (text.length % 4 !== 0) return false;
  const scratch = Buffer.allocUnsafe((SLICE_CHARS / 4) * 3);
  for (let start = 0, slice = 1; start < text.length; start += SLICE_CHARS, slice++) {
    const end = Math.min(start + SLICE_CHARS, text.length);
    const chars = text.toString('latin1', start, end);
    const last = end === text.length;
    // Padding belongs only at the very end.
    if (!strictCharacters(chars, last)) return false;
    const expected = last ? decodedLengthOfBytes(text.subarray(start, end)) : (chars.length / 4) * 3;
    // Node skips characters outside the alphabet: fewer bytes than expected means there were some.
    if (scratch.write(chars, 0, 'base64') !== expected) return false;
    onBytes(scratch.subarray(0, expected));
    if (!last && slice % SLICES_PER_TURN === 0) await setImmediate();
  }
  return true;
}
