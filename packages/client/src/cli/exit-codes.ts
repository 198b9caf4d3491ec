/**
 * Exit codes scripts can rely on (also printed by `securechat --help`).
 */
import {
  ApiError, AuthenticationError, DecryptionError, InvalidResponseError, NetworkError, NotFoundError, NotLoggedInError, PermissionError, RateLimitError,
  ServerError, TrustError, UntrustedKeyError,
} from '../errors.ts';
import { Interrupted, NoPasswordGiven, PasswordMismatch } from './password.ts';
import { terminalLine } from './terminal-text.ts';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  rejected: 5,
  rateLimited: 6,
  unavailable: 7,
  untrusted: 8,
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
  7  server unreachable or failing, or it sent what this client refuses
     (an unusable public key, a message that cannot be decrypted)
  8  a key cannot be trusted: the recipient's key changed without a chain
     vouching for it (nothing sent; see send --accept-new-key), or there is
     no signing key for a safety number`;

export function exitCodeOf(error: unknown): number {
  if (error instanceof AuthenticationError || error instanceof NotLoggedInError || error instanceof DecryptionError) return EXIT.auth;
  if (error instanceof NotFoundError || error instanceof PermissionError) return EXIT.notFound;
  if (error instanceof RateLimitError) return EXIT.rateLimited;
  if (error instanceof NetworkError || error instanceof ServerError || error instanceof InvalidResponseError) return EXIT.unavailable;
  if (error instanceof ApiError) return EXIT.rejected;
  if (error instanceof NoPasswordGiven || error instanceof PasswordMismatch || error instanceof UsageError) return EXIT.usage;
  if (error instanceof TrustError) return EXIT.untrusted;
  if (error instanceof Interrupted) return 130;
  return EXIT.failure;
}

/** A mistake in how the command was called. */
export class UsageError extends Error {}

/** One line a person can act on (then one per field error); the server's words are made terminal-safe. */
export function describeError(error: unknown): string {
  if (error instanceof RateLimitError) return `${terminalLine(error.detail)} (retry in ${error.retryAfterSeconds} s)`;
  if (error instanceof ApiError) {
    const fields = Object.entries(error.errors)
      .filter(([, messages]) => Array.isArray(messages) && messages.some((m) => m !== error.detail))
      .map(([field, messages]) => `\n  ${terminalLine(field)}: ${messages.map(terminalLine).join(' ')}`)
      .join('');
    return terminalLine(error.detail) + fields;
  }
  if (error instanceof NetworkError) return `${terminalLine(error.message)} Is it running? (set --server or SECURECHAT_SERVER)`;
  if (error instanceof UntrustedKeyError && error.sendRefused) {
    const who = terminalLine(error.username);
    return (
      `${who}'s key changed and nothing vouches for the new one (${terminalLine(error.reason)}). Nothing was sent. ` +
      `Compare safety numbers with ${who} (securechat verify ${who}); if you trust the new key, send again with --accept-new-key.`
    );
  }
  return terminalLine(error instanceof Error ? error.message : String(error));
}
