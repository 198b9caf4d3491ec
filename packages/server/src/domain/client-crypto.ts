/**
 * Checks what an end-to-end client made itself (Part B4): a key pair with its
 * envelope, and an encrypted message. The server cannot verify ciphertext, so
 * it verifies shape — strict base64, nonce and salt sizes, wrapped-key length
 * equal to the key's modulus, current key versions — and stores it as given.
 */
import { decodeStrictBase64 } from '../crypto/base64.ts';
import { GCM_TAG_BYTES } from '../crypto/keys.ts';
import { checkPublicKey } from './client-public-key.ts';
import { ValidationError } from './errors.ts';

export const MIN_CLIENT_ITERATIONS = 100_000;
/** The server may later run PBKDF2 over a stored envelope; keep that bounded. */
export const MAX_CLIENT_ITERATIONS = 10_000_000;
const MAX_SEALED_KEY_BYTES = 16 * 1024;

export interface ClientEnvelope {
  encrypted_private_key: string;
  private_key_nonce: string;
  private_key_salt: string;
  private_key_iterations: number;
}

export interface ClientKeyPair extends ClientEnvelope {
  public_key: string;
}

export const ENVELOPE_FIELDS = ['encrypted_private_key', 'private_key_nonce', 'private_key_salt', 'private_key_iterations'] as const;
export const KEY_PAIR_FIELDS = ['public_key', ...ENVELOPE_FIELDS] as const;

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
export function clientKeyPairOf(body: Partial<Record<(typeof KEY_PAIR_FIELDS)[number], unknown>>): ClientKeyPair | null {
  const present = KEY_PAIR_FIELDS.filter((field) => body[field] !== undefined);
  if (present.length === 0) return null;
  const missing = KEY_PAIR_FIELDS.filter((field) => body[field] === undefined);
  if (missing.length > 0) {
    throw new ValidationError('A client-made key needs public_key and every envelope field.', Object.fromEntries(missing.map((f) => [f, ['This field is required.']])));
  }
  const { public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations } = body as ClientKeyPair;
  const pair = { public_key: checkPublicKey(public_key), encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations };
  checkEnvelope(pair);
  return pair;
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
