/**
 * Every failure shown to a person is a sentence. The SDK's errors already
 * carry sentences meant for people (the server's `detail`); this adds the
 * ones it cannot know (what to do next) and never shows a bare code.
 */
import {
  ApiError, AuthenticationError, DecryptionError, NetworkError, RateLimitError, ServerError, TimeoutError, TrustError, UnusablePublicKeyError, UntrustedKeyError,
  ValidationError,
} from '@securechat/client';

export function errorSentence(error: unknown): string {
  // The SDK's sentence for a refused send ends with advice for programmers ("send again with { acceptNewKey: true }"): say it in this app's words.
  if (error instanceof UntrustedKeyError && error.sendRefused) {
    const name = error.username;
    return (
      `${name}'s key changed and nothing vouches for the new one (${error.reason}). Nothing was sent. ` +
      `Compare safety numbers with ${name}; if you are sure the new key is theirs, choose “Accept new key” and send again.`
    );
  }
  // Whole sentences from the SDK, often starting with a username (kept as it is spelled).
  if (error instanceof TrustError) return /[.!?]$/.test(error.message.trim()) ? error.message.trim() : `${error.message.trim()}.`;
  if (error instanceof TimeoutError) return 'The server did not answer in time. Check your connection and try again.';
  if (error instanceof NetworkError) return 'Cannot reach the server. Check your connection and try again.';
  if (error instanceof RateLimitError) {
    const wait = error.retryAfterSeconds;
    return `Too many attempts. Wait ${wait} ${wait === 1 ? 'second' : 'seconds'} and try again.`;
  }
  if (error instanceof ServerError) return 'The server ran into a problem. Try again in a moment.';
  if (error instanceof ValidationError) return asSentence(firstFieldError(error) ?? error.detail);
  if (error instanceof ApiError) return asSentence(error.detail);
  if (error instanceof UnusablePublicKeyError || error instanceof DecryptionError) return asSentence(error.message);
  if (error instanceof Error && error.name === 'QuotaExceededError') return 'This browser has no room left to remember this device.';
  if (error instanceof Error && error.message) return asSentence(`Something went wrong: ${error.message}`);
  return 'Something went wrong. Try again.';
}

/** A 401 on a call made with a session (not a login): the session is over. */
export function isSessionEnded(error: unknown): boolean {
  return error instanceof AuthenticationError;
}

/** The server's field sentence is more specific than its summary ("Invalid input."). */
function firstFieldError(error: ValidationError): string | null {
  for (const messages of Object.values(error.errors)) {
    const first = Array.isArray(messages) ? messages.find((m) => typeof m === 'string' && m.trim() !== '') : undefined;
    if (first) return first;
  }
  return null;
}

function asSentence(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '' || /^(HTTP )?\d{3}$/.test(trimmed)) return 'The server refused the request. Try again.';
  const capitalised = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?…]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}
