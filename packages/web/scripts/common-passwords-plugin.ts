/**
 * The web build's common-password list: the same zxcvbn-ts list the server
 * uses, cut at build time to the entries that can matter (8+ characters,
 * lower-cased, sorted so gzip finds the shared prefixes): ~63 KiB gzip
 * instead of ~213 KiB, fetched only when someone chooses a password.
 */
import { dictionary } from '@zxcvbn-ts/language-common';
import type { Plugin } from 'vite';
import { longCommonPasswords } from '../../protocol/src/common-passwords.ts';

const PACKAGE = '@zxcvbn-ts/language-common';
const MODULE_ID = '\0common-passwords';

export function commonPasswords(): Plugin {
  return {
    name: 'securechat-common-passwords',
    enforce: 'pre',
    resolveId: (source) => (source === PACKAGE ? MODULE_ID : null),
    load(id) {
      if (id !== MODULE_ID) return null;
      const list = longCommonPasswords(dictionary['passwords-common']!).sort();
      return `export const dictionary = { 'passwords-common': ${JSON.stringify(list)} };`;
    },
  };
}
