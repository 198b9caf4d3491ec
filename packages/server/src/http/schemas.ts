/**
 * TypeBox schemas of the API's objects (API.md). Each is at once the TS type,
 * the request validator, the response serialiser and the OpenAPI component.
 */
import { Type, type TSchema } from '@sinclair/typebox';

export const USERNAME_PATTERN = '^[A-Za-z0-9@.+_-]{1,150}$';
export const MAX_MESSAGE_CHARS = 262_144;
export const MAX_ATTACHMENT_META_CHARS = 255;

export const ErrorBody = Type.Object(
  {
    detail: Type.String(),
    errors: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
  },
  { $id: 'Error', description: 'Every error: a sentence, and per-field messages for validation errors.' },
);

/** Response schemas for the given error statuses, all the shared error body. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('Error')]));
}

export const UserSchema = Type.Object({ id: Type.Integer(), username: Type.String() }, { $id: 'User' });

export const EnvelopeSchema = Type.Object(
  {
    public_key: Type.String({ description: 'PEM SubjectPublicKeyInfo' }),
    encrypted_private_key: Type.String({ description: 'base64(AES-256-GCM(PKCS#8 PEM) ‖ tag)' }),
    private_key_nonce: Type.String({ description: 'base64, 12 bytes' }),
    private_key_salt: Type.String({ description: 'base64, 16 bytes' }),
    private_key_iterations: Type.Integer({ description: 'PBKDF2-HMAC-SHA256 rounds' }),
    key_id: Type.Integer({ description: 'key version, 1, 2, …' }),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Envelope' },
);

export const PublicKeyEntrySchema = Type.Object(
  { user: Type.Ref('User'), public_key: Type.String(), key_id: Type.Integer({ description: 'current key version' }) },
  { $id: 'PublicKeyEntry' },
);

export const AuthResultSchema = Type.Object(
  { user: Type.Ref('User'), token: Type.String(), profile: Type.Ref('Envelope') },
  { $id: 'AuthResult' },
);

export const MessageSchema = Type.Object(
  {
    id: Type.Integer(),
    sender: Type.Ref('User'),
    recipient: Type.Ref('User'),
    encrypted_message: Type.String({ description: 'base64(AES-256-GCM(UTF-8 text) ‖ tag), "" without text' }),
    encrypted_attachment: Type.String({ description: 'base64(AES-256-GCM(bytes) ‖ tag), "" without attachment' }),
    attachment_name: Type.String(),
    attachment_mime: Type.String(),
    encrypted_symmetric_key: Type.String({ description: 'base64 RSA-OAEP-SHA256 of the message key, for the recipient' }),
    message_nonce: Type.String(),
    attachment_nonce: Type.String(),
    sent_at: Type.String({ format: 'date-time' }),
    has_attachment: Type.Boolean(),
    key_id: Type.Integer({ description: 'recipient key version that wraps encrypted_symmetric_key' }),
    sender_encrypted_symmetric_key: Type.String({ description: 'the message key wrapped for the sender, "" if absent' }),
    sender_key_id: Type.Union([Type.Integer(), Type.Null()], { description: 'sender key version, null if absent' }),
    client_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'the idempotency key the sender chose (Part B10), null if none' }),
  },
  { $id: 'Message' },
);

export const SessionSchema = Type.Object(
  {
    id: Type.Integer(),
    created_at: Type.String({ format: 'date-time' }),
    last_used_at: Type.String({ format: 'date-time' }),
    expires_at: Type.String({ format: 'date-time' }),
    user_agent: Type.String(),
    current: Type.Boolean({ description: 'true for the session making this request' }),
  },
  { $id: 'Session' },
);

/** Shared schemas, registered once with `app.addSchema` and referenced by $id. */
export const sharedSchemas = [ErrorBody, UserSchema, EnvelopeSchema, PublicKeyEntrySchema, AuthResultSchema, MessageSchema, SessionSchema];

export const Password = (description: string) => Type.String({ minLength: 8, maxLength: 1024, description });

/** A positive integer id from a path or query string (coerced from text). */
export const Id = (description: string) => Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description });

const SealedKeyFields = {
  encrypted_private_key: Type.String({ maxLength: 32_768, description: 'base64(AES-256-GCM(PKCS#8 PEM) ‖ tag)' }),
  private_key_nonce: Type.String({ maxLength: 64, description: 'base64, 12 bytes' }),
  private_key_salt: Type.String({ maxLength: 64, description: 'base64, 16 bytes' }),
  private_key_iterations: Type.Integer({ description: 'PBKDF2-HMAC-SHA256 rounds, 100000 to 10000000' }),
};

/**
 * Part B4: a key pair made by an end-to-end client, in register and rotate
 * bodies. All five fields or none (the server then generates the keys).
 */
export const ClientKeyPairFields = {
  public_key: Type.Optional(Type.String({ maxLength: 16_384, description: 'end-to-end: PEM SPKI RSA public key, ≥ 2048 bits' })),
  encrypted_private_key: Type.Optional(SealedKeyFields.encrypted_private_key),
  private_key_nonce: Type.Optional(SealedKeyFields.private_key_nonce),
  private_key_salt: Type.Optional(SealedKeyFields.private_key_salt),
  private_key_iterations: Type.Optional(SealedKeyFields.private_key_iterations),
};

/** Part B6: one key version re-sealed by an end-to-end client. */
export const ResealedEnvelopeSchema = Type.Object({ key_id: Type.Integer({ minimum: 1 }), ...SealedKeyFields });
