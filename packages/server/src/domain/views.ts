/** Rows → the API's JSON objects (API.md). */
import { LARGE_ATTACHMENT_OCTETS, type MessageRow, type NewMessage, type UserKeyRow } from '../store/ports.ts';

/** The API's objects are defined once, in the protocol package every client shares. */
export type { Session as SessionView, User as UserView } from '@securechat/protocol';
import type { Envelope, KeyVersion, Message, PublicKeyEntry, User as UserView } from '@securechat/protocol';

/** The protocol's objects with Part B 11's fields always present (clients of older servers may lack them; ours never do). */
export type EnvelopeView = Required<Envelope>;
export type PublicKeyView = Required<PublicKeyEntry>;
export type KeyVersionView = KeyVersion;

/** From this size on (the store's: such attachments are also read off the event loop), an attachment is streamed into responses rather than copied (http/message-json.ts). Base64 is ASCII: characters are octets. */
const LARGE_ATTACHMENT_CHARS = LARGE_ATTACHMENT_OCTETS;
/** Below this size an attachment's base64 is kept as a string; from it on, as its ASCII bytes. */
const ATTACHMENT_BYTES_FROM = 1024;

/**
 * A large attachment not read yet. A mailbox page names it, and the page's
 * response reads it when its turn comes (http/message-json.ts), so a page
 * holds at most one large attachment in memory at a time.
 */
export class DeferredAttachment {
  constructor(
    readonly messageId: number,
    /** Its size in base64 characters. */
    readonly length: number,
  ) {}
}

/** A Message; an attachment's base64 may be kept as its ASCII bytes (it is spliced into JSON, never escaped), or not read yet. */
export type MessageView = Omit<Required<Message>, 'encrypted_attachment'> & { encrypted_attachment: string | Buffer | DeferredAttachment };

export function hasLargeAttachment(view: MessageView): boolean {
  return view.encrypted_attachment.length >= LARGE_ATTACHMENT_CHARS;
}

export function envelopeView(key: UserKeyRow): EnvelopeView {
  return {
    public_key: key.public_key,
    encrypted_private_key: key.encrypted_private_key,
    private_key_nonce: key.private_key_nonce,
    private_key_salt: key.private_key_salt,
    private_key_iterations: key.private_key_iterations,
    key_id: key.key_id,
    created_at: key.created_at,
    signing_public_key: key.signing_public_key,
    key_signature: key.key_signature,
    encrypted_signing_key: key.encrypted_signing_key,
    signing_key_nonce: key.signing_key_nonce,
  };
}

/** Part B 11: one entry of GET /api/users/{username}/keys/. */
export function keyVersionView(key: KeyVersion): KeyVersionView {
  return {
    key_id: key.key_id,
    public_key: key.public_key,
    signing_public_key: key.signing_public_key,
    key_signature: key.key_signature,
    created_at: key.created_at,
  };
}

/** A small attachment's base64 as a string, a larger one as its ASCII bytes. */
function attachmentOf(attachment: string | Buffer | DeferredAttachment): string | Buffer | DeferredAttachment {
  return !Buffer.isBuffer(attachment) || attachment.length >= ATTACHMENT_BYTES_FROM ? attachment : attachment.toString('latin1');
}

/** The view of a message read from the store; a large attachment the store left unread stays unread. */
export function messageView(row: MessageRow): MessageView {
  const attachment = row.encrypted_attachment ?? new DeferredAttachment(row.id, row.attachment_octets);
  return storedMessageView(row, row.id, { id: row.sender_id, username: row.sender_username }, { id: row.recipient_id, username: row.recipient_username }, attachment);
}

/**
 * The view of a message stored as `row` under `id`. Every field is written
 * out, so every view has one shape (see domain/mail.ts).
 */
export function storedMessageView(
  row: Omit<NewMessage, 'encrypted_attachment'>,
  id: number,
  sender: UserView,
  recipient: UserView,
  attachment: string | Buffer | DeferredAttachment,
): MessageView {
  return {
    id,
    sender: { id: sender.id, username: sender.username },
    recipient: { id: recipient.id, username: recipient.username },
    encrypted_message: row.encrypted_message,
    encrypted_attachment: attachmentOf(attachment),
    attachment_name: row.attachment_name,
    attachment_mime: row.attachment_mime,
    encrypted_symmetric_key: row.encrypted_symmetric_key,
    message_nonce: row.message_nonce,
    attachment_nonce: row.attachment_nonce,
    sent_at: row.sent_at,
    has_attachment: row.has_attachment === 1,
    key_id: row.key_id,
    sender_encrypted_symmetric_key: row.sender_encrypted_symmetric_key,
    sender_key_id: row.sender_key_id ?? null,
    client_id: row.client_id ?? null,
    signature: row.signature ?? null,
  };
}
