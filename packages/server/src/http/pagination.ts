/** RFC 8288 `Link: <…>; rel="next"` headers for paginated lists. */
import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../domain/errors.ts';

/**
 * The request's own path and query, with `changes` applied (undefined
 * removes a parameter), as a relative next link.
 */
export function nextLink(request: FastifyRequest, changes: Record<string, string | number | undefined>): string {
  const url = new URL(request.url, 'http://placeholder');
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) url.searchParams.delete(name);
    else url.searchParams.set(name, String(value));
  }
  return `<${url.pathname}${url.search}>; rel="next"`;
}

/** A whole number as its one spelling in digits: no sign, no leading zero, no decimal point or exponent. */
export const CANONICAL_INTEGER = /^(0|[1-9][0-9]*)$/;

/**
 * A preValidation hook refusing query parameters that the validator would
 * coerce into integers but that are not written as one: `05`, `1.0`, `+5`,
 * `1e3`. The validator then checks the range; every accepted value has one
 * spelling, so Link headers and cursors stay canonical.
 */
export function canonicalIntegers(...names: string[]) {
  return async (request: FastifyRequest): Promise<void> => {
    const query = request.query as Record<string, unknown>;
    for (const name of names) {
      const value = query[name];
      if (typeof value === 'string' && !CANONICAL_INTEGER.test(value)) {
        throw ValidationError.field(name, `${name} must be a whole number written in digits, such as 50.`);
      }
    }
  };
}
