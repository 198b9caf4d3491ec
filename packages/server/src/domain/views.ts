/** Rows → the API's JSON objects (API.md). */
import type { MessageRow, UserKeyRow } from '../store/index.ts';

export interface UserView {
  id: number;
  username: string;
}

export interface EnvelopeView {
  public_key: string;
  encrypted_private_key: string;
  private_key_nonce: string;
  private_key_salt: string;
  private_key_iterations: number;
  key_id: number;
  created_at: string;
}

export interface MessageView {
  id: number;
  sender: UserView;
  recipient: UserView;
  encrypted_message: string;
  encrypted_attachment: string;
  attachment_name: string;
  attachment_mime: string;
  encrypted_symmetric_key: string;
  message_nonce: string;
  attachment_nonce: string;
  sent_at: string;
  has_attachment: boolean;
  key_id: number;
  sender_encrypted_symmetric_key: string;
  sender_key_id: number | null;
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
