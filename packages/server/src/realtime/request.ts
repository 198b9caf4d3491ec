/**
 * What both realtime endpoints read from the request: the resume cursor and
 * the refusal of tokens in URLs (they would land in access logs and proxies).
 */
import { CANONICAL_INTEGER } from '../http/pagination.ts';

/** Query parameters that would carry a token: never accepted, even beside a valid header. */
const TOKEN_PARAMETER = /token|auth|bearer|session|key/i;
/** A value shaped like a token (64 hex characters), whatever its parameter's name. */
const TOKEN_VALUE = /^[0-9a-f]{64}$/i;

/** True when the URL's query string carries something that looks like a token. */
export function tokenInUrl(url: string): boolean {
  const at = url.indexOf('?');
  if (at < 0) return false;
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
    if (TOKEN_PARAMETER.test(name) || TOKEN_VALUE.test(value.trim())) return true;
  }
  return false;
}

/** The `after_id` query parameter of a URL: undefined when absent, null when not a valid cursor. */
export function afterIdOfUrl(url: string): number | undefined | null {
  const at = url.indexOf('?');
  if (at < 0) return undefined;
  const values = new URLSearchParams(url.slice(at + 1)).getAll('after_id');
  if (values.length === 0) return undefined;
  if (values.length > 1) return null;
  return parseCursor(values[0]!);
}

/** A message-id cursor: a non-negative integer (0 = from the beginning), as text or a JSON number; else null. */
export function parseCursor(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string' || !CANONICAL_INTEGER.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}
