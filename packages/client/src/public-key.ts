/**
 * Public keys from the server, checked before the SDK encrypts to them: the
 * server may be hostile or buggy, and a key it accepted proves nothing.
 *
 * Accepted: exactly one PEM `PUBLIC KEY` block (whitespace around it only),
 * whose DER is an RSA SubjectPublicKeyInfo in its one canonical encoding,
 * 2048–8192 bits, exponent 65537, an odd modulus without small factors.
 * The numbers are read from WebCrypto's own JWK export of the imported key.
 *
 * @example
 * const key = await parsePublicKey(entry.public_key); // throws UnusablePublicKeyError
 */
import { Base64Error, decodeBase64, toBufferSource } from '@securechat/protocol';
import { UnusablePublicKeyError } from './errors.ts';

const RSA_OAEP = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;
const MIN_BITS = 2048;
const MAX_BITS = 8192;
const PEM = /^\s*-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/;

/** The SPKI DER of a PEM holding exactly one `PUBLIC KEY` block and nothing else. */
export function publicKeyDer(pem: unknown): Uint8Array {
  const match = typeof pem === 'string' ? PEM.exec(pem) : null;
  if (!match) throw new UnusablePublicKeyError('it is not exactly one PEM PUBLIC KEY block');
  try {
    return decodeBase64(match[1]!.replace(/[\r\n]/g, ''));
  } catch (error) {
    if (error instanceof Base64Error) throw new UnusablePublicKeyError('its PEM body is not valid base64');
    throw error;
  }
}

/** Imports a server-supplied public key for RSA-OAEP after every check above; throws `UnusablePublicKeyError`. */
export async function parsePublicKey(pem: unknown): Promise<CryptoKey> {
  const der = publicKeyDer(pem);
  const subtle = globalThis.crypto.subtle;
  let key: CryptoKey;
  try {
    key = await subtle.importKey('spki', toBufferSource(der), RSA_OAEP, true, ['encrypt']);
  } catch {
    throw new UnusablePublicKeyError('it is not an RSA SubjectPublicKeyInfo');
  }
  // Trailing bytes or a non-canonical encoding would let two parsers read two different keys.
  const canonical = new Uint8Array(await subtle.exportKey('spki', key));
  if (!sameBytes(canonical, der)) throw new UnusablePublicKeyError('its DER encoding is not canonical');
  const { n, e } = await subtle.exportKey('jwk', key);
  if (e !== 'AQAB') throw new UnusablePublicKeyError('its public exponent is not 65537');
  const modulus = base64UrlToBigInt(n ?? '');
  const bits = modulus.toString(2).length;
  if (bits < MIN_BITS || bits > MAX_BITS) throw new UnusablePublicKeyError(`its modulus has ${bits} bits, not ${MIN_BITS} to ${MAX_BITS}`);
  if (modulus % 2n === 0n) throw new UnusablePublicKeyError('its modulus is even');
  // Not a primality test: a real modulus is two large primes, so any small factor (e.g. in 2^2048−1) is a forgery.
  if (SMALL_PRIMES.some((p) => modulus % p === 0n)) throw new UnusablePublicKeyError('its modulus has a small factor');
  return key;
}

/** Null when the key passes `parsePublicKey`, otherwise the reason it does not. */
export async function publicKeyProblem(pem: unknown): Promise<string | null> {
  try {
    await parsePublicKey(pem);
    return null;
  } catch (error) {
    if (error instanceof UnusablePublicKeyError) return error.reason;
    throw error;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function base64UrlToBigInt(text: string): bigint {
  const bytes = decodeBase64(text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '='));
  return bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

const SMALL_PRIMES: bigint[] = [];
for (let candidate = 3; candidate < 1000; candidate += 2) {
  if (SMALL_PRIMES.every((p) => BigInt(candidate) % p !== 0n)) SMALL_PRIMES.push(BigInt(candidate));
}

/**
 * A public key's fingerprint for people to compare: SHA-256 of its SPKI DER,
 * hex in groups of four (`3f2a 91c0 …`, 16 groups).
 */
export async function fingerprint(pem: string): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', toBufferSource(publicKeyDer(pem))));
  const hex = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g)!.join(' ');
}
