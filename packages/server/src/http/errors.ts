/**
 * The one error path: every failure becomes `{"detail", "errors"?}` with the
 * status API.md gives it. Client mistakes are 4xx; anything unexpected is
 * logged (without the request body) and answered with a bare 500 sentence.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.ts';
import { lingerThenClose } from './linger.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

interface Reply {
  status: number;
  detail: string;
  errors?: Record<string, string[]>;
}

/** Fastify's own client-error codes → our sentences. */
const FASTIFY_ERRORS: Record<string, Reply> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, detail: 'Request body must be JSON (Content-Type: application/json).' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, detail: 'Content-Length does not match the body.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, detail: 'Request body is larger than the configured limit.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, detail: 'Request body is empty; a JSON object is required.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, detail: 'Request body is not valid JSON.' },
};

type ValidationIssue = NonNullable<FastifyError['validation']>[number];

/** `/username` or a missing property → the field name clients know. */
function fieldOf(issue: ValidationIssue, part: string | undefined): string {
  const missing = issue.keyword === 'required' ? (issue.params as { missingProperty?: string }).missingProperty : undefined;
  const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  return missing ?? (path || (part === 'body' ? 'non_field_errors' : (part ?? 'request')));
}

function validationReply(error: FastifyError): Reply {
  const errors: Record<string, string[]> = {};
  for (const issue of error.validation ?? []) {
    const field = fieldOf(issue, error.validationContext);
    const message = issue.keyword === 'required' ? 'This field is required.' : (issue.message ?? 'is invalid');
    (errors[field] ??= []).push(message);
  }
  const first = Object.entries(errors)[0];
  const detail =
    error.validationContext === 'body' && first?.[0] === 'non_field_errors'
      ? 'Request body must be a JSON object.'
      : first
        ? `Invalid ${first[0]}: ${first[1][0]}`
        : 'Invalid request.';
  return { status: 400, detail, errors };
}

function toReply(error: FastifyError | AppError | Error): Reply | null {
  if (error instanceof AppError) return { status: error.statusCode, detail: error.detail, errors: error.fieldErrors };
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return validationReply(fastifyError);
  const known = fastifyError.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (known) return known;
  // Other client errors raised by Fastify or a plugin (e.g. proto poisoning): keep the 4xx.
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) return { status, detail: fastifyError.message || 'Bad request.' };
  return null;
}

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // Refused before its body was read (413, 401, 503, 408…): read on briefly, dropping it, then close —
  // rather than Fastify's immediate close, which can reset the connection before the client reads this answer.
  if (!request.raw.complete) {
    reply.removeHeader('connection');
    lingerThenClose(request.raw, reply.raw);
  }
  const answer = toReply(error);
  if (!answer) {
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send({ detail: 'Internal server error.' });
  }
  const retryAfter = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  const body = answer.errors ? { detail: answer.detail, errors: answer.errors } : { detail: answer.detail };
  return reply.code(answer.status).send(body);
}

export function notFoundHandler(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ detail: 'Not found.' });
}

/**
 * Errors Fastify raises while routing, before any hook runs: a path that is
 * not valid percent-encoding, or a path parameter too long to be a username
 * or an id. Answered like every other error, with the headers every answer
 * carries (their hook has not run yet).
 */
export function urlErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(SECURITY_HEADERS);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.code(404).send({ detail: 'Not found: a part of this path is longer than any username or id.' });
  } else if (error.code === 'FST_ERR_BAD_URL') {
    reply.code(400).send({ detail: 'The path is not valid percent-encoded UTF-8.' });
  } else {
    reply.code(400).send({ detail: 'Bad request.' });
  }
}
