/**
 * The end-to-end send (Part B4): the client encrypted the message itself.
 * This module checks its shape against the keys the server knows; it never
 * sees a plaintext or a message key.
 */
import { EMPTY_SHA256, type CiphertextDigests } from '@securechat/protocol';
import { createHash } from 'node:crypto';
import { decodedLengthOfBytes, decodeStrictBase64, decodeStrictBase64InSlices } from '../crypto/base64.ts';
import { GCM_TAG_BYTES } from '../crypto/keys.ts';
import { base64Bytes, requireBytes } from './client-crypto.ts';
import { PayloadTooLarge, ValidationError } from './errors.ts';

export interface EncryptedSend {
  recipient: string;
  key_id?: number;
  encrypted_symmetric_key?: string;
  sender_encrypted_symmetric_key?: string;
  sender_key_id?: number | null;
  encrypted_message?: string;
  message_nonce?: string;
  /** a large one as its ASCII bytes (http/large-json.ts) */
  encrypted_attachment?: string | Buffer;
  attachment_nonce?: string;
  attachment_name?: string;
  attachment_mime?: string;
  /** Part B 11: the sender's Ed25519 signature over messageSigningBytes (base64, 64 bytes). */
  signature?: string;
}

export const CIPHERTEXT_FIELDS = [
  'key_id', 'encrypted_symmetric_key', 'sender_encrypted_symmetric_key', 'sender_key_id',
  'encrypted_message', 'message_nonce', 'encrypted_attachment', 'attachment_nonce',
] as const;

export interface KnownKey {
  keyId: number;
  /** RSA modulus length in bytes: the exact size of a key wrapped for it. */
  wrappedKeyBytes: number;
}

/** Fields to store, all checked; absent parts are "" and sender_key_id null. */
export interface CheckedCiphertext {
  key_id: number;
  encrypted_symmetric_key: string;
  sender_encrypted_symmetric_key: string;
  sender_key_id: number | null;
  encrypted_message: string;
  message_nonce: string;
  encrypted_attachment: string | Buffer;
  attachment_nonce: string;
}

interface CheckedPart {
  /** plaintext bytes: the ciphertext less its tag */
  bytes: number;
  /** base64(SHA-256(decoded ciphertext)) when asked for (Part B 11's hash line), else "" */
  sha256: string;
}

/** A GCM ciphertext and its nonce: both present or both absent. With `digest`, also its hash line (decoded once, for both). */
async function checkPart(field: string, ciphertext: string | Buffer, nonceField: string, nonce: string, digest: boolean): Promise<CheckedPart> {
  if (ciphertext.length === 0 && nonce === '') return { bytes: 0, sha256: EMPTY_SHA256 };
  if (ciphertext.length === 0 || nonce === '') throw ValidationError.field(ciphertext.length === 0 ? field : nonceField, `${field} and ${nonceField} go together.`);
  requireBytes(nonceField, nonce, 12);
  const checked = typeof ciphertext === 'string' ? smallPart(field, ciphertext, digest) : await largePart(field, ciphertext, digest);
  if (checked.bytes < GCM_TAG_BYTES) throw ValidationError.field(field, `${field} must be AES-GCM ciphertext ‖ 16-byte tag.`);
  return { bytes: checked.bytes - GCM_TAG_BYTES, sha256: checked.sha256 };
}

function smallPart(field: string, text: string, digest: boolean): CheckedPart {
  if (!digest) return { bytes: base64Bytes(field, text), sha256: '' };
  const decoded = decodeStrictBase64(text);
  if (!decoded) throw notBase64(field);
  return { bytes: decoded.length, sha256: createHash('sha256').update(decoded).digest('base64') };
}

/** A large value is checked (and hashed) a slice at a time, so the event loop is never blocked for long. */
async function largePart(field: string, text: Buffer, digest: boolean): Promise<CheckedPart> {
  const hash = digest ? createHash('sha256') : null;
  if (!(await decodeStrictBase64InSlices(text, (bytes) => hash?.update(bytes)))) throw notBase64(field);
  return { bytes: decodedLengthOfBytes(text), sha256: hash?.digest('base64') ?? '' };
}

function notBase64(field: string): ValidationError {
  return ValidationError.field(field, `${field} must be standard base64 with padding.`);
}

/**
 * Checks an end-to-end send's shape against the current keys. With
 * `options.digests` (a signed send, Part B 11) it also returns the two hash
 * lines the signature covers, computed in the same pass that decodes them.
 */
export async function checkEncryptedSend(
  request: EncryptedSend,
  keys: { recipient: KnownKey; sender: KnownKey },
  maxAttachmentBytes: number,
  options: { digests?: boolean } = {},
): Promise<CheckedCiphertext & { digests: CiphertextDigests | null }> {
  if (request.key_id === undefined) throw ValidationError.field('key_id', 'key_id is required for an encrypted message.');
  if (request.key_id !== keys.recipient.keyId) {
    throw ValidationError.field('key_id', `key_id must be the recipient's current key (${keys.recipient.keyId}); fetch the public key again.`);
  }
  const wrapped = request.encrypted_symmetric_key ?? '';
  if (base64Bytes('encrypted_symmetric_key', wrapped) !== keys.recipient.wrappedKeyBytes) {
    throw ValidationError.field('encrypted_symmetric_key', `encrypted_symmetric_key must be ${keys.recipient.wrappedKeyBytes} bytes, the recipient key's size.`);
  }

  const senderWrapped = request.sender_encrypted_symmetric_key ?? '';
  const senderKeyId = request.sender_key_id ?? null;
  if ((senderWrapped === '') !== (senderKeyId === null)) {
    throw ValidationError.field('sender_key_id', 'sender_encrypted_symmetric_key and sender_key_id go together.');
  }
  if (senderKeyId !== null) {
    if (senderKeyId !== keys.sender.keyId) throw ValidationError.field('sender_key_id', `sender_key_id must be your current key (${keys.sender.keyId}).`);
    if (base64Bytes('sender_encrypted_symmetric_key', senderWrapped) !== keys.sender.wrappedKeyBytes) {
      throw ValidationError.field('sender_encrypted_symmetric_key', `sender_encrypted_symmetric_key must be ${keys.sender.wrappedKeyBytes} bytes, your key's size.`);
    }
  }

  const encrypted_message = request.encrypted_message ?? '';
  const message_nonce = request.message_nonce ?? '';
  const encrypted_attachment = request.encrypted_attachment ?? '';
  const attachment_nonce = request.attachment_nonce ?? '';
  const digest = options.digests === true;
  const message = await checkPart('encrypted_message', encrypted_message, 'message_nonce', message_nonce, digest);
  const attachment = await checkPart('encrypted_attachment', encrypted_attachment, 'attachment_nonce', attachment_nonce, digest);
  const attachmentBytes = attachment.bytes;
  if (attachmentBytes > maxAttachmentBytes) throw new PayloadTooLarge(`Attachment is larger than the limit of ${maxAttachmentBytes} bytes.`);
  if (encrypted_message === '' && encrypted_attachment.length === 0) {
    throw ValidationError.field('encrypted_message', 'Provide encrypted_message or encrypted_attachment.');
  }
  return {
    key_id: request.key_id,
    encrypted_symmetric_key: wrapped,
    sender_encrypted_symmetric_key: senderWrapped,
    sender_key_id: senderKeyId,
    encrypted_message,
    message_nonce,
    encrypted_attachment,
    attachment_nonce,
    digests: digest ? { encrypted_message: message.sha256, encrypted_attachment: attachment.sha256 } : null,
  };
}
