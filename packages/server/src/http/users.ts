/** /api/users/, /api/users/{username}/public-key/ and /api/users/{username}/keys/ (Part A + B1, B3, B11). */
import { Type } from '@sinclair/typebox';
import { authSecurity, caller, requireAuth, type App, type RouteOptions } from './context.ts';
import { canonicalIntegers, nextLink } from './pagination.ts';
import { errorResponses } from './schemas.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

export async function userRoutes(app: App, { domain }: RouteOptions): Promise<void> {
  requireAuth(app, domain.sessions);

  app.get('/api/users/', {
    preValidation: canonicalIntegers('limit', 'offset'),
    schema: {
      tags: ['users'],
      summary: 'Other users and their current public keys, by id',
      security: authSecurity,
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, description: `default ${DEFAULT_LIMIT}, larger values clamped to ${MAX_LIMIT}` })),
        offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
        search: Type.Optional(Type.String({ maxLength: 150, description: 'case-insensitive username prefix' })),
      }),
      response: { 200: Type.Array(Type.Ref('PublicKeyEntry')), ...errorResponses(400, 401) },
    },
    handler: async (request, reply) => {
      const limit = Math.min(request.query.limit ?? DEFAULT_LIMIT, MAX_LIMIT);
      const offset = request.query.offset ?? 0;
      const page = await domain.directory.list(caller(request).user, { limit, offset, search: request.query.search });
      if (page.hasMore) reply.header('link', nextLink(request, { limit, offset: offset + limit }));
      return page.users;
    },
  });

  app.get('/api/users/:username/public-key/', {
    schema: {
      tags: ['users'],
      summary: "A user's current public key",
      security: authSecurity,
      params: Type.Object({ username: Type.String() }),
      response: { 200: Type.Ref('PublicKeyEntry'), ...errorResponses(401, 404) },
    },
    handler: async (request) => domain.directory.publicKeyOf(request.params.username),
  });

  app.get('/api/users/:username/keys/', {
    schema: {
      tags: ['users'],
      summary: "Every key version of a user, oldest first, with signing keys and key signatures, to check the key chain (Part B 11)",
      security: authSecurity,
      params: Type.Object({ username: Type.String() }),
      response: { 200: Type.Array(Type.Ref('KeyVersion')), ...errorResponses(401, 404) },
    },
    handler: async (request) => domain.directory.keyHistoryOf(request.params.username),
  });
}
