/**
 * The rule for a public key a client made (register and rotate, Part B4).
 * Clients and the server must read the same key from the same text, and a
 * send to it must work, so only one shape is accepted: exactly one PEM
 * `PUBLIC KEY` block (whitespace around it only) whose DER is an RSA
 * SubjectPublicKeyInfo in its canonical encoding; a modulus of 2048–8192
 * bits with its top bit set, odd and without small factors; exponent 65537.
 * The numbers come from node:crypto's JWK export of the parsed key. The SDK
 * applies the same rule to keys the server hands out (client/src/public-key.ts).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeStrictBase64 } from '../crypto/base64.ts';
import { canWrapFor } from '../crypto/hybrid.ts';
import { ValidationError } from './errors.ts';

const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;
const PEM = /^\s*-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/;

/** The key in canonical form (node's SPKI PEM export), which is what gets stored; or a 400 on `public_key` saying why not. */
export function checkPublicKey(text: string): string {
  const invalid = (why: string) => ValidationError.field('public_key', `public_key ${why}`);
  const body = PEM.exec(text)?.[1];
  if (body === undefined) throw invalid('must be exactly one PEM SubjectPublicKeyInfo block ("BEGIN PUBLIC KEY") with nothing around it but whitespace.');
  const der = decodeStrictBase64(body.replace(/[\r\n]/g, ''));
  if (!der) throw invalid('must have a standard base64 PEM body.');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    throw invalid('is not a valid SubjectPublicKeyInfo.');
  }
  if (key.asymmetricKeyType !== 'rsa') throw invalid(`must be an RSA (rsaEncryption) key, not ${key.asymmetricKeyType?.toUpperCase() ?? 'this type'}.`);
  // Trailing bytes or another encoding of the same key would let two parsers read two different keys.
  if (!key.export({ type: 'spki', format: 'der' }).equals(der)) throw invalid('must be DER-encoded exactly, with no extra bytes.');

  const { n = '', e } = key.export({ format: 'jwk' });
  if (e !== 'AQAB') throw invalid('must use the public exponent 65537.');
  const modulus = Buffer.from(n, 'base64url');
  const bits = modulus.length * 8;
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS || (modulus[0]! & 0x80) === 0) {
    throw invalid(`must have a modulus of ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, a whole number of bytes with the top bit set (got ${key.asymmetricKeyDetails?.modulusLength ?? 0} bits).`);
  }
  if ((modulus.at(-1)! & 1) === 0) throw invalid('must have an odd modulus.');
  // Not a primality test: a real modulus is the product of two large primes, so a small factor (2^2048−1 has 3) means a forgery.
  if (hasSmallFactor(BigInt(`0x${modulus.toString('hex')}`))) throw invalid('must have a modulus without small factors.');
  if (!canWrapFor(key)) throw invalid('cannot be used for RSA-OAEP encryption.');
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

const SMALL_PRIMES: bigint[] = [];
for (let candidate = 3n; candidate < 1000n; candidate += 2n) {
  if (SMALL_PRIMES.every((p) => candidate % p !== 0n)) SMALL_PRIMES.push(candidate);
}

function hasSmallFactor(modulus: bigint): boolean {
  return SMALL_PRIMES.some((p) => modulus % p === 0n);
}
