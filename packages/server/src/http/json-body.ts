/**
 * The only body parser: JSON, with one strictness for every body size. An
 * empty body is "no body" (so bodiless POSTs such as logout work from any
 * client); other content types get 415.
 *
 * Refused with 400, whatever the size: bytes that are not UTF-8 (decoding
 * would silently turn them into U+FFFD), raw control characters inside
 * strings, and lone surrogates (encoding them as UTF-8 would silently change
 * a password or a message without telling its author). Nothing here
 * recurses, so no nesting depth can overflow the stack.
 *
 * Bodies of LARGE_BODY_BYTES and more (attachments) are read into one buffer
 * of their announced length and parsed by large-json.ts, which keeps big
 * base64 values as bytes instead of JavaScript strings: a 25 MiB attachment
 * would otherwise be held four times over (chunks, joined buffer, body text,
 * parsed string) before any work on it starts.
 *
 * A body must keep arriving: see body-deadlines.ts.
 */
import { isUtf8 } from 'node:buffer';
import { errorCodes, type FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { ValidationError } from '../domain/errors.ts';
import { releaseMemorySoon } from '../release-memory.ts';
import { allocPassable } from '../shared-buffer.ts';
import { unwatchBody, watchBody, type WatchedBody } from './body-deadlines.ts';
import type { App } from './context.ts';
import { largeFieldsOf, LARGE_BODY_BYTES, parseLargeJson, type PlaceholderLookup } from './large-json.ts';

type JsonParser = (text: string) => unknown;

const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;
// Raw (unescaped) C0 controls: JSON.parse refuses them in the text it reads; strings cut out of a large body are checked with this.
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f]/;

export function useJsonBodies(app: App): void {
  app.removeAllContentTypeParsers();
  const defaultParser = app.getDefaultJsonParser('error', 'error');
  // Fastify's parser (secure-json-parse: no __proto__ or constructor.prototype keys), as a plain function.
  const parseJson: JsonParser = (text) => {
    let result: unknown;
    defaultParser(undefined as never, text, (error: Error | null, parsed?: unknown) => {
      if (error) throw error;
      result = parsed;
    });
    return result;
  };

  const parseBody = (body: Buffer): unknown => {
    if (body.length === 0) return undefined;
    if (!isUtf8(body)) throw new ValidationError('Request body is not valid UTF-8 text.');
    if (body.length < LARGE_BODY_BYTES) return checkedStrings(parseJson(body.toString('utf8')), null);
    const { parsed, restore } = parseLargeJson(body, parseJson);
    return checkedStrings(parsed, restore);
  };

  app.addContentTypeParser('application/json', (request, payload, done) => {
    readBody(request, payload, (error, body) => {
      if (error) return done(error, undefined);
      let parsed: unknown;
      try {
        parsed = parseBody(body!);
      } catch (error) {
        return done(error as Error, undefined);
      }
      done(null, parsed); // outside the try: whatever the route does next is not a parse error
    });
  });
}

/**
 * Walks every string of the parsed body, without recursion: restores strings
 * that large-json.ts cut out (except the top-level attachments it keeps as
 * bytes), refuses raw control characters in those (the parser already did in
 * the rest), and refuses lone surrogates anywhere.
 */
function checkedStrings(root: unknown, restore: PlaceholderLookup | null): unknown {
  if (typeof root === 'string') return checkedString(root, restore, 'non_field_errors') ?? root;
  if (root === null || typeof root !== 'object') return root;
  const keptAsBytes = largeFieldsOf(root) as Record<string, Buffer> | undefined;
  // Each container with the top-level field it sits under, for error messages.
  const pending: Array<[object, string | null]> = [[root, null]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [container, field] = next;
    const values = container as Record<string, unknown>;
    for (const key in values) {
      const value = values[key];
      if (typeof value === 'string') {
        if (field === null && keptAsBytes !== undefined && Object.hasOwn(keptAsBytes, key)) continue;
        const restored = checkedString(value, restore, field ?? key);
        if (restored !== undefined) values[key] = restored;
      } else if (value !== null && typeof value === 'object') {
        pending.push([value, field ?? key]);
      }
    }
  }
  return root;
}

