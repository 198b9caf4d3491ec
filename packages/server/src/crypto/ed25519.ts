/**
 * Ed25519 verification on node:crypto (Part B 11): a `signing_public_key`
 * (base64 of the 32 raw bytes) becomes a KeyObject through its JWK form, and
 * a signature is checked over the canonical bytes the protocol package
 * builds. Used on the event loop for key links (rotation is rare) and on the
 * cipher-pool threads for message signatures (cipher-pool.ts).
 *
 * @example
 * const key = ed25519PublicKey(signingPublicKey); // null if not 32 bytes of strict base64
 * verifyEd25519(key, bytes, signatureBase64); // boolean, never throws
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { decodeStrictBase64 } from './base64.ts';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** The KeyObject of a `signing_public_key`, or null when it is not strict base64 of 32 bytes or OpenSSL refuses it. */
export function ed25519PublicKey(signingPublicKey: string): KeyObject | null {
  const raw = decodeStrictBase64(signingPublicKey);
  if (!raw || raw.length !== ED25519_PUBLIC_KEY_BYTES) return null;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return null;
  }
}

/** Whether `signature` (strict base64 of 64 bytes) is `key`'s over `bytes`; false for anything malformed. */
export function verifyEd25519(key: KeyObject | null, bytes: Uint8Array, signature: string): boolean {
  if (key === null) return false;
  const sig = decodeStrictBase64(signature);
  if (!sig || sig.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return verify(null, bytes, key, sig);
  } catch {
    return false;
  }
}
