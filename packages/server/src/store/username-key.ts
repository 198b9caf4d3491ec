/**
 * The form in which usernames are compared: ASCII letters lowercased, every
 * other character kept exactly as it is. Registered names are ASCII only
 * (`isRegistrableName`, and the HTTP schema before it), so for them this is
 * plain case-insensitivity.
 *
 * Names the original backend let through (any Unicode: `npm run
 * import-original`) keep their non-ASCII characters in the key, which
 * decides three things at once:
 *
 * - such a name can never collide with, or find, an ASCII name: its key
 *   still holds a non-ASCII character, and every ASCII name's key holds none.
 *   "\u212Aate" (Kelvin sign) stays "\u212Aate" and never becomes "kate", as
 *   String.prototype.toLowerCase would make it; "аlice" (Cyrillic а) is not
 *   "alice";
 * - it is found by its exact name (and by the name with other ASCII letters
 *   in another case, like every name), so the account logs in, is listed,
 *   and its public key is served by the name the original gave it;
 * - no Unicode folding or normalisation is applied: "Zoë" (NFC) and "Zoë"
 *   (NFD) are different names, as they were in the original. A look-alike
 *   imported name is listed in the import's report, and clients print names
 *   made terminal-safe (packages/client/src/cli/terminal-text.ts).
 *
 * A name containing U+0000 has no key (null): no registered or imported
 * name holds it, and PostgreSQL text cannot.
 */
const ASCII = /^[\x00-\x7f]*$/;
const ASCII_UPPER = /[A-Z]+/g;

export function usernameKey(username: string): string | null {
  if (username.includes('\0')) return null;
  return username.replace(ASCII_UPPER, (letters) => letters.toLowerCase());
}

/** Whether a new registration may hold this name in the store: ASCII only (the HTTP schema checks the full rule). */
export function isRegistrableName(username: string): boolean {
  return ASCII.test(username) && !username.includes('\0');
}

/**
 * The upper bound of a prefix search (`key >= prefix AND key < prefix + PREFIX_END`)
 * on a bytewise-ordered index (SQLite BINARY, PostgreSQL COLLATE "C", both on
 * UTF-8): U+10FFFF, the last code point, so names that go on with a non-ASCII
 * character are found too. Only a name continuing with U+10FFFF itself (a
 * noncharacter) is missed.
 */
export const PREFIX_END = '\u{10FFFF}';
