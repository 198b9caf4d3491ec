/**
 * The key envelope: a PKCS#8 PEM private key sealed under a password — and,
 * for Part B 11, the Ed25519 signing key (PKCS#8 DER) sealed under the same
 * derived key with its own nonce.
 *
 * key = PBKDF2-HMAC-SHA256(password, salt[16], iterations, 32 bytes)
 * encrypted_private_key = AES-256-GCM(key, nonce[12], UTF-8(PEM)) ‖ tag[16]
 * encrypted_signing_key = AES-256-GCM(key, signing_key_nonce[12], PKCS#8 DER) ‖ tag[16]
 *
 * One PBKDF2 run serves both: pass the signing key to `sealPrivateKey`, and
 * open both with `openEnvelopeKeys`.
 *
 * @example
 * const sealed = await sealPrivateKey(pem, 'correct horse', { iterations: 600_000 });
 * const again = await openEnvelope(sealed, 'correct horse'); // === pem
 *
 * const signing = await generateSigningKeyPair();
 * const both = await sealPrivateKey(pem, 'correct horse', { signingKey: signing.privateKey });
 * const { privateKeyPem, signingKey } = await openEnvelopeKeys(both, 'correct horse'); // signingKey: PKCS#8 DER
 */
import { decodeBase64, encodeBase64, utf8Decode, utf8Encode } from './codec.ts';
import type { SealedPrivateKey, SealedSigningKey } from './types.ts';

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
  /** Fixed salt and nonces are for test vectors only; leave them out otherwise. */
  salt?: Uint8Array;
  nonce?: Uint8Array;
  /** Part B 11: the Ed25519 private key (PKCS#8 DER) to seal beside the RSA key, under the same derived key. */
  signingKey?: Uint8Array;
  /** Test vectors only; must differ from `nonce` (a GCM nonce never repeats under one key). */
  signingKeyNonce?: Uint8Array;
}

/**
 * Seals the RSA private key — and, with `options.signingKey`, the signing key
 * too, under the same PBKDF2 run — into envelope fields.
 */
export async function sealPrivateKey(
  privateKeyPem: string,
  password: string,
  options: SealOptions & { signingKey: Uint8Array },
): Promise<SealedPrivateKey & SealedSigningKey>;
export async function sealPrivateKey(privateKeyPem: string, password: string, options?: SealOptions): Promise<SealedPrivateKey>;
export async function sealPrivateKey(
  privateKeyPem: string,
  password: string,
  options: SealOptions = {},
): Promise<SealedPrivateKey | (SealedPrivateKey & SealedSigningKey)> {
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const nonce = options.nonce ?? randomBytes(NONCE_BYTES);
  const key = await deriveEnvelopeKey(password, salt, iterations);
  const sealed = await subtle.encrypt({ name: 'AES-GCM', iv: toBufferSource(nonce) }, key, toBufferSource(utf8Encode(privateKeyPem)));
  const fields: SealedPrivateKey = {
    encrypted_private_key: encodeBase64(new Uint8Array(sealed)),
    private_key_nonce: encodeBase64(nonce),
    private_key_salt: encodeBase64(salt),
    private_key_iterations: iterations,
  };
  if (!options.signingKey) return fields;
  return { ...fields, ...(await sealWith(key, options.signingKey, nonce, options.signingKeyNonce)) };
}

/** Seals a signing key under an already derived envelope key, with a nonce other than `usedNonce`. */
async function sealWith(key: CryptoKey, signingKey: Uint8Array, usedNonce: Uint8Array, fixedNonce?: Uint8Array): Promise<SealedSigningKey> {
  let nonce = fixedNonce ?? randomBytes(NONCE_BYTES);
  if (sameBytes(nonce, usedNonce)) {
    if (fixedNonce) throw new Error('signingKeyNonce must differ from the private key nonce');
    nonce = randomBytes(NONCE_BYTES); // 2^-96: never in practice, but a repeat would be fatal
  }
  const sealed = await subtle.encrypt({ name: 'AES-GCM', iv: toBufferSource(nonce) }, key, toBufferSource(signingKey));
  return { encrypted_signing_key: encodeBase64(new Uint8Array(sealed)), signing_key_nonce: encodeBase64(nonce) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Opens an envelope; rejects (WebCrypto `OperationError`) on a wrong password. */
export async function openEnvelope(envelope: SealedPrivateKey, password: string): Promise<string> {
  return (await openEnvelopeKeys(envelope, password)).privateKeyPem;
}

export interface OpenedKeys {
  /** The RSA private key, PKCS#8 PEM. */
  privateKeyPem: string;
  /** The Ed25519 private key, PKCS#8 DER (`importSigningKey`); null when the envelope has none. */
  signingKey: Uint8Array | null;
}

/**
 * Opens both keys of an envelope with one PBKDF2 run; rejects
 * (`OperationError`) on a wrong password or a tampered sealed key.
 */
export async function openEnvelopeKeys(
  envelope: SealedPrivateKey & { encrypted_signing_key?: string | null; signing_key_nonce?: string | null },
  password: string,
): Promise<OpenedKeys> {
  const key = await deriveEnvelopeKey(password, decodeBase64(envelope.private_key_salt), envelope.private_key_iterations);
  const open = async (nonce: string, sealed: string) =>
    new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: toBufferSource(decodeBase64(nonce)) }, key, toBufferSource(decodeBase64(sealed))));
  const pem = utf8Decode(await open(envelope.private_key_nonce, envelope.encrypted_private_key));
  const { encrypted_signing_key: sealedSigning, signing_key_nonce: signingNonce } = envelope;
  return { privateKeyPem: pem, signingKey: sealedSigning && signingNonce ? await open(signingNonce, sealedSigning) : null };
}
