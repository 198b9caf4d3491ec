/**
 * Shared pieces of the property-based (fast-check) fuzz tests (fuzz-*.test.ts):
 * hostile and near-valid values, body cases (a valid body with fields mutated,
 * extra and `__proto__` keys, raw bytes, deep nesting, odd content types),
 * query strings, and the properties every answer must keep:
 *
 * - never a 5xx;
 * - every error is JSON (`application/json`) with a string `detail`, and
 *   `errors`, if present, maps field names to arrays of strings;
 * - a refused request stores nothing (each route says what that means);
 * - invalid UTF-8 and raw control characters inside a JSON string → 400,
 *   whatever the body's size;
 * - nothing pollutes Object.prototype.
 *
 * `FUZZ_RUNS` sets the number of runs of every property (`npm run fuzz`: 2000);
 * by default each property runs a few dozen times.
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { App } from '../src/http/context.ts';
import { Sessions } from '../src/domain/sessions.ts';
import type { TestApp } from './helpers.ts';
import { testConfig } from './helpers.ts';

// ─── run counts ─────────────────────────────────────────────────────────────

const envRuns = Number(process.env.FUZZ_RUNS);
const FUZZ_RUNS = Number.isSafeInteger(envRuns) && envRuns > 0 ? envRuns : undefined;

/** Runs of one property: FUZZ_RUNS when set, else the given default. */
export function runs(byDefault: number): number {
  return FUZZ_RUNS ?? byDefault;
}

/** A test timeout that grows with FUZZ_RUNS (a run may cost an Argon2 hash). */
export function timeoutFor(numRuns: number, msPerRun = 150): number {
  return Math.max(60_000, 30_000 + numRuns * msPerRun);
}

// ─── values that print short ────────────────────────────────────────────────

/** A long string, printed as `rep("x", 70000)` in counterexamples; JSON.stringify writes it out. */
export class Rep {
  constructor(
    readonly unit: string,
    readonly count: number,
  ) {}
  toJSON(): string {
    return this.unit.repeat(this.count);
  }
  [fc.toStringMethod](): string {
    return `rep(${JSON.stringify(this.unit)}, ${this.count})`;
  }
}

/**
 * Bytes written into the JSON text exactly as they are, where a value would
 * go: a string token holding invalid UTF-8 or a raw control character, deep
 * nesting, a number literal JSON.stringify would never write.
 * `refuse`: the body must be answered 400 whatever else it holds.
 */
export class Raw {
  constructor(
    readonly bytes: Buffer,
    readonly label: string,
    readonly refuse: boolean,
  ) {}
  [fc.toStringMethod](): string {
    return `raw(${this.label})`;
  }
}

