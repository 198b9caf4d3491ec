/**
 * The only body parser: JSON. An empty body is "no body" (so bodiless POSTs
 * such as logout work from any client); other content types get 415.
 *
 * Top-level strings must be well-formed Unicode: a lone surrogate would be
 * silently replaced by U+FFFD when encoded as UTF-8, changing a password or
 * a message without telling its author.
 *
 * Bodies of LARGE_BODY_BYTES and more (attachments) are read into one buffer
 * of their announced length and parsed by large-json.ts, which keeps big
 * base64 values as bytes instead of JavaScript strings: a 25 MiB attachment
 * would otherwise be held four times over (chunks, joined buffer, body text,
 * parsed string) before any work on it starts.
 */
import { errorCodes, type FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { ValidationError } from '../domain/errors.ts';
import type { App } from './context.ts';
import { LARGE_BODY_BYTES, parseLargeJson } from './large-json.ts';
import { releaseMemorySoon } from '../release-memory.ts';
import { allocPassable } from '../shared-buffer.ts';

type JsonParser = (text: string) => unknown;

const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;

function assertWellFormedStrings(body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  for (const field in body) {
    const value = (body as Record<string, unknown>)[field];
    if (typeof value === 'string' && !value.isWellFormed()) {
      throw ValidationError.field(field, `${field} contains invalid Unicode (a lone surrogate).`);
    }
  }
}

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
    const parsed = body.length >= LARGE_BODY_BYTES ? parseLargeJson(body, parseJson) : parseJson(body.toString('utf8'));
    assertWellFormedStrings(parsed);
    return parsed;
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
  // Inline listeners: tsx names every closure bound to a variable, at ~1 µs each, and this runs for every request.
  payload.on('data', (chunk: Buffer) => body.add(chunk));
  payload.on('end', () => body.end());
  payload.on('error', (error: Error & { statusCode?: number }) => body.fail(error, 400));
}

/** One request body as it arrives; answers `done` once. After a failure the rest of the body is ignored. */
class BodyCollector {
  readonly #limit: number;
  readonly #announced: number;
  readonly #done: BodyCallback;
  readonly #preallocated: Buffer | null;
  #chunks: Buffer[] = [];
  #received = 0;
  #settled = false;

  constructor(limit: number, announced: number, done: BodyCallback) {
    this.#limit = limit;
    this.#announced = announced;
    this.#done = done;
    this.#preallocated = announced >= LARGE_BODY_BYTES ? allocPassable(announced) : null;
  }

  add(chunk: Buffer): void {
    if (this.#settled) return;
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
    this.#done(null, this.#preallocated ?? Buffer.concat(this.#chunks, this.#received));
    this.#chunks = [];
  }

  fail(error: Error & { statusCode?: number }, statusCode?: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#chunks = [];
    if (statusCode !== undefined) error.statusCode ??= statusCode;
    this.#done(error);
  }
}
