/**
 * Checks what an end-to-end client made itself (Part B4): a key pair with its
 * envelope, and an encrypted message. The server cannot verify ciphertext, so
 * it verifies shape — strict base64, nonce and salt sizes, wrapped-key length
 * equal to the key's modulus, current key versions — and stores it as given.
 */
import { decodeStrictBase64 } from '../crypto/base64.ts';
import { ed25519PublicKey, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../crypto/ed25519.ts';
import { GCM_TAG_BYTES } from '../crypto/keys.ts';
import { checkPublicKey } from './client-public-key.ts';
import { ValidationError } from './errors.ts';

export const MIN_CLIENT_ITERATIONS = 100_000;
/** The server may later run PBKDF2 over a stored envelope; keep that bounded. */
export const MAX_CLIENT_ITERATIONS = 10_000_000;
const MAX_SEALED_KEY_BYTES = 16 * 1024;
/** An Ed25519 PKCS#8 is 48 bytes (83 with its public key); room for either and then some. */
const MAX_SEALED_SIGNING_KEY_BYTES = 512;

export interface ClientEnvelope {
  encrypted_private_key: string;
  private_key_nonce: string;
  private_key_salt: string;
  private_key_iterations: number;
}

/** Part B 11: the signing key sealed beside the RSA one. */
export interface SealedSigningKey {
  encrypted_signing_key: string | null;
  signing_key_nonce: string | null;
}

/** Part B 11's fields of a key version: all null for a version without a signing key. */
export interface ClientSigningKey extends SealedSigningKey {
  signing_public_key: string | null;
  key_signature: string | null;
}

export interface ClientKeyPair extends ClientEnvelope, ClientSigningKey {
  public_key: string;
}

export const ENVELOPE_FIELDS = ['encrypted_private_key', 'private_key_nonce', 'private_key_salt', 'private_key_iterations'] as const;
export const KEY_PAIR_FIELDS = ['public_key', ...ENVELOPE_FIELDS] as const;
/** Part B 11: these three come together or not at all. */
export const SIGNING_KEY_FIELDS = ['signing_public_key', 'encrypted_signing_key', 'signing_key_nonce'] as const;

type KeyPairBody = Partial<Record<(typeof KEY_PAIR_FIELDS)[number], unknown>> &
  Partial<Record<(typeof SIGNING_KEY_FIELDS)[number] | 'key_signature', string | null>>;

/** Decoded size of a base64 field, or a 400 naming the field. */
export function base64Bytes(field: string, value: string): number {
  const bytes = decodeStrictBase64(value);
  if (!bytes) throw ValidationError.field(field, `${field} must be standard base64 with padding.`);
  return bytes.length;
}

export function requireBytes(field: string, value: string, size: number): void {
  if (base64Bytes(field, value) !== size) throw ValidationError.field(field, `${field} must be ${size} bytes.`);
}

/**
 * The client-made key pair in a register or rotate body, or null when the
 * body has none of its fields (the server then generates the keys).
 */
export function clientKeyPairOf(body: KeyPairBody): ClientKeyPair | null {
  const present = KEY_PAIR_FIELDS.filter((field) => body[field] !== undefined);
  if (present.length === 0) {
    if ([...SIGNING_KEY_FIELDS, 'key_signature' as const].some((field) => body[field] != null)) {
      throw ValidationError.field(
        'signing_public_key',
        'A signing key comes with a client-made key pair (public_key and the envelope fields): the server makes no signing keys.',
      );
    }
    return null;
  }
  const missing = KEY_PAIR_FIELDS.filter((field) => body[field] === undefined);
  if (missing.length > 0) {
    throw new ValidationError('A client-made key needs public_key and every envelope field.', Object.fromEntries(missing.map((f) => [f, ['This field is required.']])));
  }
  const signing = signingKeyOf(body);
  const { public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations } = body as ClientEnvelope & { public_key: string };
  const pair = { public_key: checkPublicKey(public_key), encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, ...signing };
  checkEnvelope(pair);
  if (pair.signing_public_key !== null) checkSealedSigningKey(pair, private_key_nonce);
  return pair;
}

/**
 * Part B 11's fields of a register or rotate body, shapes checked: the
 * signing key trio all or none (null counts as absent), key_signature only
 * with a signing key. Whether key_signature is required, and whether it
 * verifies, is the keyring's to decide (it knows the current version).
 */
function signingKeyOf(body: KeyPairBody): ClientSigningKey {
  const given = SIGNING_KEY_FIELDS.filter((field) => body[field] != null);
  const keySignature = body.key_signature ?? null;
  if (given.length === 0) {
    if (keySignature !== null) throw ValidationError.field('key_signature', 'key_signature comes with a signing_public_key: it vouches for the new signing key.');
    return { signing_public_key: null, encrypted_signing_key: null, signing_key_nonce: null, key_signature: null };
  }
  if (given.length < SIGNING_KEY_FIELDS.length) {
    const missing = SIGNING_KEY_FIELDS.filter((field) => body[field] == null);
    throw new ValidationError(
      'signing_public_key, encrypted_signing_key and signing_key_nonce come together or not at all.',
      Object.fromEntries(missing.map((f) => [f, ['This field is required with a signing key.']])),
    );
  }
  const signing_public_key = body.signing_public_key!;
  requireBytes('signing_public_key', signing_public_key, ED25519_PUBLIC_KEY_BYTES);
  if (ed25519PublicKey(signing_public_key) === null) throw ValidationError.field('signing_public_key', 'signing_public_key is not a usable Ed25519 public key.');
  if (keySignature !== null) requireBytes('key_signature', keySignature, ED25519_SIGNATURE_BYTES);
  return { signing_public_key, encrypted_signing_key: body.encrypted_signing_key!, signing_key_nonce: body.signing_key_nonce!, key_signature: keySignature };
}

/**
 * The sealed signing key of an envelope: base64 ciphertext ‖ tag, and its own
 * 12-byte nonce — never the private key's, for a GCM nonce must not repeat
 * under one key (both are sealed under the same derived key).
 */
export function checkSealedSigningKey(sealed: SealedSigningKey, privateKeyNonce: string, field = ''): void {
  const name = (f: string) => field + f;
  const bytes = base64Bytes(name('encrypted_signing_key'), sealed.encrypted_signing_key ?? '');
  if (bytes <= GCM_TAG_BYTES || bytes > MAX_SEALED_SIGNING_KEY_BYTES) {
    throw ValidationError.field(name('encrypted_signing_key'), 'encrypted_signing_key must be a sealed signing key (ciphertext ‖ 16-byte tag).');
  }
  requireBytes(name('signing_key_nonce'), sealed.signing_key_nonce ?? '', 12);
  // Strict base64 has one spelling per byte string: equal texts are equal nonces.
  if (sealed.signing_key_nonce === privateKeyNonce) {
    throw ValidationError.field(name('signing_key_nonce'), 'signing_key_nonce must differ from private_key_nonce: a GCM nonce must never repeat under one key.');
  }
}

export function checkEnvelope(envelope: ClientEnvelope, field = ''): void {
  const name = (f: string) => field + f;
  const sealed = base64Bytes(name('encrypted_private_key'), envelope.encrypted_private_key);
  if (sealed <= GCM_TAG_BYTES || sealed > MAX_SEALED_KEY_BYTES) {
    throw ValidationError.field(name('encrypted_private_key'), 'encrypted_private_key must be a sealed private key (ciphertext ‖ 16-byte tag).');
  }
  requireBytes(name('private_key_nonce'), envelope.private_key_nonce, 12);
  requireBytes(name('private_key_salt'), envelope.private_key_salt, 16);
  const rounds = envelope.private_key_iterations;
  if (!Number.isInteger(rounds) || rounds < MIN_CLIENT_ITERATIONS || rounds > MAX_CLIENT_ITERATIONS) {
    throw ValidationError.field(name('private_key_iterations'), `private_key_iterations must be from ${MIN_CLIENT_ITERATIONS} to ${MAX_CLIENT_ITERATIONS}.`);
  }
}
