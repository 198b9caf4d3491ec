/**
 * The exact bytes that Part B 11 signatures cover. Two implementations must
 * build the same bytes from the same wire values, so every rule is here once:
 * lines joined by "\n" (no trailing newline), values exactly as sent (base64
 * text, `client_id` and `signing_public_key` as text, integers in plain
 * decimal), absent values as empty strings, usernames lowercased (ASCII: they
 * are ASCII), free text (attachment name and type) as base64 of its UTF-8, and
 * ciphertext as base64(SHA-256(decoded bytes)) — an absent one hashes the
 * empty string.
 *
 * @example
 * const link = keyLinkBytes({ username: 'Alice', keyId: 2, publicKeyPem: pem, signingPublicKey: pub });
 * // "securechat/key/v1\nalice\n2\n<base64 SPKI DER>\n<pub>" as UTF-8
 *
 * const bytes = await messageSigningBytes({ sender: 'alice', recipient: 'bob', client_id, key_id: 3, sender_key_id: 2, ...fields });
 */
import { decodeBase64, encodeBase64, pemToDer, utf8Encode } from './codec.ts';
import type { Message } from './types.ts';

export const KEY_LINK_CONTEXT = 'securechat/key/v1';
export const MESSAGE_SIGNING_CONTEXT = 'securechat/msg/v1';
/** base64(SHA-256("")): the hash line of an absent ciphertext. */
export const EMPTY_SHA256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

/** Usernames are ASCII; only A–Z fold (the server's rule), so no Unicode case mapping can differ between implementations. */
export function lowercaseUsername(username: string): string {
  return username.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

export type KeyLinkInput = {
  username: string;
  /** The key version being vouched for (the previous version signs it). */
  keyId: number;
  /** `signing_public_key` of version `keyId`, as sent. */
  signingPublicKey: string;
} & ({ publicKeyPem: string; spkiBase64?: never } | { spkiBase64: string; publicKeyPem?: never });

/**
 * What `key_signature` of version `keyId` signs, by version `keyId − 1`'s
 * signing key: "securechat/key/v1", lowercase username, keyId,
 * base64(SPKI DER of the RSA key), signing_public_key. The RSA key may be
 * given as PEM (any line width: its DER is what counts) or as SPKI base64.
 */
export function keyLinkBytes(link: KeyLinkInput): Uint8Array {
  const spki = link.spkiBase64 ?? encodeBase64(pemToDer(link.publicKeyPem!, 'PUBLIC KEY'));
  return utf8Encode([KEY_LINK_CONTEXT, lowercaseUsername(link.username), integer(link.keyId), spki, link.signingPublicKey].join('\n'));
}

/**
 * The values a message signature covers. Absent ones (no text, no attachment,
 * no sender copy) may be left out or given as "" — they sign as "".
 * `attachment_name`/`attachment_mime`: the server keeps them only with an
 * attachment (without one it stores ""), so sign them only with one.
 */
export interface MessageSigningFields {
  /** Sender username (any case: it is lowercased). */
  sender: string;
  recipient: string;
  client_id: string;
  /** The recipient key version that wraps `encrypted_symmetric_key`. */
  key_id: number;
  /** The sender's key version whose signing key signs (its current one). */
  sender_key_id: number | null;
  encrypted_symmetric_key: string;
  sender_encrypted_symmetric_key?: string;
  message_nonce?: string;
  encrypted_message?: string;
  attachment_nonce?: string;
  encrypted_attachment?: string;
  attachment_name?: string;
  attachment_mime?: string;
}

/** The two hash lines: base64(SHA-256(decoded ciphertext)); EMPTY_SHA256 for an absent one. */
export interface CiphertextDigests {
  encrypted_message: string;
  encrypted_attachment: string;
}

/**
 * What `signature` signs, given the two hash lines already computed — for a
 * caller that hashes with its own SHA-256 (a server hashing an attachment
 * while it decodes it). Most callers want `messageSigningBytes`.
 */
export function messageSigningBytesFromDigests(fields: MessageSigningFields, digests: CiphertextDigests): Uint8Array {
  return utf8Encode(
    [
      MESSAGE_SIGNING_CONTEXT,
      lowercaseUsername(fields.sender),
      lowercaseUsername(fields.recipient),
      fields.client_id,
      integer(fields.key_id),
      fields.sender_key_id === null ? '' : integer(fields.sender_key_id),
      fields.encrypted_symmetric_key,
      fields.sender_encrypted_symmetric_key ?? '',
      fields.message_nonce ?? '',
      digests.encrypted_message,
      fields.attachment_nonce ?? '',
      digests.encrypted_attachment,
      encodeBase64(utf8Encode(fields.attachment_name ?? '')),
      encodeBase64(utf8Encode(fields.attachment_mime ?? '')),
    ].join('\n'),
  );
}

/** What `signature` signs (API.md B 11). Throws if a ciphertext field is not strict base64. */
export async function messageSigningBytes(fields: MessageSigningFields): Promise<Uint8Array> {
  const [message, attachment] = await Promise.all([sha256Line(fields.encrypted_message), sha256Line(fields.encrypted_attachment)]);
  return messageSigningBytesFromDigests(fields, { encrypted_message: message, encrypted_attachment: attachment });
}

/** The signed fields of a message as the API returns it (sender and recipient are user objects there). */
export function signingFieldsOf(message: Message): MessageSigningFields & { client_id: string } {
  if (message.client_id === null) throw new Error(`message ${message.id} has no client_id, so it cannot be signed`);
  return {
    sender: message.sender.username,
    recipient: message.recipient.username,
    client_id: message.client_id,
    key_id: message.key_id,
    sender_key_id: message.sender_key_id,
    encrypted_symmetric_key: message.encrypted_symmetric_key,
    sender_encrypted_symmetric_key: message.sender_encrypted_symmetric_key,
    message_nonce: message.message_nonce,
    encrypted_message: message.encrypted_message,
    attachment_nonce: message.attachment_nonce,
    encrypted_attachment: message.encrypted_attachment,
    attachment_name: message.attachment_name,
    attachment_mime: message.attachment_mime,
  };
}

/** base64(SHA-256(decoded base64)); EMPTY_SHA256 for "" or absent. */
export async function sha256Line(base64: string | undefined): Promise<string> {
  if (!base64) return EMPTY_SHA256;
  // decodeBase64 returns a fresh ArrayBuffer-backed array: no copy needed for WebCrypto.
  const bytes = decodeBase64(base64) as Uint8Array<ArrayBuffer>;
  return encodeBase64(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes)));
}

function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}