/** The restored value of a cut-out string (undefined for any other), after checking it. */
function checkedString(value: string, restore: PlaceholderLookup | null, field: string): string | undefined {
  const restored = restore?.(value);
  if (restored !== undefined && RAW_CONTROL.test(restored)) {
    throw ValidationError.field(field, `${field} contains a raw control character; escape it (e.g. \\n) in the JSON text.`);
  }
  if (!(restored ?? value).isWellFormed()) throw ValidationError.field(field, `${field} contains invalid Unicode (a lone surrogate).`);
  return restored;
}

type BodyCallback = (error: Error | null, body?: Buffer) => void;

/**
 * The body bytes, within the route's body limit. A large body with a known
 * length is written straight into one buffer of that length (shared memory
 * when very large, so that its parts go to the writer thread without a copy).
 */
function readBody(request: FastifyRequest, payload: IncomingMessage, done: BodyCallback): void {
  const limit = request.routeOptions.bodyLimit ?? Infinity;
  const announced = request.headers['content-length'] === undefined ? NaN : Number(request.headers['content-length']);
  if (announced > limit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
  const body = new BodyCollector(limit, announced, done);
  payload.on('data', (chunk: Buffer) => body.add(chunk));
  payload.on('end', () => body.end());
  payload.on('error', (error: Error & { statusCode?: number }) => body.fail(error, 400));
}

/** One request body as it arrives; answers `done` once. After a failure the rest of the body is ignored. */
class BodyCollector implements WatchedBody {
  readonly #limit: number;
  readonly #announced: number;
  readonly #done: BodyCallback;
  readonly #preallocated: Buffer | null;
  #chunks: Buffer[] = [];
  #received = 0;
  #settled = false;
  readonly startedAt = Date.now();
  lastChunkAt = this.startedAt;

  constructor(limit: number, announced: number, done: BodyCallback) {
    this.#limit = limit;
    this.#announced = announced;
    this.#done = done;
    this.#preallocated = announced >= LARGE_BODY_BYTES ? allocPassable(announced) : null;
    watchBody(this);
  }

  get expectedBytes(): number {
    return Number.isNaN(this.#announced) ? this.#limit : this.#announced;
  }

  add(chunk: Buffer): void {
    if (this.#settled) return;
    this.lastChunkAt = Date.now();
    const received = this.#received;
    if (received + chunk.length > this.#limit) return this.fail(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    if (this.#preallocated) {
      if (received + chunk.length > this.#announced) return this.fail(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      chunk.copy(this.#preallocated, received);
      // The socket's chunks are garbage once copied; collect them as they pile up.
      if (Math.floor((received + chunk.length) / COLLECT_EVERY_BYTES) > Math.floor(received / COLLECT_EVERY_BYTES)) releaseMemorySoon(COLLECT_EVERY_BYTES);
    } else {
      this.#chunks.push(chunk);
    }
    this.#received = received + chunk.length;
  }

  end(): void {
    if (this.#settled) return;
    if (!Number.isNaN(this.#announced) && this.#received !== this.#announced) return this.fail(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
    this.#settled = true;
    unwatchBody(this);
    this.#done(null, this.#preallocated ?? Buffer.concat(this.#chunks, this.#received));
    this.#chunks = [];
  }

  get settled(): boolean {
    return this.#settled;
  }

  fail(error: Error & { statusCode?: number }, statusCode?: number): void {
    if (this.#settled) return;
    this.#settled = true;
    unwatchBody(this);
    this.#chunks = [];
    if (statusCode !== undefined) error.statusCode ??= statusCode;
    this.#done(error);
  }
}
