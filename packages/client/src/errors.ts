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

/**
 * The keys this call needs are not in memory: log in, or `unlock` with the
 * password (e.g. a device resumed without its signing keys, before a send).
 */
export class KeysLockedError extends DecryptionError {
  override name = 'KeysLockedError';
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

/**
 * The SDK refuses to act on a key it cannot trust (API.md B 11): see
 * `UntrustedKeyError` and `NoSigningKeyError`.
 */
export class TrustError extends SecureChatError {
  override name = 'TrustError';
}

/**
 * A contact's current key is not vouched for by the key chain from the key
 * pinned for them (`keyChange: "unverified"`): the server, or someone with its
 * database, may have replaced it. Nothing was encrypted to it. Compare safety
 * numbers with the contact (`client.safetyNumber`) and, if you are sure,
 * send again with `{ acceptNewKey: true }` (or call `client.acceptKey`).
 *
 * @example
 * try { await client.send('bob', { text }) }
 * catch (e) { if (e instanceof UntrustedKeyError) showBanner(e.message) }
 */
export class UntrustedKeyError extends TrustError {
  override name = 'UntrustedKeyError';
  /** True when a send was refused (the default sentence); false for other refusals, e.g. `markVerified`. */
  readonly sendRefused: boolean;
  constructor(
    readonly username: string,
    /** Why, as a sentence fragment: e.g. "bob's key version 3 carries a key signature that does not verify". */
    readonly reason: string,
    message?: string,
  ) {
    super(
      message ??
        `${username}'s key changed and nothing vouches for the new one (${reason}). Nothing was sent. ` +
          `Compare safety numbers with ${username}; if you trust the new key, send again with { acceptNewKey: true }.`,
    );
    this.sendRefused = message === undefined;
  }
}

/** No safety number can be made: the contact (or you) has no signing key yet — a server-mode account, or one from before signatures. */
export class NoSigningKeyError extends TrustError {
  override name = 'NoSigningKeyError';
  constructor(readonly username: string, message: string) {
    super(message);
  }
}
