/**
 * Ed25519 signing keys (Part B 11) on WebCrypto (`{ name: 'Ed25519' }`; Node
 * 20 and current browsers). Each key version of an end-to-end account has one
 * signing key pair: the public half travels as `signing_public_key` (base64 of
 * the 32 raw bytes), the private half as PKCS#8 DER sealed in the envelope
 * (envelope.ts `sealPrivateKey(pem, password, { signingKey })`).
 *
 * Signatures are deterministic (RFC 8032): the same key and bytes always give
 * the same 64 bytes, so test vectors can pin them.
 *
 * @example
 * const pair = await generateSigningKeyPair();
 * const key = await importSigningKey(pair.privateKey); // non-extractable
 * const signature = await signBytes(key, utf8Encode('hi'));
 * await verifySignature(pair.publicKey, signature, utf8Encode('hi')); // true
 * await verifySignature(pair.publicKey, 'not base64', utf8Encode('hi')); // false, never throws
 */
import { decodeBase64, encodeBase64 } from './codec.ts';
import { toBufferSource } from './envelope.ts';

export const SIGNING_PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
const ED25519 = { name: 'Ed25519' } as const;
const subtle = globalThis.crypto.subtle;

export interface SigningKeyPair {
  /** `signing_public_key`: base64 of the 32 raw public key bytes. */
  publicKey: string;
  /** PKCS#8 DER of the private key: what the envelope seals (`encrypted_signing_key`). */
  privateKey: Uint8Array;
}

/** A fresh Ed25519 key pair. */
export async function generateSigningKeyPair(): Promise<SigningKeyPair> {
  const pair = (await subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  return {
    publicKey: encodeBase64(new Uint8Array(await subtle.exportKey('raw', pair.publicKey))),
    privateKey: new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey)),
  };
}

/**
 * The private key (PKCS#8 DER, as the envelope holds it) as a CryptoKey that
 * can only sign. Non-extractable unless asked, like `importPrivateKey`: a
 * browser can keep it in IndexedDB, and no script can read it back out.
 */
export function importSigningKey(pkcs8: Uint8Array, { extractable = false } = {}): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', toBufferSource(pkcs8), ED25519, extractable, ['sign']);
}

/** The PKCS#8 DER of a signing key imported with `extractable: true` (to seal it again). */
export async function exportSigningKey(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle.exportKey('pkcs8', key));
}

/**
 * `signing_public_key` (base64 of 32 raw bytes) as a CryptoKey that can only
 * verify. Throws on anything that is not strict base64 of 32 bytes.
 */
export function importVerifyKey(signingPublicKey: string): Promise<CryptoKey> {
  const raw = decodeBase64(signingPublicKey);
  if (raw.length !== SIGNING_PUBLIC_KEY_BYTES) throw new Error(`a signing public key is ${SIGNING_PUBLIC_KEY_BYTES} bytes, not ${raw.length}`);
  return subtle.importKey('raw', toBufferSource(raw), ED25519, true, ['verify']);
}

/** The 32-byte public half of a private key, as `signing_public_key`. */
export async function signingPublicKeyOf(pkcs8: Uint8Array): Promise<string> {
  // WebCrypto has no "public from private" for Ed25519; the JWK export of the private key carries `x`.
  const key = await subtle.importKey('pkcs8', toBufferSource(pkcs8), ED25519, true, ['sign']);
  const jwk = await subtle.exportKey('jwk', key);
  return encodeBase64(decodeBase64Url(jwk.x ?? ''));
}

/** Signs `bytes`; the signature as standard base64 (64 bytes). */
export async function signBytes(key: CryptoKey, bytes: Uint8Array): Promise<string> {
  return encodeBase64(new Uint8Array(await subtle.sign(ED25519, key, toBufferSource(bytes))));
}

/**
 * Whether `signature` (base64, 64 bytes) is `signingPublicKey`'s (base64, 32
 * bytes, or an imported CryptoKey) over `bytes`. False — never an exception —
 * for anything malformed: bad base64, wrong sizes, a key WebCrypto refuses.
 */
export async function verifySignature(signingPublicKey: string | CryptoKey, signature: string, bytes: Uint8Array): Promise<boolean> {
  try {
    const sig = decodeBase64(signature);
    if (sig.length !== SIGNATURE_BYTES) return false;
    const key = typeof signingPublicKey === 'string' ? await importVerifyKey(signingPublicKey) : signingPublicKey;
    return await subtle.verify(ED25519, key, toBufferSource(sig), toBufferSource(bytes));
  } catch {
    return false;
  }
}

function decodeBase64Url(text: string): Uint8Array {
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  return decodeBase64(standard + '='.repeat((4 - (standard.length % 4)) % 4));
}
