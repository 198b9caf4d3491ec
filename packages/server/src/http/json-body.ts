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
  for (const [field, value] of Object.entries(body)) {
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
    readBody(request, payload).then(
      (body) => {
        let parsed: unknown;
        try {
          parsed = parseBody(body);
        } catch (error) {
          return done(error as Error, undefined);
        }
        done(null, parsed); // outside the try: whatever the route does next is not a parse error
      },
      (error: Error) => done(error, undefined),
    );
  });
}

/**
 * The body bytes, within the route's body limit. A large body with a known
 * length is written straight into one buffer of that length (shared memory
 * when very large, so that its parts go to the writer thread without a copy).
 */
function readBody(request: FastifyRequest, payload: IncomingMessage): Promise<Buffer> {
  const limit = request.routeOptions.bodyLimit ?? Infinity;
  const announced = request.headers['content-length'] === undefined ? NaN : Number(request.headers['content-length']);
  if (announced > limit) return Promise.reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());

  return new Promise((resolve, reject) => {
    const preallocated = announced >= LARGE_BODY_BYTES ? allocPassable(announced) : null;
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (error: Error) => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > limit) return stop(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      if (preallocated) {
        if (received + chunk.length > announced) return stop(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        chunk.copy(preallocated, received);
        // The socket's chunks are garbage once copied; collect them as they pile up.
        if (Math.floor((received + chunk.length) / COLLECT_EVERY_BYTES) > Math.floor(received / COLLECT_EVERY_BYTES)) releaseMemorySoon(COLLECT_EVERY_BYTES);
      } else {
        chunks.push(chunk);
      }
      received += chunk.length;
    };
    const onEnd = () => {
      if (!Number.isNaN(announced) && received !== announced) return stop(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      payload.removeListener('error', onError);
      resolve(preallocated ?? Buffer.concat(chunks, received));
    };
    const onError = (error: Error & { statusCode?: number }) => {
      error.statusCode ??= 400;
      stop(error);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}
