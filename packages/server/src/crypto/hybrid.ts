/**
 * Server-side send encryption (the original, server-encrypts flow): a fresh
 * 32-byte key, AES-256-GCM of text and attachment with their own nonces, and
 * the key wrapped with RSA-OAEP-SHA256 for recipient and sender.
 * Same format as packages/protocol/src/hybrid.ts.
 */
import { constants, createCipheriv, publicEncrypt, type KeyObject } from 'node:crypto';
import { decodedLengthOfBytes, decodeStrictBase64InSlices, encodedLength } from './base64.ts';
import { releaseMemorySoon } from '../release-memory.ts';
import { allocPassable } from '../shared-buffer.ts';
import { GCM_TAG_BYTES, NONCE_BYTES } from './keys.ts';
import { randomSlice } from './random.ts';

/**
 * An attachment's bytes, or — when large — its strict base64 text as ASCII
 * bytes, decoded while encrypting. The latter is a view of the request body,
 * which the send owns: cipher-pool.ts may move its memory to a thread.
 */
export type PlainAttachment = Buffer | { base64: Buffer };

export interface MessageCiphertext {
  encrypted_message: string;
  message_nonce: string;
  /** base64; a large one as ASCII bytes */
  encrypted_attachment: string | Buffer;
  attachment_nonce: string;
  encrypted_symmetric_key: string;
  sender_encrypted_symmetric_key: string;
}

function aesGcm(key: Buffer, nonce: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  return Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]);
}

export function wrapKey(messageKey: Buffer, publicKey: KeyObject): string {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, messageKey).toString('base64');
}

/**
 * Whether wrapKey works for this key: OpenSSL parses keys it cannot encrypt
 * for (an even modulus fails with "no inverse"). Deterministic per key, so
 * one trial wrap vouches for every later send.
 */
export function canWrapFor(publicKey: KeyObject): boolean {
  try {
    wrapKey(Buffer.alloc(32), publicKey);
    return true;
  } catch {
    return false;
  }
}

/**
 * The ciphertext ‖ tag of an attachment given as base64 bytes, as base64
 * bytes, produced a slice at a time (decode → AES-GCM → encode) into one
 * buffer of the final size; null when the text is not strict base64.
 */
async function aesGcmOfBase64(key: Buffer, nonce: Buffer, base64: Buffer): Promise<Buffer | null> {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const out = allocPassable(encodedLength(decodedLengthOfBytes(base64) + GCM_TAG_BYTES));
  let written = 0;
  let pending: Buffer = Buffer.alloc(0); // ciphertext not yet encoded: base64 encodes 3 bytes at a time
  const encode = (bytes: Buffer, final: boolean) => {
    const data = pending.length > 0 ? Buffer.concat([pending, bytes]) : bytes;
    const whole = final ? data.length : data.length - (data.length % 3);
    written += out.write(data.toString('base64', 0, whole), written, 'latin1');
    pending = data.subarray(whole);
  };
  const valid = await decodeStrictBase64InSlices(base64, (bytes) => encode(cipher.update(bytes), false));
  if (!valid) return null;
  encode(Buffer.concat([cipher.final(), cipher.getAuthTag()]), true);
  releaseMemorySoon(out.length); // the slices' garbage, before the row is written
  return written === out.length ? out : null;
}

/** Encrypts what is present; absent parts are "" as in the original API. Null when a large attachment is not strict base64. */
export async function encryptMessage(
  plain: { text: string; attachment: PlainAttachment | null },
  keys: { recipient: KeyObject; sender: KeyObject },
): Promise<MessageCiphertext | null> {
  const messageKey = randomSlice(32);
  const out: MessageCiphertext = {
    encrypted_message: '',
    message_nonce: '',
    encrypted_attachment: '',
    attachment_nonce: '',
    encrypted_symmetric_key: wrapKey(messageKey, keys.recipient),
    sender_encrypted_symmetric_key: wrapKey(messageKey, keys.sender),
  };
  if (plain.text !== '') {
    const nonce = randomSlice(NONCE_BYTES);
    out.encrypted_message = aesGcm(messageKey, nonce, Buffer.from(plain.text, 'utf8')).toString('base64');
    out.message_nonce = nonce.toString('base64');
  }
  if (plain.attachment !== null) {
    const nonce = randomSlice(NONCE_BYTES);
    const attachment = Buffer.isBuffer(plain.attachment)
      ? aesGcm(messageKey, nonce, plain.attachment).toString('base64')
      : await aesGcmOfBase64(messageKey, nonce, plain.attachment.base64);
    if (attachment === null) return null;
    out.encrypted_attachment = attachment;
    out.attachment_nonce = nonce.toString('base64');
  }
  return out;
}
