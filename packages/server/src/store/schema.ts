/** Table types for Kysely. Binary values are stored as their base64 text, as served. */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  username: string;
  /** Unique; makes usernames case-insensitively unique and searchable by prefix. */
  username_lower: string;
  password_hash: string;
  current_key_id: number;
  created_at: string;
}

export interface UserKeysTable {
  user_id: number;
  key_id: number;
  public_key: string;
  encrypted_private_key: string;
  private_key_nonce: string;
  private_key_salt: string;
  private_key_iterations: number;
  /** 'server': sealed by the server from the password it saw; 'client': made and sealed by an end-to-end client. */
  sealed_by: KeyCustody;
  created_at: string;
  /** Part B 11 (migration 0003): base64 of the 32-byte Ed25519 public key; null for server-made and older keys. */
  signing_public_key: string | null;
  /** Part B 11: version key_id − 1's Ed25519 signature over this version's key link (base64, 64 bytes); null for a chain start. */
  key_signature: string | null;
  /** Part B 11: the Ed25519 PKCS#8 sealed under the envelope's derived key (base64 ciphertext ‖ tag); null without a signing key. */
  encrypted_signing_key: string | null;
  /** Part B 11: its own 12-byte nonce (base64), never the private key's. */
  signing_key_nonce: string | null;
}

export type KeyCustody = 'server' | 'client';

export interface SessionsTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  user_agent: string;
}

export interface MessagesTable {
  id: Generated<number>;
  sender_id: number;
  recipient_id: number;
  key_id: number;
  sender_key_id: number | null;
  encrypted_symmetric_key: string;
  sender_encrypted_symmetric_key: string;
  encrypted_message: string;
  message_nonce: string;
  /** TEXT (base64); a large value is inserted from its ASCII bytes, see store/messages.ts */
  encrypted_attachment: ColumnType<string, string | Buffer, string>;
  attachment_nonce: string;
  attachment_name: string;
  attachment_mime: string;
  has_attachment: number;
  sent_at: string;
  /** Part B10: the sender's idempotency key; unique per sender where not null (migration 0002). */
  client_id: string | null;
  /**
   * Part B10: base64 SHA-256 of what decides "the same send" (domain/send-digest.ts), null without
   * client_id. Derived from ciphertext and non-secret metadata only, never from a plaintext.
   */
  request_digest: string | null;
  /** Part B 11 (migration 0003): the sender's Ed25519 signature (base64, 64 bytes) as sent, verified before storing; null when unsigned. */
  signature: string | null;
}

export interface DatabaseSchema {
  users: UsersTable;
  user_keys: UserKeysTable;
  sessions: SessionsTable;
  messages: MessagesTable;
}

export type UserRow = Selectable<UsersTable>;
export type UserKeyRow = Selectable<UserKeysTable>;
export type SessionRow = Selectable<SessionsTable>;
export type NewMessage = Insertable<MessagesTable>;
/**
 * A message as the repository reads it: the attachment's base64 as ASCII
 * bytes, so a large one never becomes a string — and a large one not at all
 * (null): it is read on its own when it is needed (readAttachment).
 */
export type MessageRow = Omit<Selectable<MessagesTable>, 'encrypted_attachment' | 'request_digest'> & {
  encrypted_attachment: Buffer | null;
  /** The attachment's size in base64 characters, read or not. */
  attachment_octets: number;
  sender_username: string;
  recipient_username: string;
};
