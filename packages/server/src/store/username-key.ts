/**
 * The form in which usernames are compared: ASCII letters lowercased, nothing
 * else. String.prototype.toLowerCase also folds some non-ASCII letters into
 * ASCII (the Kelvin sign U+212A becomes "k"), which would let "\u212Aate" find
 * "kate" although no registered name can hold it. Registered names are ASCII,
 * so a name with any other character has no key: it names nobody.
 */
const ASCII = /^[\x00-\x7f]*$/;

export function usernameKey(username: string): string | null {
  return ASCII.test(username) ? username.toLowerCase() : null;
}