/** The value as the server would see it after a JSON round trip (Rep written out; a Raw parsed, or undefined for one that must be refused). */
export function materialize(value: unknown): unknown {
  if (value instanceof Rep) return value.toJSON();
  if (value instanceof Raw) {
    if (value.refuse) return undefined;
    try {
      return JSON.parse(value.bytes.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  return value;
}

/** JSON text of a value, with every Raw written in as its bytes. */
export function encode(value: unknown): { payload: Buffer; refuse: boolean } {
  const raws: Raw[] = [];
  const marker = (i: number) => `\u0000raw-fuzz:${i}`;
  const text = JSON.stringify(value, (_key, inner: unknown) => {
    if (inner instanceof Raw) {
      raws.push(inner);
      return marker(raws.length - 1);
    }
    return inner;
  });
  if (text === undefined) return { payload: Buffer.alloc(0), refuse: false };
  if (raws.length === 0) return { payload: Buffer.from(text, 'utf8'), refuse: false };
  const parts: Buffer[] = [];
  let rest = text;
  raws.forEach((raw, i) => {
    const token = JSON.stringify(marker(i)); // "\u0000raw-fuzz:i" as JSON.stringify wrote it
    const at = rest.indexOf(token);
    parts.push(Buffer.from(rest.slice(0, at), 'utf8'), raw.bytes);
    rest = rest.slice(at + token.length);
  });
  parts.push(Buffer.from(rest, 'utf8'));
  return { payload: Buffer.concat(parts), refuse: raws.some((raw) => raw.refuse) };
}

/** Sets an own, enumerable property, also for `__proto__` (which `=` would not). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// ─── hostile values ─────────────────────────────────────────────────────────

export const LONE_SURROGATES = ['\ud800', '\udfff', 'ab\ud83d', '\ude00cd', '\udbff\udbff', 'x\udc00y'];

/** Strings that are valid JSON but hostile: look-alikes, numbers as text, controls (escaped), lone surrogates. */
export const weirdString: fc.Arbitrary<string> = fc.constantFrom(
  '', ' ', '\t', '\n', 'NaN', 'Infinity', '-Infinity', 'null', 'undefined', 'true', '0', '-1', '1e3', '1.5', '0x10', '+1', '01',
  '99999999999999999999', '-99999999999999999999', '9007199254740993',
  '\u212Aelvin', '\u212A', 'ＡＢＣ', '\u0430dmin', 'ǅ', 'ß', 'İ', 'ﬀ', 'e\u0301', '😀', '\u200b', '\ufeff', '\u2028\u2029',
  '\u0000', 'a\u0001b', '\u001f', '\u007f', '\u0085', 'a\u0000',
  '<script>alert(1)</script>', "' OR 1=1 --", '../../etc/passwd', '%00', '%ZZ', '{"a":1}', '[]',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
  ...LONE_SURROGATES,
);

export const weirdNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 0.5, 1.5, -1.5, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e20, 99999999999999999999, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Long strings, at and just past the limits that matter (150, 255, 1024, 16 KiB, 256 Ki). */
export const longString: fc.Arbitrary<Rep> = fc
  .record({
    unit: fc.constantFrom('x', 'A', 'é', '😀', '=', ' ', '\u212A'),
    count: fc.constantFrom(151, 256, 1025, 4097, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 70_000, 262_145),
  })
  .map(({ unit, count }) => new Rep(unit, count));

/** Base64 that a strict decoder must refuse. */
export const badBase64: fc.Arbitrary<string> = fc.constantFrom(
  'QUJD$$$$', '-_-_', 'QUJDRA', 'QUJD\nRA==', 'QUJDRB==', '====', 'A===', 'QQ=', 'Q', ' QUJD', 'QUJD ', 'QUJDRA==\n', 'QUJD\u0000', 'QU JD',
  'QUJDRA=', 'QUJDRA===', '=QUJD', 'Q=JD', '\u0661\u0662\u0663\u0664', 'ＱＵＪＤ', 'QUJD\r\n',
);

const INVALID_UTF8: Array<[string, number[]]> = [
  ['ff', [0xff]],
  ['fe', [0xfe]],
  ['lone continuation 80', [0x80]],
  ['overlong NUL c0 80', [0xc0, 0x80]],
  ['overlong c1 bf', [0xc1, 0xbf]],
  ['overlong e0 80 80', [0xe0, 0x80, 0x80]],
  ['encoded surrogate ed a0 80', [0xed, 0xa0, 0x80]],
  ['above U+10FFFF f4 90 80 80', [0xf4, 0x90, 0x80, 0x80]],
  ['5-byte f8 88 80 80 80', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['truncated c3', [0xc3]],
  ['truncated e2 82', [0xe2, 0x82]],
  ['truncated f0 9f 98', [0xf0, 0x9f, 0x98]],
];

/** A JSON string token with invalid UTF-8 or a raw (unescaped) control character inside; small or ≥ 16 KiB. */
export const badStringToken: fc.Arbitrary<Raw> = fc
  .record({
    bad: fc.oneof(
      fc.constantFrom(...INVALID_UTF8).map(([label, bytes]) => ({ label: `invalid UTF-8 ${label}`, bytes })),
      fc.integer({ min: 0, max: 0x1f }).map((code) => ({ label: `raw control U+${code.toString(16).padStart(4, '0')}`, bytes: [code] })),
    ),
    prefix: fc.constantFrom('', 'ok ', 'QUJD'),
    large: fc.boolean(),
  })
  .map(({ bad, prefix, large }) => {
    const pad = large ? 'A'.repeat(16 * 1024 + 8) : '';
    const bytes = Buffer.concat([Buffer.from(`"${prefix}${pad}`), Buffer.from(bad.bytes), Buffer.from('tail"')]);
    return new Raw(bytes, `"${prefix}${large ? `A×${pad.length}` : ''}" + ${bad.label} + "tail"`, true);
  });

/** Deeply nested arrays or objects, as raw JSON text. */
export const deepNesting: fc.Arbitrary<Raw> = fc
  .record({ depth: fc.constantFrom(64, 1000, 5000, 20_000), kind: fc.constantFrom('array', 'object') })
  .map(({ depth, kind }) => {
    const text = kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    return new Raw(Buffer.from(text), `${kind} nested ${depth} deep`, false);
  });

/** Number literals JSON.stringify never writes. */
export const oddNumberLiteral: fc.Arbitrary<Raw> = fc
  .constantFrom('1e400', '-1e400', '1E2', '-0', '0.1e1', '1.0', '1e-400', '0e0', '123456789012345678901234567890', '1.00000000000000000001', '9007199254740993')
  .map((text) => new Raw(Buffer.from(text), text, false));

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: weirdString },
  { weight: 3, arbitrary: weirdNumber },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { '': '' }, ['a'], { prototype: { polluted: true } }) },
  { weight: 1, arbitrary: longString },
  { weight: 2, arbitrary: badBase64 },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: badStringToken },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: oddNumberLiteral },
);

