/** /api/messages/: send, list (paginated), read one (Part A + B2, B3). */
import { Type } from '@sinclair/typebox';
import { ValidationError } from '../domain/errors.ts';
import type { DeferredAttachment } from '../domain/views.ts';
import { authSecurity, caller, parseId, requireAuth, type App, type RouteOptions } from './context.ts';
import { largeFieldsOf } from './large-json.ts';
import { sendMessage, sendMessages, sendNewMessage } from './message-json.ts';
import { canonicalIntegers, nextLink } from './pagination.ts';
import { errorResponses, Id, MAX_ATTACHMENT_META_CHARS, MAX_MESSAGE_CHARS } from './schemas.ts';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

const Base64 = (description: string, maxLength?: number) => Type.Optional(Type.String({ description, ...(maxLength ? { maxLength } : {}) }));

/** Plaintext fields (the server encrypts) or ciphertext fields (end-to-end, Part B4) — not both. */
const SendBody = Type.Object({
  recipient: Type.String({ maxLength: 150, description: 'username (case-insensitive)' }),
  message: Type.Optional(Type.String({ maxLength: MAX_MESSAGE_CHARS, description: 'plaintext; the server encrypts it' })),
  attachment_data: Base64('plaintext file bytes, base64; the server encrypts them'),
  key_id: Type.Optional(Type.Integer({ description: "end-to-end: the recipient's current key version" })),
  encrypted_symmetric_key: Base64('end-to-end: message key wrapped for the recipient', 4096),
  sender_encrypted_symmetric_key: Base64('end-to-end: message key wrapped for the sender', 4096),
  sender_key_id: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: "end-to-end: the sender's current key version" })),
  encrypted_message: Base64('end-to-end: AES-256-GCM ciphertext ‖ tag of the text'),
  message_nonce: Base64('end-to-end: 12 bytes', 64),
  encrypted_attachment: Base64('end-to-end: AES-256-GCM ciphertext ‖ tag of the file'),
  attachment_nonce: Base64('end-to-end: 12 bytes', 64),
  attachment_name: Type.Optional(Type.String({ maxLength: MAX_ATTACHMENT_META_CHARS })),
  attachment_mime: Type.Optional(Type.String({ maxLength: MAX_ATTACHMENT_META_CHARS })),
  client_id: Type.Optional(
    Type.String({
      maxLength: 64,
      description: 'Part B10: an idempotency key the sender chose, lowercase UUID text (8-4-4-4-12). Sent again with the same body: 200 with the original message, nothing stored; with another body: 409.',
    }),
  ),
  signature: Base64(
    'end-to-end, Part B 11: Ed25519 signature (64 bytes) by the signing key of sender_key_id over securechat/msg/v1 and the fields; needs client_id and sender_key_id; required once your current key version has a signing key',
    128,
  ),
});

const ListQuery = Type.Object({
  direction: Type.Optional(Type.String({ description: '"inbox" (default) or "sent"' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, description: `default ${DEFAULT_LIMIT}, larger values clamped to ${MAX_LIMIT}` })),
  before_id: Type.Optional(Id('newest messages with a smaller id, newest first')),
  after_id: Type.Optional(Id('oldest messages with a larger id, oldest first')),
});

export async function messageRoutes(app: App, { domain, largeBodies }: RouteOptions): Promise<void> {
  requireAuth(app, domain.sessions);
  const readAttachment = (attachment: DeferredAttachment) => domain.mail.readAttachment(attachment);

  app.post('/api/messages/send/', {
    bodyLimit: largeBodies.sendBodyBytes,
    preParsing: largeBodies.reserveMemory,
    schema: {
      tags: ['messages'],
      summary: 'Send a message and/or attachment: plaintext for the server to encrypt, or end-to-end ciphertext',
      security: authSecurity,
      body: SendBody,
      response: {
        201: { ...Type.Ref('Message'), description: 'The message, stored by this request' },
        200: { ...Type.Ref('Message'), description: 'Part B10: the message stored earlier with this client_id and the same body; nothing new stored' },
        ...errorResponses(400, 401, 409, 413, 415),
      },
    },
    handler: async (request, reply) => {
      // A large attachment was kept as bytes by the body parser; validation saw a placeholder string.
      const large = largeFieldsOf(request.body);
      const body = large ? { ...request.body, ...large } : request.body;
      const sent = await domain.mail.send(caller(request).user, body);
      // A repeated client_id (Part B10) answers with the stored message, whose JSON may already be cached.
      return sent.created ? sendNewMessage(reply, 201, sent.message) : sendMessage(reply, 200, sent.message);
    },
  });

  app.get('/api/messages/', {
    preValidation: canonicalIntegers('limit', 'before_id', 'after_id'),
    schema: {
      tags: ['messages'],
      summary: 'The caller’s inbox or sent messages; a Link header points to the next page',
      security: authSecurity,
      querystring: ListQuery,
      response: { 200: Type.Array(Type.Ref('Message')), ...errorResponses(400, 401) },
    },
    handler: async (request, reply) => {
      const { direction = 'inbox', limit, before_id, after_id } = request.query;
      if (direction !== 'inbox' && direction !== 'sent') throw ValidationError.field('direction', 'direction must be "inbox" or "sent".');
      if (before_id !== undefined && after_id !== undefined) throw ValidationError.field('before_id', 'Use before_id or after_id, not both.');
      const pageSize = Math.min(limit ?? DEFAULT_LIMIT, MAX_LIMIT);
      const page = await domain.mail.list(caller(request).user, { direction, limit: pageSize, beforeId: before_id, afterId: after_id });
      if (page.next) {
        const cursor = 'afterId' in page.next ? { after_id: page.next.afterId, before_id: undefined } : { before_id: page.next.beforeId, after_id: undefined };
        reply.header('link', nextLink(request, { ...cursor, limit: pageSize }));
      }
      return sendMessages(reply, page.messages, readAttachment);
    },
  });

  app.get('/api/messages/:id/', {
    schema: {
      tags: ['messages'],
      summary: 'One message, to its sender or recipient',
      security: authSecurity,
      params: Type.Object({ id: Type.String() }),
      response: { 200: Type.Ref('Message'), ...errorResponses(401, 403, 404) },
    },
    handler: async (request, reply) => sendMessage(reply, 200, await domain.mail.get(caller(request).user, parseId(request.params.id, 'Message not found.'))),
  });
}
