/**
 * The key envelope: a PKCS#8 PEM private key sealed under a password.
 *
 * key = PBKDF2-HMAC-SHA256(password, salt[16], iterations, 32 bytes)
 * encrypted_private_key = AES-256-GCM(key, nonce[12], UTF-8(PEM)) ‖ tag[16]
 *
 * @example
 * const sealed = await sealPrivateKey(pem, 'correct horse', { iterations: 600_000 });
 * const again = await openEnvelope(sealed, 'correct horse'); // === pem
 */
import { decodeBase64, encodeBase64, utf8Decode, utf8Encode } from './codec.ts';
import type { SealedPrivateKey } from './types.ts';

export const DEFAULT_ITERATIONS = 600_000;
export const SALT_BYTES = 16;
export const NONCE_BYTES = 12;

const subtle = globalThis.crypto.subtle;

/** Fresh random bytes from the platform's CSPRNG. */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

/** Copies into a fresh ArrayBuffer-backed array, the type WebCrypto accepts. */
export function toBufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

export async function deriveEnvelopeKey(password: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const material = await subtle.importKey('raw', toBufferSource(utf8Encode(password)), 'PBKDF2', false, ['deriveKey']);
  return subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: toBufferSource(salt), iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

export interface SealOptions {
  iterations?: number;
  /** Fixed salt and nonce are for test vectors only; leave them out otherwise. */
  salt?: Uint8Array;
  nonce?: Uint8Array;
}

export async function sealPrivateKey(privateKeyPem: string, password: string, options: SealOptions = {}): Promise<SealedPrivateKey> {
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const nonce = options.nonce ?? randomBytes(NONCE_BYTES);
  const key = await deriveEnvelopeKey(password, salt, iterations);
  const sealed = await subtle.encrypt({ name: 'AES-GCM', iv: toBufferSource(nonce) }, key, toBufferSource(utf8Encode(privateKeyPem)));
  return {
    encrypted_private_key: encodeBase64(new Uint8Array(sealed)),
    private_key_nonce: encodeBase64(nonce),
    private_key_salt: encodeBase64(salt),
    private_key_iterations: iterations,
  };
}

/** Opens an envelope; rejects (WebCrypto `OperationError`) on a wrong password. */
export async function openEnvelope(envelope: SealedPrivateKey, password: string): Promise<string> {
  const key = await deriveEnvelopeKey(password, decodeBase64(envelope.private_key_salt), envelope.private_key_iterations);
  const pem = await subtle.decrypt(
    { name: 'AES-GCM', iv: toBufferSource(decodeBase64(envelope.private_key_nonce)) },
    key,
    toBufferSource(decodeBase64(envelope.encrypted_private_key)),
  );
  return utf8Decode(new Uint8Array(pem));
}
