/**
 * Server-side send encryption (the original, server-encrypts flow): a fresh
 * 32-byte key, AES-256-GCM of text and attachment with their own nonces, and
 * the key wrapped with RSA-OAEP-SHA256 for recipient and sender.
 * Same format as packages/protocol/src/hybrid.ts.
 */
import { constants, createCipheriv, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { NONCE_BYTES } from './keys.ts';

export interface MessageCiphertext {
  encrypted_message: string;
  message_nonce: string;
  encrypted_attachment: string;
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

/** Encrypts what is present; absent parts are "" as in the original API. */
export function encryptMessage(
  plain: { text: string; attachment: Buffer | null },
  keys: { recipient: KeyObject; sender: KeyObject },
): MessageCiphertext {
  const messageKey = randomBytes(32);
  const out: MessageCiphertext = {
    encrypted_message: '',
    message_nonce: '',
    encrypted_attachment: '',
    attachment_nonce: '',
    encrypted_symmetric_key: wrapKey(messageKey, keys.recipient),
    sender_encrypted_symmetric_key: wrapKey(messageKey, keys.sender),
  };
  if (plain.text !== '') {
    const nonce = randomBytes(NONCE_BYTES);
    out.encrypted_message = aesGcm(messageKey, nonce, Buffer.from(plain.text, 'utf8')).toString('base64');
    out.message_nonce = nonce.toString('base64');
  }
  if (plain.attachment !== null) {
    const nonce = randomBytes(NONCE_BYTES);
    out.encrypted_attachment = aesGcm(messageKey, nonce, plain.attachment).toString('base64');
    out.attachment_nonce = nonce.toString('base64');
  }
  return out;
}
