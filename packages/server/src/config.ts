/**
 * Environment → one frozen, validated `Config`. Every problem is reported at
 * once, with the variable's name, so a misconfigured server never starts.
 *
 * @example
 * const config = loadConfig({ PORT: '9000', DATABASE_URL: 'sqlite::memory:' });
 */

import { fileURLToPath } from 'node:url';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const RSA_SIZES = [2048, 3072, 4096] as const;

export interface Config {
  readonly port: number;
  readonly host: string;
  /** `sqlite:<path>`, `sqlite::memory:` or `postgres://…` (PostgreSQL 15+, API B 12) */
  readonly databaseUrl: string;
  /** `redis://…`: realtime fan-out, rate-limit counters and cache invalidation shared by every instance (B 12); null alone. */
  readonly redisUrl: string | null;
  /** Prefix of this deployment's Redis channels and keys, so several deployments can share one Redis. */
  readonly redisPrefix: string;
  /** `GET /metrics` in Prometheus format (METRICS=on). */
  readonly metrics: boolean;
  /** PBKDF2 rounds for envelopes the server seals. */
  readonly kdfIterations: number;
  readonly rsaBits: (typeof RSA_SIZES)[number];
  /** Key versions an account may have; rotation stops there (a password change re-seals each one). */
  readonly maxKeyVersions: number;
  /** Largest attachment, in decoded bytes. */
  readonly maxAttachmentBytes: number;
  readonly tokenTtlDays: number;
  /** Auth attempts per minute per client IP; 0 turns rate limiting off. */
  readonly rateLimitAuthPerMin: number;
  readonly logLevel: LogLevel;
  /** Behind a reverse proxy: take the client IP from X-Forwarded-For. */
  readonly trustProxy: boolean | number | string;
  /** Most attachment bytes one mailbox page carries; a page ends early (with its Link) rather than exceed it. */
  readonly pageAttachmentBytes: number;
  /** Memory for request bodies over 64 KiB in flight at once; beyond it, 503 with Retry-After. */
  readonly largeBodyMemoryBytes: number;
  /** Realtime connections (WebSocket and SSE together) one user may hold; the newest over it is refused (4429 / 429). */
  readonly realtimeMaxConnectionsPerUser: number;
  /** Bytes queued for a realtime reader that does not keep up before its connection is closed (4408). */
  readonly realtimeMaxQueuedBytes: number;
  /** The built web client served at `/`, or null when `WEB_ROOT=off`. */
  readonly webRoot: string | null;
}

/** packages/web/dist, the same from src/ and from the compiled dist/. */
const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export const MIN_KDF_ITERATIONS = 100_000;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];

  function integer(name: string, fallback: number, min: number, max: number): number {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw.trim());
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  const port = integer('PORT', 8000, 0, 65535);
  const kdfIterations = integer('KDF_ITERATIONS', 600_000, MIN_KDF_ITERATIONS, 10_000_000);
  const maxAttachmentBytes = integer('MAX_ATTACHMENT_BYTES', 25 * 1024 * 1024, 1, 512 * 1024 * 1024);
  const tokenTtlDays = integer('TOKEN_TTL_DAYS', 30, 1, 3650);
  const rateLimitAuthPerMin = integer('RATE_LIMIT_AUTH_PER_MIN', 20, 0, 1_000_000);
  const pageAttachmentBytes = integer('PAGE_ATTACHMENT_BYTES', 16 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024);
  const largeBodyMemoryBytes = integer('LARGE_BODY_MEMORY_BYTES', 96 * 1024 * 1024, 1024 * 1024, 64 * 1024 * 1024 * 1024);
  const rsaBits = integer('RSA_BITS', 2048, 2048, 4096);
  const maxKeyVersions = integer('MAX_KEY_VERSIONS', 100, 1, 10_000);
  const realtimeMaxConnectionsPerUser = integer('REALTIME_MAX_CONNECTIONS_PER_USER', 20, 1, 10_000);
  const realtimeMaxQueuedBytes = integer('REALTIME_MAX_QUEUED_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024);
  if (!(RSA_SIZES as readonly number[]).includes(rsaBits)) problems.push(`RSA_BITS must be one of ${RSA_SIZES.join(', ')} (got "${env.RSA_BITS}")`);

  const host = env.HOST?.trim() || '127.0.0.1';
  const databaseUrl = env.DATABASE_URL?.trim() || 'sqlite:./data/securechat.db';
  const postgres = /^postgres(?:ql)?:\/\/./.test(databaseUrl);
  if (!postgres && (!databaseUrl.startsWith('sqlite:') || databaseUrl === 'sqlite:')) {
    problems.push(`DATABASE_URL must be "sqlite:<file path>", "sqlite::memory:" or "postgres://user@host:port/database" (got "${redactUrl(databaseUrl)}")`);
  }
  const redisUrl = env.REDIS_URL?.trim() || null;
  if (redisUrl !== null && !/^rediss?:\/\/./.test(redisUrl)) problems.push(`REDIS_URL must be "redis://host:port" or "rediss://…" (got "${redactUrl(redisUrl)}")`);
  if (redisUrl !== null && !postgres) problems.push('REDIS_URL needs DATABASE_URL=postgres://…: instances can only share a PostgreSQL database (SQLite serves one instance)');
  const redisPrefix = env.REDIS_PREFIX?.trim() || 'securechat';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(redisPrefix)) problems.push(`REDIS_PREFIX must be 1 to 64 letters, digits, dots, dashes or underscores (got "${env.REDIS_PREFIX}")`);
  const metricsRaw = env.METRICS?.trim().toLowerCase() || 'off';
  if (!['on', 'off', 'true', 'false', '1', '0'].includes(metricsRaw)) problems.push(`METRICS must be on or off (got "${env.METRICS}")`);
  const metrics = ['on', 'true', '1'].includes(metricsRaw);
  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);

  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems);

  const webRootRaw = env.WEB_ROOT?.trim() || DEFAULT_WEB_ROOT;
  const webRoot = webRootRaw.toLowerCase() === 'off' ? null : webRootRaw;

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port,
    host,
    databaseUrl,
    redisUrl,
    redisPrefix,
    metrics,
    kdfIterations,
    rsaBits: rsaBits as Config['rsaBits'],
    maxKeyVersions,
    maxAttachmentBytes,
    tokenTtlDays,
    rateLimitAuthPerMin,
    logLevel,
    trustProxy,
    pageAttachmentBytes,
    largeBodyMemoryBytes,
    realtimeMaxConnectionsPerUser,
    realtimeMaxQueuedBytes,
    webRoot,
  });
}

/**
 * TRUST_PROXY: `false`; `true` (trust every hop: the client IP is the first
 * address of X-Forwarded-For, so the proxy must replace that header); a hop
 * count; or the proxies' addresses / CIDR ranges (`127.0.0.1,10.0.0.0/8`,
 * also `loopback`, `uniquelocal`): the client IP is then the nearest address
 * that is not a trusted proxy, which a client cannot forge.
 */
function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | number | string {
  const value = raw?.trim() || 'false';
  if (/^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (/^\d{1,2}$/.test(value)) return Number(value) === 0 ? false : Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  const address = /^(?:loopback|linklocal|uniquelocal|[0-9a-f.:]+(?:\/\d{1,3})?)$/i;
  if (entries.every((entry) => address.test(entry) && /[0-9a-z]/i.test(entry))) return entries.join(',');
  problems.push(`TRUST_PROXY must be true, false, a number of proxy hops, or the proxies' addresses like 127.0.0.1,10.0.0.0/8 (got "${raw}")`);
  return false;
}

/** A URL as it may be printed: without its password. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}