/** Standard padded base64 of n random bytes. */
export const base64OfSize = (min: number, max = min): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((bytes) => Buffer.from(bytes).toString('base64'));

/** Integers around a valid value, and the usual suspects. */
export const nearInteger = (...valid: number[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom<unknown>(...valid, ...valid.flatMap((v) => [v - 1, v + 1, v + 0.5, -v, String(v), [v], { v }])),
    fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, 1e20, 99999999999999999999, 1.5),
  );

// ─── body cases ─────────────────────────────────────────────────────────────

export type Mutation =
  | { op: 'set'; field: string; value: unknown }
  | { op: 'delete'; field: string }
  | { op: 'extra'; key: string; value: unknown };

export interface BodyCase {
  /** Applied to a fresh valid body, in order. */
  mutations: Mutation[];
  /** Makes the body ≥ 16 KiB (the large-body parser) with a long extra string, or leading whitespace. */
  pad?: 'string' | 'whitespace';
  /** Replaces the whole body (an array, a string, null…). */
  whole?: unknown;
  /** Replaces the whole body with these bytes. */
  raw?: Raw;
  /** Content-Type, when not application/json. */
  contentType?: string;
  /** Cut the JSON text after this many bytes (≥ 1, < its length). */
  truncateAt?: number;
}

export const VALID: BodyCase = { mutations: [] };

const EXTRA_KEYS = [
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'id', 'user_id', 'is_admin', 'admin', 'sender', 'sent_at',
  'token', '', ' ', '\u0000', 'a.b', 'USERNAME', 'Password', '\u212Aey', '\ud800',
];

/** Content types that are certainly not JSON (→ 415), and ones that are merely odd. */
export const NOT_JSON_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'text/html', 'application/octet-stream'];
const ODD_JSON_TYPES = [
  'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON', 'application/json; charset=latin1', 'application/json; charset=utf-16',
  'application/json-patch+json', 'application/vnd.api+json', 'application/jsonx', 'application/json, text/plain', 'application/json; boundary=";"', 'json', '*/*',
];

/** Bodies that are not JSON objects: → 400. */
export const notAnObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1e308, '', 'text', [], [{}], [[]]),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  weirdString,
  weirdNumber,
);

/** Whole bodies of raw bytes that are never valid JSON objects: → 400 (or 415 for none of them). */
export const junkBytes: fc.Arbitrary<Raw> = fc.oneof(
  fc.constantFrom(
    '{', '}', '{"a"', '{"a":', '{"a":1,}', '{,}', "{'a':1}", '{a:1}', '{"a":1}}', '{"a":1} x', 'hello', 'NaN', 'undefined', '{"a":01}', '{"a":.5}',
    '{"a":+1}', '{"a":0x10}', '{"a":"\\x41"}', '{"a":"\\u12"}', '{"a":"\\ud800\\"}', '\ufeff{}', '{"a":1}\u0000', '/* c */{}', '{"a":Infinity}',
  ).map((text) => new Raw(Buffer.from(text, 'utf8'), JSON.stringify(text), false)),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => new Raw(Buffer.from(bytes), `bytes ${Buffer.from(bytes).toString('hex')}`, false)),
  fc.constantFrom(...INVALID_UTF8).map(([label, bytes]) => new Raw(Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bytes), Buffer.from('"}')]), `{"a":"<${label}>"}`, true)),
);

/**
 * Body cases for a route: mostly its valid body with one or two fields
 * mutated (near-valid values for that field, or hostile ones), extra keys,
 * and now and then a whole-body replacement, raw bytes or an odd content type.
 */
