/** RFC 8288 `Link: <…>; rel="next"` headers for paginated lists. */
import type { FastifyRequest } from 'fastify';

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
