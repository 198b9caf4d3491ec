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
import { errorHandler, notFoundHandler, urlErrorHandler } from './http/errors.ts';
import { BodyBudget, reserveBodyMemory, SMALL_BODY_BYTES } from './http/body-budget.ts';
import { useJsonBodies } from './http/json-body.ts';
import { useSecurityHeaders } from './http/security-headers.ts';
import { PASSWORD_CHANGE_BODY_BYTES } from './http/auth.ts';
import { keyRoutes } from './http/keys.ts';
import { messageRoutes } from './http/messages.ts';
import { opsRoutes } from './http/ops.ts';
import { lazyChildLoggerFactory } from './http/request-logger.ts';
import { sharedSchemas } from './http/schemas.ts';
import { userRoutes } from './http/users.ts';
import { webApp } from './http/web-app.ts';
import type { Store } from './store/ports.ts';
import { LocalFanOut, type FanOut } from './realtime/fan-out.ts';
import type { RedisLink } from './redis/link.ts';
import { realtimeHubOf, realtimeOptions, realtimeRoutes, type RealtimeOptions } from './realtime/index.ts';
import { useMetrics } from './metrics/index.ts';

export interface AppDeps {
  config: Config;
  /** From openStore: with its caches. */
  store: Store;
  /** Realtime events between instances (Redis); in-process by default. */
  fanOut?: FanOut;
  /** The Redis link (B 12): shared rate-limit counters, and its state on /readyz. */
  redis?: RedisLink;
  /** Where logs go; defaults to stdout. Tests pass a stream to inspect them. */
  logStream?: NodeJS.WritableStream;
  /** Realtime timings (auth deadline, heartbeat, …) other than the defaults; tests shorten them. */
  realtime?: Partial<RealtimeOptions>;
}

/** Room in a send body for everything but the attachment (text, names, JSON). */
const BODY_OVERHEAD_BYTES = 2 * 1024 * 1024;
/** A socket with no traffic either way for this long is closed (a reader that stopped reading, a client that went away). */
const SOCKET_IDLE_MS = 60_000;
/** All headers must arrive within this; bodies have their own pace (http/body-deadlines.ts). */
const HEADERS_TIMEOUT_MS = 10_000;
/** A backstop for Node's own whole-request timer: the body deadlines end slow bodies long before it. */
const REQUEST_TIMEOUT_MS = 20 * 60_000;

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

export function buildDomain(store: Store, config: Config, fanOut: FanOut = new LocalFanOut()): Domain {
  // On SQLite an instance is alone on its database (one process per file); on PostgreSQL others may write too.
  const aloneOnDatabase = store.engine === 'sqlite';
  const keyring = new Keyring(store, config, fanOut);
  const sessions = new Sessions(store, config, fanOut);
  return {
    store,
    sessions,
    accounts: new Accounts(store, keyring, sessions, config, fanOut),
    directory: new Directory(store),
    mail: new Mail(store, keyring, config, fanOut, { aloneOnDatabase }),
    fanOut,
  };
}

export async function buildApp(deps: AppDeps): Promise<App> {
  const { config } = deps;
  const app = Fastify({
    logger: loggerOptions(deps),
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: SMALL_BODY_BYTES,
    connectionTimeout: SOCKET_IDLE_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    http: { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: 2_000 },
    // Usernames in paths are up to 150 characters; longer parameters are answered by urlErrorHandler.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    frameworkErrors: urlErrorHandler,
    // A hop count as the function form: Fastify's types take only that (its runtime takes the number too).
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler());
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('auth', null);
  for (const schema of sharedSchemas) app.addSchema(schema);

  useJsonBodies(app);
  useSecurityHeaders(app);
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

  const sendBodyBytes = encodedLength(config.maxAttachmentBytes) + BODY_OVERHEAD_BYTES;
  const budget = new BodyBudget(config.largeBodyMemoryBytes);
  const options: RouteOptions = {
    domain: buildDomain(deps.store, config, deps.fanOut ?? new LocalFanOut()),
    authRateLimit: await authRateLimit(app, config, deps.redis),
    largeBodies: { reserveMemory: reserveBodyMemory(budget), sendBodyBytes, passwordChangeBodyBytes: PASSWORD_CHANGE_BODY_BYTES },
    limits: { maxAttachmentBytes: config.maxAttachmentBytes },
    degradations: () => {
      const problem = deps.redis?.problem;
      return problem ? [{ component: 'redis', detail: problem }] : [];
    },
  };
  await app.register(opsRoutes, options);
  await app.register(authRoutes, options);
  await app.register(userRoutes, options);
  await app.register(keyRoutes, options);
  await app.register(messageRoutes, options);
  await app.register(realtimeRoutes, { ...options, realtime: realtimeOptions(config, deps.realtime) });
  if (config.metrics) useMetrics(app, { store: deps.store, redis: deps.redis, realtimeConnections: () => realtimeHubOf(app)?.size ?? 0 });
  if (config.webRoot) await app.register(webApp, { root: config.webRoot });
  return app;
}

/**
 * One budget per client IP shared by login, register and rotate
 * (`RATE_LIMIT_AUTH_PER_MIN` a minute): the CPU-heavy, guessable endpoints.
 * With Redis the counters are shared by every instance (B 12); while Redis
 * is unreachable requests are let through rather than refused.
 */
async function authRateLimit(app: App, config: Config, redis?: RedisLink): Promise<RateLimitHook> {
  if (config.rateLimitAuthPerMin === 0) return async () => {};
  await app.register(rateLimit, redis ? { global: false, redis: redis.client, nameSpace: redis.names.rateLimit, skipOnError: true } : { global: false });
  const check = app.createRateLimit({ max: config.rateLimitAuthPerMin, timeWindow: 60_000 });
  return async (request) => {
    const limit = await check(request);
    if (!limit.isAllowed && limit.isExceeded) throw new TooManyRequests(limit.ttlInSeconds);
  };
}

/** Trusts the `hops` proxies nearest to the server. */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
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
