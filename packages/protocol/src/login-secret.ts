/**
 * The zero-knowledge login secret (Part B4). An end-to-end client sends this
 * instead of its password, so the server never holds what opens the envelopes:
 *
 *   base64(PBKDF2-HMAC-SHA256(password, UTF-8("securechat/login/" + lowercase(username)), 600000, 32))
 *
 * @example
 * await deriveLoginSecret('Alice', 'correct horse') // 44-character base64
 */
import { encodeBase64, utf8Encode } from './codec.ts';
import { toBufferSource } from './envelope.ts';

export const LOGIN_SECRET_ITERATIONS = 600_000;
const SALT_PREFIX = 'securechat/login/';

export async function deriveLoginSecret(username: string, password: string): Promise<string> {
  const subtle = globalThis.crypto.subtle;
  const material = await subtle.importKey('raw', toBufferSource(utf8Encode(password)), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: toBufferSource(utf8Encode(SALT_PREFIX + username.toLowerCase())), iterations: LOGIN_SECRET_ITERATIONS },
    material,
    256,
  );
  return encodeBase64(new Uint8Array(bits));
}
