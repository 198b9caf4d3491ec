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

function NullableString(description: string) {
  return Type.Union([Type.String(), Type.Null()], { description });
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
    signing_public_key: NullableString('Part B 11: base64 of the 32-byte Ed25519 public key of this version; null without one'),
    key_signature: NullableString('Part B 11: base64, 64 bytes: version key_id − 1 vouching for this one; null for a chain start'),
    encrypted_signing_key: NullableString('Part B 11: base64(AES-256-GCM(Ed25519 PKCS#8 DER) ‖ tag) under the same derived key'),
    signing_key_nonce: NullableString('Part B 11: base64, 12 bytes, never private_key_nonce'),
  },
  { $id: 'Envelope' },
);

export const PublicKeyEntrySchema = Type.Object(
  {
    user: Type.Ref('User'),
    public_key: Type.String(),
    key_id: Type.Integer({ description: 'current key version' }),
    signing_public_key: NullableString('Part B 11: the current version’s Ed25519 public key, base64 (32 bytes); null without one'),
    key_signature: NullableString('Part B 11: the previous version vouching for the current one, base64 (64 bytes); null for a chain start'),
  },
  { $id: 'PublicKeyEntry' },
);

/** Part B 11: one key version of GET /api/users/{username}/keys/. */
export const KeyVersionSchema = Type.Object(
  {
    key_id: Type.Integer({ description: 'key version, 1, 2, …' }),
    public_key: Type.String({ description: 'PEM SubjectPublicKeyInfo' }),
    signing_public_key: NullableString('base64 of the 32-byte Ed25519 public key; null without one'),
    key_signature: NullableString('base64, 64 bytes: Ed25519 by version key_id − 1 over the key link; null for a chain start'),
    created_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'KeyVersion' },
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
    signature: NullableString('Part B 11: the sender’s Ed25519 signature (base64, 64 bytes), verified by the server when sent; null for unsigned messages'),
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
export const sharedSchemas = [ErrorBody, UserSchema, EnvelopeSchema, PublicKeyEntrySchema, KeyVersionSchema, AuthResultSchema, MessageSchema, SessionSchema];

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

const OptionalNullable = (maxLength: number, description: string) =>
  Type.Optional(Type.Union([Type.String({ maxLength }), Type.Null()], { description }));

/** Part B 11: a client-made signing key at register and rotate (the three together or none), and the previous version's vouching. */
export const SigningKeyFields = {
  signing_public_key: OptionalNullable(64, 'end-to-end, Part B 11: base64 of the 32-byte Ed25519 public key'),
  encrypted_signing_key: OptionalNullable(1024, 'end-to-end, Part B 11: base64(AES-256-GCM(Ed25519 PKCS#8 DER) ‖ tag), same derived key as the private key'),
  signing_key_nonce: OptionalNullable(64, 'end-to-end, Part B 11: base64, 12 bytes, not private_key_nonce'),
  key_signature: OptionalNullable(
    128,
    'end-to-end, Part B 11, rotate: base64 (64 bytes) Ed25519 by the current version over the link to current + 1; null to start a chain',
  ),
};

/** Part B6: one key version re-sealed by an end-to-end client (Part B 11: with its signing key, where it has one). */
export const ResealedEnvelopeSchema = Type.Object({
  key_id: Type.Integer({ minimum: 1 }),
  ...SealedKeyFields,
  encrypted_signing_key: SigningKeyFields.encrypted_signing_key,
  signing_key_nonce: SigningKeyFields.signing_key_nonce,
});
