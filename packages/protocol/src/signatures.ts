/**
 * Part B 11 signatures, one level up from the bytes: signing and checking a
 * message, and the link by which each key version vouches for the next.
 *
 * @example
 * // sending: sign what goes on the wire
 * const signature = await signMessage(signingKey, { sender: 'alice', recipient: 'bob', client_id, key_id, sender_key_id, ...encrypted });
 * // reading: the sender's signing key of the message's sender_key_id (from a checked chain, see key-chain.ts)
 * const valid = await verifyMessageSignature(chain.links[message.sender_key_id - 1].signing_public_key, message); // false for unsigned
 *
 * // rotating: the current version's signing key vouches for version current + 1
 * const key_signature = await signKeyLink(currentSigningKey, { username: 'alice', keyId: 4, publicKeyPem, signingPublicKey });
 */
import { keyLinkBytes, messageSigningBytes, signingFieldsOf, type KeyLinkInput, type MessageSigningFields } from './canonical.ts';
import { signBytes, verifySignature } from './signing.ts';
import type { Message } from './types.ts';

/** The `signature` of an end-to-end send (base64, 64 bytes). */
export async function signMessage(signingKey: CryptoKey, fields: MessageSigningFields): Promise<string> {
  return signBytes(signingKey, await messageSigningBytes(fields));
}

/**
 * Whether `message.signature` is `signingPublicKey`'s over the message as
 * received. False — never an exception — when the message is unsigned, has no
 * `client_id`, or anything is malformed; tell "unsigned" from "invalid" by
 * `message.signature == null` first.
 */
export async function verifyMessageSignature(signingPublicKey: string | CryptoKey | null, message: Message): Promise<boolean> {
  if (!signingPublicKey || !message.signature || message.client_id === null) return false;
  let bytes: Uint8Array;
  try {
    bytes = await messageSigningBytes(signingFieldsOf(message));
  } catch {
    return false; // a ciphertext field that is not base64 cannot have been signed
  }
  return verifySignature(signingPublicKey, message.signature, bytes);
}

/** `key_signature` for version `link.keyId`, made with version `keyId − 1`'s signing key. */
export async function signKeyLink(previousSigningKey: CryptoKey, link: KeyLinkInput): Promise<string> {
  return signBytes(previousSigningKey, keyLinkBytes(link));
}

/** Whether `keySignature` is `previousSigningPublicKey`'s over `link`. False, never an exception, for anything malformed. */
export async function verifyKeyLink(previousSigningPublicKey: string, link: KeyLinkInput, keySignature: string): Promise<boolean> {
  let bytes: Uint8Array;
  try {
    bytes = keyLinkBytes(link);
  } catch {
    return false;
  }
  return verifySignature(previousSigningPublicKey, keySignature, bytes);
}
