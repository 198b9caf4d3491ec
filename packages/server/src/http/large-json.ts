/**
 * JSON bodies that carry a large base64 value (an attachment) without ever
 * turning that value into a JavaScript string.
 *
 * The body's bytes are scanned for string tokens: outside a string a `"`
 * opens one; inside, a `"` closes it unless an odd run of backslashes comes
 * right before it. That is all of JSON's string syntax, and `indexOf` finds
 * the quotes at memchr speed. A string of LARGE_STRING_BYTES or more with no
 * backslash (so its bytes are exactly its value: base64 never needs escapes)
 * is cut out and replaced by a short placeholder; the rest goes through the
 * normal JSON parser, which checks the syntax. That rest is bounded
 * (MAX_STRUCTURE_BYTES): what JSON.parse has to walk on the event loop stays
 * small whatever the body's size, so a body of millions of keys is refused
 * instead of stalling everyone.
 *
 * Top-level `attachment_data` and `encrypted_attachment` values stay as
 * bytes: the send route takes them from `largeFieldsOf(body)`, and the body
 * keeps the placeholder string, so schema validation still sees a string.
 * (Such a value must be strict base64, which the send checks: a control
 * character in it is refused there.) A placeholder anywhere else is restored
 * to its real string and checked like every other string of the body
 * (json-body.ts), so strictness does not depend on size. The placeholder
 * holds a random nonce per body, so no client-sent string can be mistaken
 * for one.
 */
import { randomSlice } from '../crypto/random.ts';
import { PayloadTooLarge } from '../domain/errors.ts';

/** Bodies from this size on are parsed here. */
export const LARGE_BODY_BYTES = 16 * 1024;
/** Strings from this size on are kept as bytes: a 64 KiB attachment already costs more as strings (copies, escape scans, GC) than the cut. */
const LARGE_STRING_BYTES = 16 * 1024;
/** Most JSON text (everything but the cut-out strings) one body may give JSON.parse: a 256 Ki-character message written entirely in \u escapes fits. */
export const MAX_STRUCTURE_BYTES = 2 * 1024 * 1024;
const LARGE_FIELDS = ['attachment_data', 'encrypted_attachment'] as const;
type LargeField = (typeof LARGE_FIELDS)[number];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const largeFields = new WeakMap<object, Partial<Record<LargeField, Buffer>>>();

/** The base64 bytes of the large fields of a body that parseLargeJson produced; undefined for any other body. */
export function largeFieldsOf(body: object): Partial<Record<LargeField, Buffer>> | undefined {
  return largeFields.get(body);
}

/** Turns a cut-out string's placeholder back into its value; undefined for any other string. */
export type PlaceholderLookup = (value: string) => string | undefined;

/**
 * Parses `body` (valid UTF-8, checked by the caller) and returns the value
 * with its placeholders still in place, plus how to restore them.
 * Top-level large fields are already recorded for largeFieldsOf.
 */
export function parseLargeJson(body: Buffer, parseJson: (text: string) => unknown): { parsed: unknown; restore: PlaceholderLookup | null } {
  const { spans, stringBytes } = largeStringSpans(body);
  if (body.length - stringBytes > MAX_STRUCTURE_BYTES) {
    throw new PayloadTooLarge(`The JSON around attachments may be at most ${MAX_STRUCTURE_BYTES} bytes; send fewer or shorter fields.`);
  }
  if (spans.length === 0) return { parsed: parseJson(body.toString('utf8')), restore: null };

  const nonce = randomSlice(12).toString('hex');
  // In the JSON text the placeholder's first character is the escape \u0000; parsed, it is U+0000.
  const marker = `\u0000large-${nonce}:`;
  const parts: string[] = [];
  let at = 0;
  spans.forEach(([start, end], i) => {
    parts.push(body.toString('utf8', at, start), `\\u0000large-${nonce}:${i}`);
    at = end;
  });
  parts.push(body.toString('utf8', at));
  const parsed = parseJson(parts.join(''));

  const bytesOf = (placeholder: string): Buffer | undefined => {
    if (!placeholder.startsWith(marker)) return undefined;
    const span = spans[Number(placeholder.slice(marker.length))];
    return span ? body.subarray(span[0], span[1]) : undefined;
  };
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const kept: Partial<Record<LargeField, Buffer>> = {};
    const fields = parsed as Record<string, unknown>;
    for (const field of LARGE_FIELDS) {
      const value = fields[field];
      const bytes = typeof value === 'string' ? bytesOf(value) : undefined;
      if (bytes) kept[field] = bytes;
    }
    largeFields.set(fields, kept);
  }
  return { parsed, restore: (value) => bytesOf(value)?.toString('utf8') };
}

/**
 * `spans`: [start, end) of the contents (without quotes) of each string value
 * (not key) of at least LARGE_STRING_BYTES that contains no backslash, in
 * order. `stringBytes`: the size of all string values of that size, escaped
 * or not — JSON.parse reads a long string at memory speed, so only what is
 * left (keys, numbers, short values) counts as structure.
 */
function largeStringSpans(body: Buffer): { spans: Array<[number, number]>; stringBytes: number } {
  const spans: Array<[number, number]> = [];
  let stringBytes = 0;
  let open = body.indexOf(QUOTE);
  while (open !== -1) {
    const close = closingQuote(body, open + 1);
    if (close === -1) break; // unterminated: the JSON parser will say so
    if (close - open - 1 >= LARGE_STRING_BYTES && !isPropertyName(body, close + 1)) {
      stringBytes += close - open - 1;
      if (body.subarray(open + 1, close).indexOf(BACKSLASH) === -1) spans.push([open + 1, close]);
    }
    open = body.indexOf(QUOTE, close + 1);
  }
  return { spans, stringBytes };
}

/** Whether the string that ended just before `from` is an object key: the next non-blank byte is a colon. Keys are never cut, so they are checked like any other. */
function isPropertyName(body: Buffer, from: number): boolean {
  let at = from;
  while (at < body.length && (body[at] === 0x20 || body[at] === 0x09 || body[at] === 0x0a || body[at] === 0x0d)) at++;
  return body[at] === 0x3a;
}

function closingQuote(body: Buffer, from: number): number {
  for (let quote = body.indexOf(QUOTE, from); quote !== -1; quote = body.indexOf(QUOTE, quote + 1)) {
    let backslashes = 0;
    while (body[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return -1;
}
