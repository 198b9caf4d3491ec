/**
 * Hybrid encryption of one message: a fresh 32-byte AES key encrypts the text
 * and the attachment (AES-256-GCM, each with its own 12-byte nonce); the key is
 * wrapped with RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) for the recipient
 * and, optionally, for the sender (Part B2).
 *
 * @example
 * const fields = await encryptMessage({ text: 'hi' }, { recipient: bobKey, sender: aliceKey });
 * const { text } = await decryptMessage({ ...fields, has_attachment: false }, bobPrivateKey);
 */
import { decodeBase64, derToPem, encodeBase64, pemToDer, utf8Decode, utf8Encode } from './codec.ts';
import { NONCE_BYTES, randomBytes, toBufferSource } from './envelope.ts';

export const MESSAGE_KEY_BYTES = 32;
const RSA_OAEP = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;
const subtle = globalThis.crypto.subtle;

export function importPublicKey(publicKeyPem: string): Promise<CryptoKey> {
  return subtle.importKey('spki', toBufferSource(pemToDer(publicKeyPem, 'PUBLIC KEY')), RSA_OAEP, true, ['encrypt']);
}

/**
 * Non-extractable unless asked: a key held this way cannot be read back out by
 * any script, and a browser can still keep it in IndexedDB (structured clone).
 */
export function importPrivateKey(privateKeyPem: string, { extractable = false } = {}): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', toBufferSource(pemToDer(privateKeyPem, 'PRIVATE KEY')), RSA_OAEP, extractable, ['decrypt']);
}

/** The PKCS#8 PEM of a private key imported with `extractable: true`. */
export async function exportPrivateKeyPem(privateKey: CryptoKey): Promise<string> {
  return derToPem(new Uint8Array(await subtle.exportKey('pkcs8', privateKey)), 'PRIVATE KEY');
}

/** Generates an RSA-OAEP key pair as PEM strings (SPKI public, PKCS#8 private). */
export async function generateKeyPair(modulusLength = 2048): Promise<{ publicKey: string; privateKey: string }> {
  const pair = await subtle.generateKey(
    { ...RSA_OAEP, modulusLength, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['encrypt', 'decrypt'],
  );
  const spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey));
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey));
  return { publicKey: derToPem(spki, 'PUBLIC KEY'), privateKey: derToPem(pkcs8, 'PRIVATE KEY') };
}

export async function wrapKey(messageKey: Uint8Array, publicKey: CryptoKey): Promise<string> {
  return encodeBase64(new Uint8Array(await subtle.encrypt(RSA_OAEP, publicKey, toBufferSource(messageKey))));
}

export async function unwrapKey(wrappedKey: string, privateKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle.decrypt(RSA_OAEP, privateKey, toBufferSource(decodeBase64(wrappedKey))));
}

async function aesGcm(mode: 'encrypt' | 'decrypt', key: Uint8Array, nonce: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const aesKey = await subtle.importKey('raw', toBufferSource(key), 'AES-GCM', false, [mode]);
  return new Uint8Array(await subtle[mode]({ name: 'AES-GCM', iv: toBufferSource(nonce) }, aesKey, toBufferSource(data)));
}

export interface Plaintext {
  text?: string;
  attachment?: Uint8Array;
}

export interface EncryptedPayload {
  encrypted_message: string;
  message_nonce: string;
  encrypted_attachment: string;
  attachment_nonce: string;
}

export interface EncryptedMessageFields extends EncryptedPayload {
  encrypted_symmetric_key: string;
  /** "" when no sender key was given. */
  sender_encrypted_symmetric_key: string;
}

/** Fixed key and nonces are for test vectors only. */
export interface PayloadOptions {
  messageKey?: Uint8Array;
  messageNonce?: Uint8Array;
  attachmentNonce?: Uint8Array;
}

/** Encrypts text and attachment under `messageKey`; absent parts become "". */
export async function encryptPayload(plain: Plaintext, messageKey: Uint8Array, options: PayloadOptions = {}): Promise<EncryptedPayload> {
  const payload: EncryptedPayload = { encrypted_message: '', message_nonce: '', encrypted_attachment: '', attachment_nonce: '' };
  if (plain.text !== undefined && plain.text !== '') {
    const nonce = options.messageNonce ?? randomBytes(NONCE_BYTES);
    payload.encrypted_message = encodeBase64(await aesGcm('encrypt', messageKey, nonce, utf8Encode(plain.text)));
    payload.message_nonce = encodeBase64(nonce);
  }
  if (plain.attachment !== undefined && plain.attachment.length > 0) {
    const nonce = options.attachmentNonce ?? randomBytes(NONCE_BYTES);
    payload.encrypted_attachment = encodeBase64(await aesGcm('encrypt', messageKey, nonce, plain.attachment));
    payload.attachment_nonce = encodeBase64(nonce);
  }
  return payload;
}

export async function encryptMessage(
  plain: Plaintext,
  keys: { recipient: CryptoKey; sender?: CryptoKey },
  options: PayloadOptions = {},
): Promise<EncryptedMessageFields> {
  const messageKey = options.messageKey ?? randomBytes(MESSAGE_KEY_BYTES);
  const payload = await encryptPayload(plain, messageKey, options);
  return {
    ...payload,
    encrypted_symmetric_key: await wrapKey(messageKey, keys.recipient),
    sender_encrypted_symmetric_key: keys.sender ? await wrapKey(messageKey, keys.sender) : '',
  };
}

export interface DecryptedMessage {
  text: string;
  /** null when the message has no attachment. */
  attachment: Uint8Array | null;
}

export async function decryptPayload(payload: EncryptedPayload, messageKey: Uint8Array): Promise<DecryptedMessage> {
  const text = payload.encrypted_message
    ? utf8Decode(await aesGcm('decrypt', messageKey, decodeBase64(payload.message_nonce), decodeBase64(payload.encrypted_message)))
    : '';
  const attachment = payload.encrypted_attachment
    ? await aesGcm('decrypt', messageKey, decodeBase64(payload.attachment_nonce), decodeBase64(payload.encrypted_attachment))
    : null;
  return { text, attachment };
}

/**
 * Decrypts a message as its recipient (default) or, with `as: 'sender'`, with
 * the sender copy of the key (Part B2).
 */
export async function decryptMessage(
  message: EncryptedMessageFields,
  privateKey: CryptoKey,
  as: 'recipient' | 'sender' = 'recipient',
): Promise<DecryptedMessage> {
  const wrapped = as === 'sender' ? message.sender_encrypted_symmetric_key : message.encrypted_symmetric_key;
  if (!wrapped) throw new Error(`message has no key wrapped for its ${as}`);
  return decryptPayload(message, await unwrapKey(wrapped, privateKey));
}
