/** The API's JSON objects (see API.md), as a client receives them. */

export interface User {
  id: number;
  username: string;
}

/** A user's public key as listed by `GET /api/users/` and the public-key endpoint. */
export interface PublicKeyEntry {
  user: User;
  public_key: string;
  /** Part B1: the current key version, the one to encrypt for. */
  key_id: number;
}

/** The fields that seal one private key under a password. */
export interface SealedPrivateKey {
  encrypted_private_key: string;
  private_key_nonce: string;
  private_key_salt: string;
  private_key_iterations: number;
}

/** One key version of a user: public key plus sealed private key. */
export interface Envelope extends SealedPrivateKey {
  public_key: string;
  key_id: number;
  created_at: string;
}

export interface AuthResult {
  user: User;
  token: string;
  profile: Envelope;
}

export interface Message {
  id: number;
  sender: User;
  recipient: User;
  encrypted_message: string;
  encrypted_attachment: string;
  attachment_name: string;
  attachment_mime: string;
  encrypted_symmetric_key: string;
  message_nonce: string;
  attachment_nonce: string;
  sent_at: string;
  has_attachment: boolean;
  /** Part B1: recipient key version that wraps `encrypted_symmetric_key`. */
  key_id: number;
  /** Part B2: the message key wrapped for the sender ("" when absent). */
  sender_encrypted_symmetric_key: string;
  /** Part B2: sender key version that wraps `sender_encrypted_symmetric_key` (null when absent). */
  sender_key_id: number | null;
  /** Part B10: the sender's idempotency key (lowercase UUID) this message was sent with; null when none was given. */
  client_id: string | null;
}

export interface Session {
  id: number;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  user_agent: string;
  current: boolean;
}

export interface ApiErrorBody {
  detail: string;
  errors?: Record<string, string[]>;
}
