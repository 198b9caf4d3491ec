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
  /**
   * Part B 11: that version's Ed25519 public key (base64, 32 bytes); null for
   * server-made and older keys. Optional only because servers before B 11 omit it.
   */
  signing_public_key?: string | null;
  /** Part B 11: version `key_id − 1`'s signature vouching for this version (base64, 64 bytes); null for a chain start. */
  key_signature?: string | null;
}

/**
 * Part B 11: one key version as `GET /api/users/{username}/keys/` lists them
 * (oldest first), for checking the chain (`verifyKeyChain`).
 */
export interface KeyVersion {
  key_id: number;
  public_key: string;
  signing_public_key: string | null;
  key_signature: string | null;
  created_at: string;
}

/** Part B 11: the Ed25519 private key (PKCS#8 DER) sealed beside the RSA one, under the same derived key. */
export interface SealedSigningKey {
  encrypted_signing_key: string;
  /** Its own 12-byte nonce, never equal to `private_key_nonce`. */
  signing_key_nonce: string;
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
  /**
   * Part B 11 (null where the version has no signing key). Optional only
   * because servers before B 11 omit them; a B 11 server always sends all four.
   */
  signing_public_key?: string | null;
  key_signature?: string | null;
  encrypted_signing_key?: string | null;
  signing_key_nonce?: string | null;
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
  /**
   * Part B 11: the sender's Ed25519 signature (base64, 64 bytes) over
   * `messageSigningBytes`; null for unsigned messages (server mode, older
   * ones). Optional only because servers before B 11 omit it.
   */
  signature?: string | null;
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
