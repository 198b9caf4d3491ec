/**
 * Opens one message from the server into a `DecryptedMessage`, or, when it
 * cannot be parsed or decrypted, an `UnreadableMessage` saying why. Neither
 * the server nor a sender can be trusted to send well-formed mail, and one
 * bad message must not make a whole mailbox unreadable.
 *
 * @example
 * const [trust] = await trustBook.check([raw]);
 * const opened = await openMessage(raw, { userId: 2, keyFor: (id) => keychain.find(id), trust });
 * if (!opened.readable) console.log(`#${opened.id}: ${opened.reason}`);
 */
import { Base64Error, decryptPayload, MESSAGE_KEY_BYTES, unwrapKey, type Message, type User } from '@securechat/protocol';
import type { Attachment } from './client.ts';
import type { MessageTrust } from './trust.ts';

/** Who sent it, to whom, when — and what the SDK found about who wrote it (`MessageTrust`, see trust.ts). */
interface MessageMeta extends MessageTrust {
  id: number;
  sender: User;
  recipient: User;
  sentAt: string;
  /** The message as the server sent it. */
  raw: Message;
}

export interface DecryptedMessage extends MessageMeta {
  readable: true;
  text: string;
  attachment: Required<Attachment> | null;
}

export interface UnreadableMessage extends MessageMeta {
  readable: false;
  /** Why, as a sentence fragment: e.g. "its wrapped key does not open with your key version 1". */
  reason: string;
  /**
   * True for the reader's own sent message from before SecureChat (imported
   * from the original backend, which kept no copy of the key for its
   * sender): nothing is wrong with it, there is only nothing to open.
   * `reason` is then NO_SENDER_COPY.
   */
  noSenderCopy?: boolean;
  text: null;
  attachment: null;
}

/** The `reason` of a message with `noSenderCopy`. */
export const NO_SENDER_COPY = 'sent before SecureChat: no copy for the sender';

/** What a mailbox yields: `text` is null (and `reason` set) when `readable` is false. */
export type MailboxMessage = DecryptedMessage | UnreadableMessage;

export interface OpenOptions {
  /** The reader's user id: decides between the recipient's key and the sender copy. */
  userId: number;
  /** The reader's private key of that version, if it has one. */
  keyFor(keyId: number): CryptoKey | undefined;
  /** The message's signature check (`TrustBook.check`), carried onto the result. */
  trust: MessageTrust;
}

export async function openMessage(raw: Message, options: OpenOptions): Promise<MailboxMessage> {
  const meta: MessageMeta = {
    id: isId(raw?.id) ? raw.id : 0,
    sender: asUser(raw?.sender),
    recipient: asUser(raw?.recipient),
    sentAt: typeof raw?.sent_at === 'string' ? raw.sent_at : '',
    raw,
    ...options.trust,
  };
  const unreadable = (reason: string): UnreadableMessage => ({ ...meta, readable: false, reason, text: null, attachment: null });
  const malformed = malformedField(raw);
  if (malformed) return unreadable(`the server sent it malformed (${malformed})`);

  const asRecipient = raw.recipient.id === options.userId;
  const keyId = asRecipient ? raw.key_id : (raw.sender_key_id ?? null);
  const wrapped = asRecipient ? raw.encrypted_symmetric_key : (raw.sender_encrypted_symmetric_key ?? '');
  if (!asRecipient && isFromBeforeSecureChat(raw)) return { ...unreadable(NO_SENDER_COPY), noSenderCopy: true };
  if (keyId === null || wrapped === '') return unreadable(`it has no copy of its key for its ${asRecipient ? 'recipient' : 'sender'}`);
  const privateKey = options.keyFor(keyId);
  if (!privateKey) return unreadable(`it is for your key version ${keyId}, which you do not have`);

  let messageKey: Uint8Array;
  try {
    messageKey = await unwrapKey(wrapped, privateKey);
  } catch (error) {
    return unreadable(error instanceof Base64Error ? 'its wrapped key is not valid base64' : `its wrapped key does not open with your key version ${keyId}`);
  }
  if (messageKey.length !== MESSAGE_KEY_BYTES) return unreadable(`its message key is ${messageKey.length} bytes, not ${MESSAGE_KEY_BYTES}`);
  try {
    const plain = await decryptPayload(raw, messageKey);
    const attachment = plain.attachment ? { data: plain.attachment, name: raw.attachment_name, mime: raw.attachment_mime } : null;
    return { ...meta, readable: true, text: plain.text, attachment };
  } catch (error) {
    if (error instanceof Base64Error) return unreadable('its nonce or ciphertext is not valid base64');
    if (error instanceof TypeError) return unreadable('its text is not valid UTF-8');
    return unreadable('its text or attachment fails authentication (corrupted or tampered with)');
  }
}

const STRING_FIELDS = [
  'encrypted_message', 'message_nonce', 'encrypted_attachment', 'attachment_nonce', 'encrypted_symmetric_key', 'attachment_name', 'attachment_mime', 'sent_at',
] as const;

/** The first field that does not have its API type, or null. */
function malformedField(raw: Message): string | null {
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  if (!isId(raw.id)) return 'id';
  if (!isUser(raw.sender)) return 'sender';
  if (!isUser(raw.recipient)) return 'recipient';
  for (const field of STRING_FIELDS) if (typeof raw[field] !== 'string') return field;
  if (!isId(raw.key_id)) return 'key_id';
  // The sender copy (Part B2) is optional: absent on messages from original clients.
  if (raw.sender_key_id != null && !isId(raw.sender_key_id)) return 'sender_key_id';
  if (raw.sender_encrypted_symmetric_key != null && typeof raw.sender_encrypted_symmetric_key !== 'string') return 'sender_encrypted_symmetric_key';
  return null;
}

/**
 * A message as the original backend wrote it: no sender copy at all, and
 * neither client_id nor signature (SecureChat's SDK always sends a client_id,
 * and a server-mode send always makes the sender copy).
 */
function isFromBeforeSecureChat(raw: Message): boolean {
  return raw.sender_key_id == null && !raw.sender_encrypted_symmetric_key && raw.client_id == null && raw.signature == null;
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

export function isUser(value: unknown): value is User {
  const user = value as User | null;
  return typeof user === 'object' && user !== null && isId(user.id) && typeof user.username === 'string';
}

/** The user as sent, or a placeholder (id 0, no name) when the server sent something else. */
export function asUser(value: unknown): User {
  return isUser(value) ? { id: value.id, username: value.username } : { id: 0, username: '' };
}
