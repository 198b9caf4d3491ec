/** /api/auth/: register, login, logout, password change, sessions (Part A + B4, B5, B6). */
import { Type } from '@sinclair/typebox';
import { authSecurity, caller, parseId, requireAuth, type App, type RouteOptions } from './context.ts';
import { clientKeyPairOf } from '../domain/client-crypto.ts';
import { ClientKeyPairFields, errorResponses, Password, ResealedEnvelopeSchema, SigningKeyFields, USERNAME_PATTERN } from './schemas.ts';

const Registration = Type.Object({
  username: Type.String({ pattern: USERNAME_PATTERN, description: 'ASCII letters, digits and @.+-_, 1–150; unique ignoring case' }),
  password: Password('8–1024 characters, used exactly as typed (end-to-end clients send their login secret)'),
  ...ClientKeyPairFields,
  ...SigningKeyFields,
});

/** Most envelopes one password change may carry: one per key version. */
const MAX_ENVELOPES = 1_000;
/** A re-sealed envelope's JSON: an 8192-bit key's sealed PKCS#8 is ~8.6 KB of base64, the other fields a few hundred bytes. */
const ENVELOPE_JSON_BYTES = 12 * 1024;
/** A password change carries every key version's envelope, so its body may be larger than others. */
export const PASSWORD_CHANGE_BODY_BYTES = 64 * 1024 + MAX_ENVELOPES * ENVELOPE_JSON_BYTES;

const PasswordChangeBody = Type.Object({
  old_password: Type.String({ maxLength: 1024 }),
  new_password: Password('the new password (or login secret), 8–1024 characters'),
  envelopes: Type.Optional(Type.Array(ResealedEnvelopeSchema, { maxItems: MAX_ENVELOPES, description: 'end-to-end accounts: every key version re-sealed by the client' })),
});

const LoginCredentials = Type.Object({
  username: Type.String({ maxLength: 150 }),
  password: Type.String({ maxLength: 1024 }),
});

export async function authRoutes(app: App, { domain, authRateLimit, largeBodies }: RouteOptions): Promise<void> {
  const userAgent = (headers: Record<string, unknown>) => (typeof headers['user-agent'] === 'string' ? headers['user-agent'] : '');

  app.post('/api/auth/register/', {
    onRequest: authRateLimit,
    schema: {
      tags: ['auth'],
      summary: 'Create an account and log in; the server generates the key pair unless the client sends its own',
      body: Registration,
      response: { 201: Type.Ref('AuthResult'), ...errorResponses(400, 413, 415, 429) },
    },
    handler: async (request, reply) => {
      const { username, password } = request.body;
      const result = await domain.accounts.register({ username, password, userAgent: userAgent(request.headers) }, clientKeyPairOf(request.body));
      return reply.code(201).send(result);
    },
  });

  app.post('/api/auth/login/', {
    onRequest: authRateLimit,
    schema: {
      tags: ['auth'],
      summary: 'Log in; returns a new token and the current envelope',
      body: LoginCredentials,
      response: { 200: Type.Ref('AuthResult'), ...errorResponses(400, 401, 413, 415, 429) },
    },
    handler: async (request) => domain.accounts.login({ ...request.body, userAgent: userAgent(request.headers) }),
  });

  await app.register(async (authed: App) => {
    requireAuth(authed, domain.sessions);

    authed.post('/api/auth/logout/', {
      schema: { tags: ['auth'], summary: 'Revoke the token of this request', security: authSecurity, response: { 204: Type.Null(), ...errorResponses(401) } },
      handler: async (request, reply) => {
        const { user, sessionId } = caller(request);
        await domain.sessions.revoke({ user, sessionId }, sessionId);
        return reply.code(204).send(null);
      },
    });

    authed.post('/api/auth/logout-all/', {
      schema: { tags: ['auth'], summary: "Revoke all of the caller's tokens, this one included", security: authSecurity, response: { 204: Type.Null(), ...errorResponses(401) } },
      handler: async (request, reply) => {
        await domain.sessions.revokeAll(caller(request).user.id);
        return reply.code(204).send(null);
      },
    });

    authed.post('/api/auth/password/', {
      onRequest: authRateLimit,
      bodyLimit: largeBodies.passwordChangeBodyBytes,
      preParsing: largeBodies.reserveMemory,
      schema: {
        tags: ['auth'],
        summary: 'Change the password: re-seal every key version, revoke the other sessions',
        security: authSecurity,
        body: PasswordChangeBody,
        response: { 200: Type.Array(Type.Ref('Envelope')), ...errorResponses(400, 401, 413, 415, 429) },
      },
      handler: async (request) => domain.accounts.changePassword(caller(request), request.body),
    });

    authed.get('/api/auth/sessions/', {
      schema: {
        tags: ['auth'],
        summary: "The caller's active sessions (never the tokens)",
        security: authSecurity,
        response: { 200: Type.Array(Type.Ref('Session')), ...errorResponses(401) },
      },
      handler: async (request) => domain.sessions.list(caller(request)),
    });

    authed.delete('/api/auth/sessions/:id/', {
      schema: {
        tags: ['auth'],
        summary: 'Revoke one of the caller’s sessions',
        security: authSecurity,
        params: Type.Object({ id: Type.String() }),
        response: { 204: Type.Null(), ...errorResponses(401, 404) },
      },
      handler: async (request, reply) => {
        await domain.sessions.revoke(caller(request), parseId(request.params.id, 'Session not found.'));
        return reply.code(204).send(null);
      },
    });
  });
}
