/**
 * The passwords attackers try first. Register and password change refuse
 * them; the server checks what it receives, and an end-to-end client checks
 * the raw password itself (the server only ever sees its login secret).
 *
 * The list is zxcvbn-ts's `passwords-common` (@zxcvbn-ts/language-common,
 * maintained, ~49,000 entries from public breach corpora), matched ignoring
 * case: `Password123` is as guessable as `password123`.
 *
 * It is imported lazily: ~370 KB that most processes never need, and that a
 * web bundle (Vite) splits into its own chunk, fetched only when someone
 * chooses a password.
 *
 * @example
 * await isCommonPassword('Password1'); // true
 * await isCommonPassword('correct horse battery'); // false
 */
let common: Promise<Set<string>> | undefined;

function commonPasswords(): Promise<Set<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) => new Set(dictionary['passwords-common']!.map((password) => String(password).toLowerCase())),
  );
  return common;
}

export async function isCommonPassword(password: string): Promise<boolean> {
  return (await commonPasswords()).has(password.toLowerCase());
}

/** The sentence shown when a password is refused for being common. */
export const COMMON_PASSWORD_DETAIL = 'This password is one of the most common passwords, which attackers try first. Choose another.';
