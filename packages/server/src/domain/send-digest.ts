/**
 * Idempotent send (API B10): a send may carry `client_id`, and a second send
 * with the sender's same `client_id` is the same message again (200 with the
 * original) only if its body is the same; otherwise it is a 409. "The same
 * body" is decided by a digest kept beside the message — and the database
 * holds ciphertext only, so the digest is never derived from a plaintext: a
 * hash of a short text could be confirmed by guessing it.
 *
 * - End-to-end send: SHA-256 over the recipient (lowercased) and every
 *   ciphertext field exactly as sent. Ciphertext is already public to the
 *   database, so hashing it reveals nothing.
 * - Plaintext send (the server encrypts): only what is not secret — the
 *   recipient, attachment name and type, and the byte lengths of the text and
 *   the attachment. A retry whose text changed but kept its length is
 *   therefore answered 200 with the original (docs/api-notes.md).
 *
 * Fields are length-prefixed (netstring style), so no two different bodies
 * share an encoding. One hash per send with a client_id; none without.
 *
 * @example
 * const digest = await encryptedSendDigest(request); // base64, 44 characters
 */
import { createHash, type Hash } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import { usernameKey } from '../store/username-key.ts';
import type { EncryptedSend } from './encrypted-send.ts';
import { ValidationError } from './errors.ts';

const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Refuses a client_id that is not lowercase canonical UUID text (36 characters, 8-4-4-4-12). */
export function checkClientId(clientId: string): void {
  if (!CLIENT_ID.test(clientId)) {
    throw ValidationError.field(
      'client_id',
      'client_id must be a UUID in lowercase canonical form: 36 characters, hexadecimal digits in groups of 8-4-4-4-12 joined by hyphens (e.g. "3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34").',
    );
  }
}

/**
 * The recipient as the store compares names (ASCII case only): a retry to
 * "BOB" is the send to "bob", but two imported names that differ only in
 * a non-ASCII letter's case ("Äda", "äda") are two people, never one send.
 */
function recipientKey(recipient: string): string {
  return usernameKey(recipient) ?? recipient;
}

/** Hashed between turns of the event loop: ~1 ms of SHA-256 per slice. */
const SLICE_BYTES = 1024 * 1024;

/** The digest of an end-to-end send: recipient and every ciphertext field as sent. */
export async function encryptedSendDigest(request: EncryptedSend): Promise<string> {
  const hash = createHash('sha256');
  hash.update('securechat/send/e2e/v1\n');
  text(hash, recipientKey(request.recipient));
  number(hash, request.key_id);
  number(hash, request.sender_key_id);
  text(hash, request.encrypted_symmetric_key ?? '');
  text(hash, request.sender_encrypted_symmetric_key ?? '');
  text(hash, request.encrypted_message ?? '');
  text(hash, request.message_nonce ?? '');
  const attachment = request.encrypted_attachment ?? '';
  if (typeof attachment === 'string') text(hash, attachment);
  else await bytesInSlices(hash, attachment);
  text(hash, request.attachment_nonce ?? '');
  text(hash, request.attachment_name ?? '');
  text(hash, request.attachment_mime ?? '');
  // Part B 11: only when present, so an unsigned send's digest is what it was before signatures existed.
  if (request.signature !== undefined) text(hash, request.signature);
  return hash.digest('base64');
}

/** What a plaintext send may be compared by: nothing secret (no text, no attachment content). */
export interface PlaintextShape {
  recipient: string;
  attachment_name?: string;
  attachment_mime?: string;
  /** UTF-8 bytes of the text */
  textBytes: number;
  /** decoded bytes of the attachment, 0 without one */
  attachmentBytes: number;
}

export function plaintextSendDigest(shape: PlaintextShape): string {
  const hash = createHash('sha256');
  hash.update('securechat/send/plain/v1\n');
  text(hash, recipientKey(shape.recipient));
  text(hash, shape.attachment_name ?? '');
  text(hash, shape.attachment_mime ?? '');
  number(hash, shape.textBytes);
  number(hash, shape.attachmentBytes);
  return hash.digest('base64');
}

function text(hash: Hash, value: string): void {
  hash.update(`${Buffer.byteLength(value, 'utf8')}:`);
  hash.update(value, 'utf8');
  hash.update(',');
}

/** Base64 is ASCII, so its bytes are the same whether it came as a string or (large) as bytes. */
async function bytesInSlices(hash: Hash, value: Buffer): Promise<void> {
  hash.update(`${value.length}:`);
  for (let start = 0; start < value.length; start += SLICE_BYTES) {
    if (start > 0) await setImmediate();
    hash.update(value.subarray(start, start + SLICE_BYTES));
  }
  hash.update(',');
}

/** An integer in decimal, or "~" when absent (no netstring starts with "~"). */
function number(hash: Hash, value: number | null | undefined): void {
  hash.update(value === undefined || value === null ? '~,' : `#${value},`);
}