export function bodyCase(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<BodyCase> {
  const names = Object.keys(fields);
  const set = fc
    .constantFrom(...names)
    .chain((field) => fc.oneof({ weight: 3, arbitrary: fields[field]! }, { weight: 2, arbitrary: hostileValue }).map((value): Mutation => ({ op: 'set', field, value })));
  const del = fc.constantFrom(...names).map((field): Mutation => ({ op: 'delete', field }));
  const extra = fc
    .record({ key: fc.oneof(fc.constantFrom(...EXTRA_KEYS), fc.string({ maxLength: 8 })), value: hostileValue })
    .map(({ key, value }): Mutation => ({ op: 'extra', ...{ key, value } }));
  const mutation = fc.oneof({ weight: 6, arbitrary: set }, { weight: 1, arbitrary: del }, { weight: 2, arbitrary: extra });
  const mutated = fc.record(
    { mutations: fc.array(mutation, { minLength: 1, maxLength: 2 }), pad: fc.constantFrom<'string' | 'whitespace'>('string', 'whitespace') },
    { requiredKeys: ['mutations'] },
  );
  return fc.oneof(
    { weight: 12, arbitrary: mutated },
    { weight: 1, arbitrary: fc.record({ mutations: fc.constant<Mutation[]>([]), pad: fc.constantFrom<'string' | 'whitespace'>('string', 'whitespace') }) },
    { weight: 1, arbitrary: notAnObject.map((whole): BodyCase => ({ mutations: [], whole })) },
    { weight: 1, arbitrary: junkBytes.map((raw): BodyCase => ({ mutations: [], raw })) },
    {
      weight: 1,
      arbitrary: fc.record({ mutations: fc.constant<Mutation[]>([]), contentType: fc.constantFrom(...NOT_JSON_TYPES, ...ODD_JSON_TYPES) }),
    },
    { weight: 1, arbitrary: fc.record({ mutations: fc.constant<Mutation[]>([]), truncateAt: fc.integer({ min: 1, max: 400 }) }) },
  );
}

/**
 * The encoding cases, run for every body route on their own so that they are
 * certainly reached: the valid body with one field (or an extra one) written
 * as a string token holding invalid UTF-8 or a raw control character (→ 400),
 * as deep nesting, or as an odd number literal; small, or ≥ 16 KiB (the
 * large-body parser) by a long extra string or leading whitespace.
 */
export function encodingCase(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<BodyCase> {
  return fc
    .record({
      field: fc.constantFrom(...Object.keys(fields), '_extra', 'valueOf', 'constructor'),
      value: fc.oneof({ weight: 3, arbitrary: badStringToken }, { weight: 2, arbitrary: deepNesting }, { weight: 1, arbitrary: oddNumberLiteral }),
      pad: fc.constantFrom<'string' | 'whitespace' | 'none'>('none', 'string', 'whitespace'),
    })
    .map(({ field, value, pad }): BodyCase => {
      const mutation: Mutation = field in fields ? { op: 'set', field, value } : { op: 'extra', key: field, value };
      return pad === 'none' ? { mutations: [mutation] } : { mutations: [mutation], pad };
    });
}

/** Inputs that once got through, run first every time. */
const ENCODING_EXAMPLES: BodyCase[] = [
  // A 500: the large-body parser recursed over deep nesting once a ≥ 16 KiB string made the body large.
  { mutations: [{ op: 'extra', key: '_extra', value: new Raw(Buffer.from('['.repeat(5000) + ']'.repeat(5000)), 'array nested 5000 deep', false) }], pad: 'string' },
  // Raw controls and invalid UTF-8 in a ≥ 16 KiB string, also under a key named like an Object.prototype member.
  ...['_extra', 'valueOf'].flatMap((key): BodyCase[] =>
    ([[[0x01], 'raw control U+0001'], [[0xff], 'invalid UTF-8 ff']] as const).map(([bad, label]) => ({
      mutations: [{ op: 'extra', key, value: new Raw(Buffer.concat([Buffer.from(`"${'A'.repeat(16 * 1024 + 8)}`), Buffer.from(bad), Buffer.from('"')]), `"A×16392" + ${label}`, true) }],
    })),
  ),
];

export function applyMutations(body: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  for (const m of mutations) {
    if (m.op === 'delete') delete body[m.field];
    else setOwn(body, m.op === 'set' ? m.field : m.key, m.value);
  }
  return body;
}

export interface BuiltBody {
  payload: Buffer;
  contentType: string;
  /** The status the contract requires whatever the route (400, 415), if any. */
  mustBe?: number;
  /** Why: 'bytes' (invalid UTF-8, raw control character, malformed JSON) holds for every route; the others for routes that take a JSON object. */
  reason?: 'bytes' | 'not-object' | 'content-type';
}

/** The request bytes of a case, built around `body` (the route's fresh valid body, already mutated). */
export function buildBody(c: BodyCase, body: Record<string, unknown>): BuiltBody {
  if (c.raw) return { payload: c.raw.bytes, contentType: 'application/json', mustBe: 400, reason: c.raw.refuse ? 'bytes' : 'not-object' };
  if (c.whole !== undefined) {
    const { payload, refuse } = encode(c.whole);
    return { payload, contentType: 'application/json', mustBe: 400, reason: refuse ? 'bytes' : 'not-object' };
  }
  let value: Record<string, unknown> = body;
  if (c.pad === 'string') value = { ...body, _pad: new Rep('A', 16 * 1024 + 1) };
  const { payload, refuse } = encode(value);
  let bytes = payload;
  if (c.pad === 'whitespace') bytes = Buffer.concat([Buffer.alloc(16 * 1024 + 1, ' '), payload]);
  if (c.truncateAt !== undefined) {
    bytes = bytes.subarray(0, Math.min(c.truncateAt, bytes.length - 1));
    return { payload: bytes, contentType: 'application/json', mustBe: 400, reason: 'bytes' };
  }
  if (c.contentType !== undefined) {
    return NOT_JSON_TYPES.includes(c.contentType) ? { payload: bytes, contentType: c.contentType, mustBe: 415, reason: 'content-type' } : { payload: bytes, contentType: c.contentType };
  }
  return refuse ? { payload: bytes, contentType: 'application/json', mustBe: 400, reason: 'bytes' } : { payload: bytes, contentType: 'application/json' };
}

// ─── answers ────────────────────────────────────────────────────────────────

/** Short text of an input for failure messages. */
export function show(input: unknown): string {
  const text = fc.stringify(input);
  return text.length > 600 ? `${text.slice(0, 600)}…(${text.length} chars)` : text;
}

export class PropertyFailure extends Error {
  override name = 'PropertyFailure';
}

export function fail(why: string, input: unknown, res?: LightMyRequestResponse): never {
  const answer = res ? ` → ${res.statusCode} ${String(res.headers['content-type'] ?? '')} ${res.body.slice(0, 300)}` : '';
  throw new PropertyFailure(`${why}\n  input: ${show(input)}${answer}`);
}

/**
 * What every answer must be: never a 5xx; every error JSON with a string
 * `detail` and optional `errors` of string arrays; nothing on Object.prototype.
 */
export function checkAnswer(res: LightMyRequestResponse, input: unknown, method = 'GET'): void {
  for (const key in {}) fail(`Object.prototype was polluted with "${key}"`, input, res);
  if (res.statusCode >= 500) fail(`server error ${res.statusCode}`, input, res);
  if (res.statusCode < 400 || method === 'HEAD') return;
  const type = String(res.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type)) fail(`error ${res.statusCode} is not application/json`, input, res);
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    fail(`error ${res.statusCode} body is not JSON`, input, res);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail('error body is not an object', input, res);
  const { detail, errors } = body as { detail?: unknown; errors?: unknown };
  if (typeof detail !== 'string' || detail === '') fail('error body has no string detail', input, res);
  if (errors !== undefined) {
    if (errors === null || typeof errors !== 'object' || Array.isArray(errors)) fail('errors is not an object', input, res);
    for (const [field, messages] of Object.entries(errors as object)) {
      if (!Array.isArray(messages) || messages.some((m) => typeof m !== 'string')) fail(`errors.${field} is not an array of strings`, input, res);
    }
  }
}

/** Bodies above this may be refused with 413 before anything else is looked at (the smallest route limit, 64 KiB). */
export const SMALLEST_BODY_LIMIT = 64 * 1024;

export function expectStatus(res: LightMyRequestResponse, expected: number | number[], input: unknown, why: string, bodyBytes = 0): void {
  const allowed = Array.isArray(expected) ? [...expected] : [expected];
  if (bodyBytes > SMALLEST_BODY_LIMIT) allowed.push(413);
  if (!allowed.includes(res.statusCode)) fail(`expected ${allowed.join(' or ')} (${why}), got ${res.statusCode}`, input, res);
}

// ─── routes with a JSON body ────────────────────────────────────────────────

export interface BodyRoute<S> {
  method: 'POST' | 'DELETE';
  url: string;
  /** The token of the request, if any (read per run: it may change). */
  token?: () => string;
  /** A fresh valid body (e.g. a new username each run). */
  valid: () => Record<string, unknown>;
  /** Near-valid values of each field; hostile values are mixed in. */
  fields: Record<string, fc.Arbitrary<unknown>>;
  /** The route takes a JSON object body: non-objects, junk and odd content types must be refused. */
  objectBody: boolean;
  /** State a refused request must leave unchanged, read before the request. */
  snapshot: (body: Record<string, unknown>) => Promise<S>;
  /** Checks that a refused request stored nothing. */
  refused: (before: S, body: Record<string, unknown>, res: LightMyRequestResponse, input: unknown) => Promise<void>;
  /** Bookkeeping after an accepted request (a new password, a revoked token…). */
  accepted?: (before: S, body: Record<string, unknown>, res: LightMyRequestResponse, input: unknown) => Promise<void>;
  /** Extra per-field expectations, e.g. a short new password → 400 (a number), or several allowed statuses. */
  mustBe?: (body: Record<string, unknown>) => number | number[] | undefined;
  /** More cases run first, besides the valid body. */
  examples?: BodyCase[];
}

/** A top-level string with a lone surrogate: UTF-8 would silently change it, so the body is refused (json-body.ts). */
export function hasLoneSurrogate(body: Record<string, unknown>): boolean {
  return Object.values(body).some((value) => typeof value === 'string' && !value.isWellFormed());
}

/**
 * The body property of one route: the valid body is accepted (an explicit
 * example, and the count of 2xx answers must not be zero), every answer keeps
 * checkAnswer's rules, the contract's fixed statuses hold, and a refused
 * request leaves the route's state unchanged.
 */
export async function checkBodyRoute<S>(app: App, route: BodyRoute<S>, numRuns: number): Promise<void> {
  let accepted = 0;
  const property = (arbitrary: fc.Arbitrary<BodyCase>) =>
    fc.asyncProperty(arbitrary, async (c) => {
      const body = applyMutations(route.valid(), c.mutations);
      const built = buildBody(c, body);
      const before = await route.snapshot(body);
      const headers: Record<string, string> = { 'content-type': built.contentType };
      const token = route.token?.();
      if (token) headers['x-auth-token'] = token;
      const res = await app.inject({ method: route.method, url: route.url, headers, payload: built.payload });
      const input = { case: c, bytes: built.payload.length };
      checkAnswer(res, input, route.method);
      if (built.mustBe !== undefined && (route.objectBody || built.reason === 'bytes')) expectStatus(res, built.mustBe, input, `required by the contract (${built.reason})`, built.payload.length);
      else if (built.mustBe === undefined && c.contentType === undefined) {
        if (route.objectBody && hasLoneSurrogate(body)) expectStatus(res, 400, input, 'a top-level string with a lone surrogate', built.payload.length);
        const expected = route.mustBe?.(body);
        if (expected !== undefined) expectStatus(res, expected, input, 'required for this route', built.payload.length);
      }
      if (res.statusCode >= 400) await route.refused(before, body, res, input);
      else {
        accepted += 1;
        await route.accepted?.(before, body, res, input);
      }
    });
  await fc.assert(property(bodyCase(route.fields)), { numRuns, examples: [VALID, ...(route.examples ?? [])].map((c) => [c] as [BodyCase]) });
  expect(accepted, 'no valid body was accepted: the generator never reached the route').toBeGreaterThan(0);
  await fc.assert(property(encodingCase(route.fields)), { numRuns: Math.max(20, Math.ceil(numRuns / 2)), examples: ENCODING_EXAMPLES.map((c) => [c] as [BodyCase]) });
}

// ─── query strings and paths ────────────────────────────────────────────────

/** A query value: numbers near the edges, junk, percent-encoded junk (written raw, not re-encoded). */
export const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '', '0', '1', '2', '3', '5', '10', '50', '199', '200', '201', '499', '500', '501', '1000', '1e3', '-1', '-0', '+5', '05', '1.0', '1.5', '0x10',
    ' 5', '5 ', 'NaN', 'Infinity', 'null', 'true', '[]', '99999999999999999999', '9007199254740991', '9007199254740992', '2147483648',
    'inbox', 'sent', 'INBOX', 'Sent', 'inbox ', 'outbox', 'all', '%00', '%ZZ', '%', '%E0%A4', '%ED%A0%80', '%C0%80', '%FF', '%2B5', '%20', '+', '%26', '%3D',
    '%E2%84%AA', 'a%00b',
  ),
  fc.integer({ min: -5, max: 600 }).map(String),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.constantFrom(151, 2000).map((n) => 'x'.repeat(n)),
);

