/** Rows → the API's JSON objects (API.md). */
import type { MessageRow, UserKeyRow } from '../store/index.ts';

/** The API's objects are defined once, in the protocol package every client shares. */
export type { Envelope as EnvelopeView, Message as MessageView, PublicKeyEntry as PublicKeyView, Session as SessionView, User as UserView } from '@securechat/protocol';
import type { Envelope as EnvelopeView, Message as MessageView } from '@securechat/protocol';

export function envelopeView(key: UserKeyRow): EnvelopeView {
  return {
    public_key: key.public_key,
    encrypted_private_key: key.encrypted_private_key,
    private_key_nonce: key.private_key_nonce,
    private_key_salt: key.private_key_salt,
    private_key_iterations: key.private_key_iterations,
    key_id: key.key_id,
    created_at: key.created_at,
  };
}

export function messageView(row: MessageRow): MessageView {
  return {
    id: row.id,
    sender: { id: row.sender_id, username: row.sender_username },
    recipient: { id: row.recipient_id, username: row.recipient_username },
    encrypted_message: row.encrypted_message,
    encrypted_attachment: row.encrypted_attachment,
    attachment_name: row.attachment_name,
    attachment_mime: row.attachment_mime,
    encrypted_symmetric_key: row.encrypted_symmetric_key,
    message_nonce: row.message_nonce,
    attachment_nonce: row.attachment_nonce,
    sent_at: row.sent_at,
    has_attachment: row.has_attachment === 1,
    key_id: row.key_id,
    sender_encrypted_symmetric_key: row.sender_encrypted_symmetric_key,
    sender_key_id: row.sender_key_id,
  };
}
