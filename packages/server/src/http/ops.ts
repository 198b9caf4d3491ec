/** Liveness, readiness and the OpenAPI document (Part B8). */
import { Type } from '@sinclair/typebox';
import { AppError } from '../domain/errors.ts';
import type { App, RouteOptions } from './context.ts';
import { errorResponses } from './schemas.ts';

export async function opsRoutes(app: App, { domain, limits, degradations }: RouteOptions): Promise<void> {
  const Status = Type.Object({ status: Type.String() });
  const Readiness = Type.Object({
    status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')]),
    missing: Type.Optional(Type.Array(Type.String(), { description: 'What is unreachable, e.g. "redis"' })),
    detail: Type.Optional(Type.String({ description: 'What the degradation means for users' })),
  });

  app.get('/api/limits/', {
    schema: {
      tags: ['ops'],
      summary: 'What this server accepts, so a client can refuse a file before encrypting and uploading it',
      response: { 200: Type.Object({ max_attachment_bytes: Type.Integer({ description: 'Largest attachment, in bytes before encryption and base64' }) }) },
    },
    handler: async () => ({ max_attachment_bytes: limits.maxAttachmentBytes }),
  });

  app.get('/healthz', {
    schema: { tags: ['ops'], summary: 'Liveness: the process answers', response: { 200: Status } },
    handler: async () => ({ status: 'ok' }),
  });

  app.get('/readyz', {
    schema: {
      tags: ['ops'],
      summary: 'Readiness: the database answers (503 if not); "degraded" with what is missing when Redis does not (B 12: the instance still serves)',
      response: { 200: Readiness, ...errorResponses(503) },
    },
    handler: async (request) => {
      try {
        await domain.store.ping();
      } catch (error) {
        request.log.error({ err: error }, 'database not reachable');
        throw new AppError(503, 'Database is not reachable.');
      }
      const problems = degradations();
      if (problems.length === 0) return { status: 'ready' as const };
      return { status: 'degraded' as const, missing: problems.map((p) => p.component), detail: problems.map((p) => p.detail).join(' ') };
    },
  });

  app.get('/api/openapi.json', {
    schema: { hide: true },
    handler: async () => app.swagger(),
  });
}
