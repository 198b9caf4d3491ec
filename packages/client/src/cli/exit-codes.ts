/**
 * Exit codes scripts can rely on (also printed by `securechat --help`).
 */
import {
  ApiError, AuthenticationError, DecryptionError, NetworkError, NotFoundError, NotLoggedInError, PermissionError, RateLimitError, ServerError,
} from '../errors.ts';
import { Interrupted, NoPasswordGiven, PasswordMismatch } from './password.ts';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  rejected: 5,
  rateLimited: 6,
  unavailable: 7,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  unexpected failure
  2  usage error (unknown command, bad option, missing password)
  3  not logged in, wrong password, or token expired/revoked
  4  no such user, message or session (or not yours)
  5  the server refused the request as invalid (e.g. too large)
  6  rate limited: try again later
  7  server unreachable or failing`;

export function exitCodeOf(error: unknown): number {
  if (error instanceof AuthenticationError || error instanceof NotLoggedInError || error instanceof DecryptionError) return EXIT.auth;
  if (error instanceof NotFoundError || error instanceof PermissionError) return EXIT.notFound;
  if (error instanceof RateLimitError) return EXIT.rateLimited;
  if (error instanceof NetworkError || error instanceof ServerError) return EXIT.unavailable;
  if (error instanceof ApiError) return EXIT.rejected;
  if (error instanceof NoPasswordGiven || error instanceof PasswordMismatch || error instanceof UsageError) return EXIT.usage;
  if (error instanceof Interrupted) return 130;
  return EXIT.failure;
}

/** A mistake in how the command was called. */
export class UsageError extends Error {}

/** One line a person can act on. */
export function describeError(error: unknown): string {
  if (error instanceof RateLimitError) return `${error.detail} (retry in ${error.retryAfterSeconds} s)`;
  if (error instanceof ApiError) {
    const fields = Object.entries(error.errors)
      .filter(([, messages]) => messages.some((m) => m !== error.detail))
      .map(([field, messages]) => `\n  ${field}: ${messages.join(' ')}`)
      .join('');
    return error.detail + fields;
  }
  if (error instanceof NetworkError) return `${error.message} Is it running? (set --server or SECURECHAT_SERVER)`;
  return error instanceof Error ? error.message : String(error);
}
