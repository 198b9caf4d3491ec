/**
 * The passwords attackers try first. Register and password change refuse
 * them; the server checks what it receives, and an end-to-end client checks
 * the raw password itself (the server only ever sees its login secret).
 *
 * The list is zxcvbn-ts's `passwords-common` (@zxcvbn-ts/language-common,
 * maintained, ~49,000 entries from public breach corpora), matched ignoring
 * case: `Password123` is as guessable as `password123`.
 *
 * Only entries of at least MIN_PASSWORD_LENGTH characters are kept: every
 * shorter password is refused by the length rule before this list matters
 * (~18,000 of the ~49,000). The list is imported lazily, so a web bundle
 * (Vite) splits it into its own chunk, fetched only when someone chooses a
 * password, and the web build ships only those entries (see
 * packages/web/scripts/common-passwords-plugin.ts).
 *
 * @example
 * await isCommonPassword('Password1'); // true
 * await isCommonPassword('correct horse battery'); // false
 */
/** The shortest password any SecureChat side accepts (code points), the same rule as the server's schema. */
export const MIN_PASSWORD_LENGTH = 8;

let common: Promise<Set<string>> | undefined;

/** The entries that can matter: lower-cased, at least MIN_PASSWORD_LENGTH code points. */
export function longCommonPasswords(list: readonly unknown[]): string[] {
  return list.map((password) => String(password).toLowerCase()).filter((password) => [...password].length >= MIN_PASSWORD_LENGTH);
}

function commonPasswords(): Promise<Set<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(longCommonPasswords(dictionary['passwords-common']!)));
  return common;
}

export async function isCommonPassword(password: string): Promise<boolean> {
  return (await commonPasswords()).has(password.toLowerCase());
}

/** The sentence shown when a password is refused for being common. */
export const COMMON_PASSWORD_DETAIL = 'This password is one of the most common passwords, which attackers try first. Choose another.';
