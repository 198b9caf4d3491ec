/** /api/keys/: envelopes of every key version, and rotation (Part A + B1). */
import { Type } from '@sinclair/typebox';
import { authSecurity, caller, requireAuth, type App, type RouteOptions } from './context.ts';
import { clientKeyPairOf } from '../domain/client-crypto.ts';
import { ClientKeyPairFields, errorResponses, SigningKeyFields } from './schemas.ts';

export async function keyRoutes(app: App, { domain, authRateLimit }: RouteOptions): Promise<void> {
  requireAuth(app, domain.sessions);

  app.get('/api/keys/', {
    schema: {
      tags: ['keys'],
      summary: "All of the caller's key versions, newest first",
      security: authSecurity,
      response: { 200: Type.Array(Type.Ref('Envelope')), ...errorResponses(401) },
    },
    handler: async (request) => domain.accounts.envelopes(caller(request).user),
  });

  app.post('/api/keys/rotate/', {
    onRequest: authRateLimit,
    schema: {
      tags: ['keys'],
      summary: 'Re-check the password and make a new key version current (server-made, or the client’s own); older versions are kept',
      security: authSecurity,
      body: Type.Object({ password: Type.String({ maxLength: 1024 }), ...ClientKeyPairFields, ...SigningKeyFields }),
      response: { 200: Type.Ref('Envelope'), ...errorResponses(400, 401, 409, 413, 415, 429) },
    },
    handler: async (request) => domain.accounts.rotateKeys(caller(request).user, request.body.password, clientKeyPairOf(request.body)),
  });
}
