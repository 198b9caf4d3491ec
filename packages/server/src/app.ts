/**
 * buildApp(deps): the Fastify application — parsers, validation, auth, rate
 * limits, routes, the error handler and the OpenAPI document. No listening,
 * no process concerns (see main.ts), so tests call it in-process.
 *
 * @example
 * const app = await buildApp({ config: loadConfig({ DATABASE_URL: 'sqlite::memory:' }), store });
 * const res = await app.inject({ method: 'GET', url: '/healthz' });
 */
import Fastify, { type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import type { Config } from './config.ts';
import { encodedLength } from './crypto/base64.ts';
import { Accounts } from './domain/accounts.ts';
import { Directory } from './domain/directory.ts';
import { TooManyRequests } from './domain/errors.ts';
import { Keyring } from './domain/keyring.ts';
import { Mail } from './domain/mail.ts';
import { Sessions } from './domain/sessions.ts';
import { authRoutes } from './http/auth.ts';
import type { App, Domain, RateLimitHook, RouteOptions } from './http/context.ts';
import { errorHandler, notFoundHandler } from './http/errors.ts';
import { useJsonBodies } from './http/json-body.ts';
import { keyRoutes } from './http/keys.ts';
import { messageRoutes } from './http/messages.ts';
import { opsRoutes } from './http/ops.ts';
import { lazyChildLoggerFactory } from './http/request-logger.ts';
import { sharedSchemas } from './http/schemas.ts';
import { userRoutes } from './http/users.ts';
import type { Store } from './store/index.ts';

export interface AppDeps {
  config: Config;
  store: Store;
  /** Where logs go; defaults to stdout. Tests pass a stream to inspect them. */
  logStream?: NodeJS.WritableStream;
}

/** Room in a send body for everything but the attachment (text, names, JSON). */
const BODY_OVERHEAD_BYTES = 2 * 1024 * 1024;

/** Log fields that may hold secrets; pino replaces them with "[Redacted]". */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-auth-token"]',
  '*.password',
  '*.old_password',
  '*.new_password',
  '*.message',
  '*.attachment_data',
  '*.token',
  '*.private_key',
];

function loggerOptions(deps: AppDeps): FastifyServerOptions['logger'] {
  const options = { level: deps.config.logLevel, redact: { paths: REDACTED_PATHS, censor: '[Redacted]' } };
  return deps.logStream ? { ...options, stream: deps.logStream } : options;
}

/**
 * Bodies are validated strictly (no type coercion: a number is not a
 * username); query strings and path params are text, so they are coerced.
 */
function validatorCompiler() {
  const strict = new Ajv({ coerceTypes: false, allErrors: true, strict: false });
  const coercing = new Ajv({ coerceTypes: true, allErrors: true, strict: false });
  for (const schema of sharedSchemas) {
    strict.addSchema(schema);
    coercing.addSchema(schema);
  }
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? strict : coercing).compile(schema);
}

export function buildDomain(store: Store, config: Config): Domain {
  const keyring = new Keyring(store, config);
  const sessions = new Sessions(store, config);
  return {
    store,
    sessions,
    accounts: new Accounts(store, keyring, sessions, config),
    directory: new Directory(store),
    mail: new Mail(store, keyring, config),
  };
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config } = deps;
  const app = Fastify({
    logger: loggerOptions(deps),
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: encodedLength(config.maxAttachmentBytes) + BODY_OVERHEAD_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    trustProxy: config.trustProxy,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler());
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('auth', null);
  for (const schema of sharedSchemas) app.addSchema(schema);

  useJsonBodies(app);
  closeKeepAliveOnShutdown(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'SecureChat API', version: '1.0.0', description: 'End-to-end-capable encrypted messaging. See API.md for the wire format.' },
      components: {
        securitySchemes: {
          tokenHeader: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });

  const options: RouteOptions = { domain: buildDomain(deps.store, config), authRateLimit: await authRateLimit(app, config) };
  await app.register(opsRoutes, options);
  await app.register(authRoutes, options);
  await app.register(userRoutes, options);
  await app.register(keyRoutes, options);
  await app.register(messageRoutes, options);
  return app;
}

/**
 * One budget per client IP shared by login, register and rotate
 * (`RATE_LIMIT_AUTH_PER_MIN` a minute): the CPU-heavy, guessable endpoints.
 */
async function authRateLimit(app: App, config: Config): Promise<RateLimitHook> {
  if (config.rateLimitAuthPerMin === 0) return async () => {};
  await app.register(rateLimit, { global: false });
  const check = app.createRateLimit({ max: config.rateLimitAuthPerMin, timeWindow: 60_000 });
  return async (request) => {
    const limit = await check(request);
    if (!limit.isAllowed && limit.isExceeded) throw new TooManyRequests(limit.ttlInSeconds);
  };
}

/**
 * app.close() only closes connections that are idle at that moment; a
 * keep-alive connection whose request is still running would hold the
 * process open afterwards. While closing, connections are therefore let go
 * a moment after their last response (instead of a per-request hook).
 */
function closeKeepAliveOnShutdown(app: App): void {
  app.addHook('preClose', async () => {
    app.server.keepAliveTimeout = 1;
  });
}
