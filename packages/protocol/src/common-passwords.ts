/**
 * The passwords attackers try first. Register and password change refuse
 * them; the server checks what it receives, and an end-to-end client checks
 * the raw password itself (the server only ever sees its login secret).
 *
 * The list is zxcvbn-ts's `passwords-common` (@zxcvbn-ts/language-common,
 * maintained, ~49,000 entries from public breach corpora), matched ignoring
 * case: `Password123` is as guessable as `password123`.
 *
 * @example
 * isCommonPassword('Password1'); // true
 * isCommonPassword('correct horse battery'); // false
 */
import { dictionary } from '@zxcvbn-ts/language-common';

let common: Set<string> | undefined;

/** Built on first use: decompressing the list costs ~50 ms and a few MiB that most processes never need. */
function commonPasswords(): Set<string> {
  common ??= new Set(dictionary['passwords-common']!.map((password) => String(password).toLowerCase()));
  return common;
}

export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}

/** The sentence shown when a password is refused for being common. */
export const COMMON_PASSWORD_DETAIL = 'This password is one of the most common passwords, which attackers try first. Choose another.';
