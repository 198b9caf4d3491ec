/**
 * Ed25519 verification (Part B 11) with libsodium, through sodium-native's
 * `crypto_sign_verify_detached`: a `signing_public_key` is kept as its 32 raw
 * bytes, and a signature is checked over the canonical bytes the protocol
 * package builds. The one implementation for both kinds of signature: a
 * message's on every end-to-end send (domain/mail.ts) and a
 * key link's at rotation (domain/keyring.ts).
 *
 * Why libsodium and not node:crypto: on this project's 2-core Xeon a verify
 * costs libsodium 48 µs and OpenSSL 3.0 (Node 20) 81 µs with the KeyObject
 * already made (bench/RESULTS.md, "Signed sends"), and every signed send
 * pays it. libsodium is also the stricter of the two: besides S < L (both
 * check) it refuses small-order and non-canonical public keys and small-order
 * R, which only a crafted key or signature has; what an honest signer makes
 * verifies the same in both (the protocol package's vectors are checked in
 * test/ed25519.test.ts).
 *
 * @example
 * const key = ed25519PublicKey(signingPublicKey); // null unless strict base64 of 32 bytes
 * verifyEd25519(key, bytes, signatureBase64); // boolean, never throws
 */
import { createRequire } from 'node:module';
import { decodeStrictBase64 } from './base64.ts';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** The one function of sodium-native used here (a native addon with prebuilds for Linux, macOS and Windows; it loads in worker threads too). */
interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

// sodium-native is CommonJS without type declarations: required, and typed by the interface above.
const sodium = createRequire(import.meta.url)('sodium-native') as Sodium;

/** A signing public key as verification takes it: its 32 raw bytes. */
export type Ed25519PublicKey = Uint8Array;

/**
 * The raw bytes of a `signing_public_key`, or null when it is not strict
 * base64 of 32 bytes. Any 32 bytes are accepted here, as OpenSSL accepted
 * them before: a key that is no usable point simply verifies nothing.
 */
export function ed25519PublicKey(signingPublicKey: string): Ed25519PublicKey | null {
  const raw = decodeStrictBase64(signingPublicKey);
  return raw !== null && raw.length === ED25519_PUBLIC_KEY_BYTES ? raw : null;
}

/** Whether `signature` (strict base64 of 64 bytes) is `key`'s over `bytes`; false for anything malformed. */
export function verifyEd25519(key: Ed25519PublicKey | null, bytes: Uint8Array, signature: string): boolean {
  if (key === null || key.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  const sig = decodeStrictBase64(signature);
  if (sig === null || sig.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return sodium.crypto_sign_verify_detached(sig, bytes, key);
  } catch {
    return false; // sodium-native asserts its arguments' types and lengths; none of that can fail past the checks above
  }
}
