/**
 * Typed errors: every failed call throws an `ApiError` subclass carrying the
 * server's `detail` and field `errors`, or a `NetworkError` when the server
 * could not be reached at all.
 *
 * @example
 * try { await client.login('alice', 'pw') } catch (e) { if (e instanceof AuthenticationError) … }
 */
export class SecureChatError extends Error {
  override name = 'SecureChatError';
}

export class ApiError extends SecureChatError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: Record<string, string[]> = {},
  ) {
    super(detail);
  }
}

/** 400, 413, 415: the request was refused as invalid. */
export class ValidationError extends ApiError {
  override name = 'ValidationError';
}
/** 401: not logged in, token expired or revoked, or wrong credentials. */
export class AuthenticationError extends ApiError {
  override name = 'AuthenticationError';
}
/** 403: someone else's resource. */
export class PermissionError extends ApiError {
  override name = 'PermissionError';
}
/** 404 */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
}
/** 429: retry after `retryAfterSeconds`. */
export class RateLimitError extends ApiError {
  override name = 'RateLimitError';
  constructor(detail: string, readonly retryAfterSeconds: number) {
    super(429, detail);
  }
}
/** 5xx; `retryAfterSeconds` when the server said when to come back (e.g. a 503 with Retry-After). */
export class ServerError extends ApiError {
  override name = 'ServerError';
  constructor(status: number, detail: string, errors: Record<string, string[]> = {}, readonly retryAfterSeconds: number | null = null) {
    super(status, detail, errors);
  }
}

/** The server did not answer (refused, DNS, TLS, reset). */
export class NetworkError extends SecureChatError {
  override name = 'NetworkError';
  constructor(readonly url: string, options?: { cause?: unknown }, message = `Cannot reach the SecureChat server at ${url}.`) {
    super(message, options);
  }
}

/** No complete answer within the time allowed (a `NetworkError`: whether the request took effect is unknown). */
export class TimeoutError extends NetworkError {
  override name = 'TimeoutError';
  constructor(url: string, readonly timeoutMs: number, options?: { cause?: unknown }) {
    super(url, options, `The SecureChat server at ${url} did not answer within ${timeoutMs} ms.`);
  }
}

/** The server answered with something this client refuses to use (a malformed list, an unusable key). */
export class InvalidResponseError extends SecureChatError {
  override name = 'InvalidResponseError';
}

/**
 * A public key from the server fails the SDK's checks (see public-key.ts);
 * nothing is encrypted to it. `reason` says which check, e.g. "its modulus is even".
 */
export class UnusablePublicKeyError extends InvalidResponseError {
  override name = 'UnusablePublicKeyError';
  constructor(readonly reason: string, message = `The public key is unusable: ${reason}.`) {
    super(message);
  }
}

/** A message or envelope could not be decrypted (wrong password, missing key, tampering). */
export class DecryptionError extends SecureChatError {
  override name = 'DecryptionError';
}

/** An API error of the right class for an HTTP status. */
export function apiError(status: number, body: { detail?: unknown; errors?: unknown }, retryAfter: string | null): ApiError {
  const detail = typeof body.detail === 'string' ? body.detail : `HTTP ${status}`;
  const errors = body.errors && typeof body.errors === 'object' ? (body.errors as Record<string, string[]>) : {};
  if (status === 401) return new AuthenticationError(status, detail, errors);
  if (status === 403) return new PermissionError(status, detail, errors);
  if (status === 404) return new NotFoundError(status, detail, errors);
  if (status === 429) return new RateLimitError(detail, Number(retryAfter) || 60);
  if (status >= 500) return new ServerError(status, detail, errors, retryAfterSeconds(retryAfter));
  return new ValidationError(status, detail, errors);
}

/** Retry-After as seconds from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3); null if absent or unreadable. */
function retryAfterSeconds(header: string | null): number | null {
  if (header === null || header.trim() === '') return null;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The call needs a logged-in client. */
export class NotLoggedInError extends SecureChatError {
  override name = 'NotLoggedInError';
  constructor() {
    super('Not logged in.');
  }
}