/** name=value pairs (repeats allowed), in a raw query string. */
export function queryCase(names: string[]): fc.Arbitrary<Array<[string, string]>> {
  const name = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...names) }, { weight: 1, arbitrary: fc.constantFrom('x', '', '__proto__', 'constructor', 'LIMIT', 'limit[]', 'limit[a]', 'a.b') });
  return fc.array(fc.tuple(name, queryValue), { maxLength: 4 });
}

export function queryString(pairs: Array<[string, string]>): string {
  // A space cannot travel raw in a request line (HTTP clients send %20; in-process requests would trim it): send it as a client would.
  const asSent = (text: string) => text.replace(/ /g, '%20');
  return pairs.length === 0 ? '' : `?${pairs.map(([n, v]) => `${asSent(n)}=${asSent(v)}`).join('&')}`;
}

/** The one value of a query parameter if it occurs exactly once, else null (absent) or 'repeated'. */
export function single(pairs: Array<[string, string]>, name: string): string | null | { repeated: true } {
  const values = pairs.filter(([n]) => n === name).map(([, v]) => v);
  if (values.length === 0) return null;
  if (values.length > 1) return { repeated: true };
  return values[0]!;
}

/** A percent-decoded query value, or null when it cannot be decoded. */
export function decoded(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** A percent-decoded path segment ('+' is a plus there), or null when it cannot be decoded. */
export function decodedPath(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/** 'ok' for a plain positive integer, 'bad' for what is certainly not one (0, negative, words), else 'either'. */
export function positiveIntegerVerdict(raw: string): 'ok' | 'bad' | 'either' {
  const value = decoded(raw);
  if (value === null) return 'either';
  if (/^[1-9][0-9]*$/.test(value)) return 'ok';
  if (value === '' || /^-[0-9]+$/.test(value) || /^0+$/.test(value) || /^[A-Za-z\[\]]+$/.test(value) || /^-?[0-9]*\.[0-9]*[1-9]/.test(value)) return 'bad';
  return 'either';
}

/** ASCII-only lower case: usernames are ASCII and compared ignoring ASCII case, never Unicode-folded (K ≠ U+212A). */
export const asciiLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

// ─── sessions without a login ───────────────────────────────────────────────

/** Issues tokens straight through the domain (no Argon2 per token). */
export function tokenIssuer(t: TestApp): (userId: number) => Promise<string> {
  const sessions = new Sessions(t.store, testConfig());
  return (userId) => sessions.issue(userId, 'fuzz');
}

/** Row counts of the tables a refused request must not grow. */
export async function tableCounts(t: TestApp): Promise<Record<'users' | 'messages' | 'user_keys' | 'sessions', number>> {
  const tables = ['users', 'messages', 'user_keys', 'sessions'] as const;
  const counts = await Promise.all(
    tables.map(async (table) => Number((await t.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)),
  );
  return Object.fromEntries(tables.map((table, i) => [table, counts[i]!])) as Record<(typeof tables)[number], number>;
}

// ─── a client-made key pair (no RSA key generation in the tests) ────────────

/** A 2048-bit RSA public key (e = 65537): end-to-end registrations and rotations need a real one, never its private half. */
export const RSA_2048_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxqg4qrqL1rF+09DxIOd9
qApvua/8DYd2x4ghIO8uqmGsSmtUbrPVl4Nb1LAIESTAp1TdHEyWBQ17cRkeA9wt
Ha3+niejsNLRCoXc0iIZcLYy3SXuJ53JDBfgZxmlNj3tidGQhv3s2IQaZROXv1aB
KuQefhrOKr48Q7PlHs5Jh4NJros9d0XY3MJgJl6spHakm7ssk13GqavypqPdC/4g
t4RyjhzDc8XQQE9VZxG9b/fJzsruarjsaHegUPstynl2/hjuKp4jy/wDoU5g1q2j
/+2ckTbcsoQMptDlPnhJNYRGfSbpa/WnNsOAac46o9UN+L4r5ixHMOk25nojzZCH
6QIDAQAB
-----END PUBLIC KEY-----
`;

/** Public keys the server must refuse: too small, wrong exponent, not RSA. */
export const WRONG_PUBLIC_KEYS: Record<string, string> = {
  rsa1024: "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCx5TJF4AZ5A44Rw8q3gbxtlruE\nUzOD+//Hz4bniIRe22HrRH5HqPpjd8Jkac3zRcpHN7xqnlUsmeCS2+mZ1BlDj8Ah\nMbHzlVoXQJPCm+82g+IpK+d7bu3CJJwExQGW7F5yf+zFnpoVyfkdSvqdeptpFHpT\nvWlo31qe+0chsQ/dNQIDAQAB\n-----END PUBLIC KEY-----\n",
  rsa2048e3: "-----BEGIN PUBLIC KEY-----\nMIIBIDANBgkqhkiG9w0BAQEFAAOCAQ0AMIIBCAKCAQEA5O79sHXWxj/FK1NBDgYa\nuHNpK6xK4Tv01exHVHQeFXxhltFXIy1G/7aeuOKkO0/05MpfIjI8tZ8ZKbSSG0BP\ngL0m2nJz5HbvMilLEdpqlzA0TDuJRdqZUeCrUJePIZYxVvBMqMHzhv3/h3F9jZZ9\nwBj+c6ks1h8Buu1oOykjV87rn5y5sfUUzQ1a18BYJBzlGUifhA6XRrLWY4E14gm2\nFVHXsv0q1iq6XbzoHTzsBc+KVxU40OYXi2bPXTKTjYG3GYXMARsZfzRTAUwrdrg9\n0VNbuI8TCP8apqb9ZH5jId/xo47rrDmdi4oeQnrD/JW9hewfz4R/Mc7mFoomXS1j\nyQIBAw==\n-----END PUBLIC KEY-----\n",
  ec: "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpSKutLuvbjfvTpjRSS3gJ/cG8lKA\n9Nezb94nchDdUn6pp7AzT1tUtHZThLsQizvHzabO5KXsKd858bTRttSnlg==\n-----END PUBLIC KEY-----\n",
  ed: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAolgzqotVBApLiOyuFoK4wdNEnIPwKxTdfdhNTpZkmfI=\n-----END PUBLIC KEY-----\n",
};

const randomBase64 = (bytes: number) => Buffer.from(Array.from({ length: bytes }, () => Math.floor(Math.random() * 256))).toString('base64');

/** The five fields of a valid client-made key pair (Part B4); the sealed key is random bytes of a plausible size. */
export function clientKeyFields(): Record<string, unknown> {
  return {
    public_key: RSA_2048_PUBLIC_KEY,
    encrypted_private_key: randomBase64(1232),
    private_key_nonce: randomBase64(12),
    private_key_salt: randomBase64(16),
    private_key_iterations: 100_000,
  };
}

const pemMangled = fc.constantFrom(
  RSA_2048_PUBLIC_KEY.replace('PUBLIC KEY', 'RSA PUBLIC KEY'),
  RSA_2048_PUBLIC_KEY.replace(/\n/g, '\r\n'),
  RSA_2048_PUBLIC_KEY.replace(/\n/g, ''),
  RSA_2048_PUBLIC_KEY.slice(0, 200),
  RSA_2048_PUBLIC_KEY.replace('MIIB', 'MIIC'),
  RSA_2048_PUBLIC_KEY.replace('-----END PUBLIC KEY-----', ''),
  `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(64)}\n-----END PUBLIC KEY-----\n`,
  `-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n`,
  `${RSA_2048_PUBLIC_KEY}${RSA_2048_PUBLIC_KEY}`,
  `junk before\n${RSA_2048_PUBLIC_KEY}`,
  RSA_2048_PUBLIC_KEY.replace('QAB', 'QAC'),
  '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
);

/** Near-valid values of the client-made key pair fields. */
export const keyPairFieldArbs: Record<string, fc.Arbitrary<unknown>> = {
  public_key: fc.oneof(fc.constantFrom(...Object.values(WRONG_PUBLIC_KEYS)), pemMangled),
  encrypted_private_key: fc.oneof(fc.constantFrom(0, 15, 16, 17, 16 * 1024, 16 * 1024 + 1).chain((n) => base64OfSize(n)), badBase64),
  private_key_nonce: fc.oneof(fc.integer({ min: 0, max: 24 }).chain((n) => base64OfSize(n)), badBase64),
  private_key_salt: fc.oneof(fc.integer({ min: 0, max: 40 }).chain((n) => base64OfSize(n)), badBase64),
  private_key_iterations: nearInteger(100_000, 10_000_000),
};
