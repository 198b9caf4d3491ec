/**
 * JSON bodies that carry a large base64 value (an attachment) without ever
 * turning that value into a JavaScript string.
 *
 * The body's bytes are scanned for string tokens: outside a string a `"`
 * opens one; inside, a `"` closes it unless an odd run of backslashes comes
 * right before it. That is all of JSON's string syntax, and `indexOf` finds
 * the quotes at memchr speed. A string of LARGE_STRING_BYTES or more with no
 * backslash (so its bytes are exactly its value: base64 never needs escapes)
 * is cut out and replaced by a short placeholder; the rest — a few hundred
 * bytes — goes through the normal JSON parser, which checks the syntax.
 *
 * Top-level `attachment_data` and `encrypted_attachment` values stay as
 * bytes: the send route takes them from `largeFieldsOf(body)`, and the body
 * keeps the placeholder string, so schema validation still sees a string.
 * A placeholder anywhere else is restored to its real string, so every other
 * field is validated exactly as before. The placeholder holds a random nonce
 * per body, so no client-sent string can be mistaken for one.
 */
import { randomSlice } from '../crypto/random.ts';

/** Bodies from this size on are parsed here. */
export const LARGE_BODY_BYTES = 16 * 1024;
/** Strings from this size on are kept as bytes: a 64 KiB attachment already costs more as strings (copies, escape scans, GC) than the cut. */
const LARGE_STRING_BYTES = 16 * 1024;
const LARGE_FIELDS = ['attachment_data', 'encrypted_attachment'] as const;
type LargeField = (typeof LARGE_FIELDS)[number];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

const largeFields = new WeakMap<object, Partial<Record<LargeField, Buffer>>>();

/** The base64 bytes of the large fields of a body that parseLargeJson produced; undefined for any other body. */
export function largeFieldsOf(body: object): Partial<Record<LargeField, Buffer>> | undefined {
  return largeFields.get(body);
}

export function parseLargeJson(body: Buffer, parseJson: (text: string) => unknown): unknown {
  const spans = largeStringSpans(body);
  if (spans.length === 0) return parseJson(body.toString('utf8'));

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

  const valueOf = (placeholder: string): Buffer | undefined => {
    if (!placeholder.startsWith(marker)) return undefined;
    const [start, end] = spans[Number(placeholder.slice(marker.length))]!;
    return body.subarray(start, end);
  };
  const restore = (value: unknown): unknown => {
    if (typeof value === 'string') return valueOf(value)?.toString('utf8') ?? value;
    if (Array.isArray(value)) return value.map(restore);
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) (value as Record<string, unknown>)[key] = restore(inner);
    }
    return value;
  };
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return restore(parsed);

  const kept: Partial<Record<LargeField, Buffer>> = {};
  const fields = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    const bytes = typeof value === 'string' ? valueOf(value) : undefined;
    if (bytes && (LARGE_FIELDS as readonly string[]).includes(key)) kept[key as LargeField] = bytes;
    else fields[key] = restore(value);
  }
  largeFields.set(fields, kept);
  return fields;
}

/**
 * [start, end) of the contents (without quotes) of each string token of at
 * least LARGE_STRING_BYTES that contains no backslash, in order.
 */
function largeStringSpans(body: Buffer): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let open = body.indexOf(QUOTE);
  while (open !== -1) {
    const close = closingQuote(body, open + 1);
    if (close === -1) break; // unterminated: the JSON parser will say so
    if (close - open - 1 >= LARGE_STRING_BYTES && body.subarray(open + 1, close).indexOf(BACKSLASH) === -1) {
      spans.push([open + 1, close]);
    }
    open = body.indexOf(QUOTE, close + 1);
  }
  return spans;
}

function closingQuote(body: Buffer, from: number): number {
  for (let quote = body.indexOf(QUOTE, from); quote !== -1; quote = body.indexOf(QUOTE, quote + 1)) {
    let backslashes = 0;
    while (body[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return -1;
}
