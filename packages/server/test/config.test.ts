import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 8000,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:./data/securechat.db',
      redisUrl: null,
      redisPrefix: 'securechat',
      metrics: false,
      kdfIterations: 600_000,
      rsaBits: 2048,
      maxKeyVersions: 100,
      maxAttachmentBytes: 26_214_400,
      tokenTtlDays: 30,
      rateLimitAuthPerMin: 20,
      logLevel: 'info',
      trustProxy: false,
      webRoot: expect.stringMatching(/packages\/web\/dist\/$/),
      pageAttachmentBytes: 16 * 1024 * 1024,
      largeBodyMemoryBytes: 96 * 1024 * 1024,
      realtimeMaxConnectionsPerUser: 20,
      realtimeMaxQueuedBytes: 1024 * 1024,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9000', HOST: '0.0.0.0', DATABASE_URL: 'sqlite::memory:', KDF_ITERATIONS: '700000', RSA_BITS: '4096',
      MAX_ATTACHMENT_BYTES: '1024', TOKEN_TTL_DAYS: '7', RATE_LIMIT_AUTH_PER_MIN: '0', LOG_LEVEL: 'warn', TRUST_PROXY: 'true',
    });
    expect(config).toMatchObject({ port: 9000, host: '0.0.0.0', databaseUrl: 'sqlite::memory:', kdfIterations: 700_000, rsaBits: 4096, maxAttachmentBytes: 1024, tokenTtlDays: 7, rateLimitAuthPerMin: 0, logLevel: 'warn', trustProxy: true });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes PostgreSQL + Redis (B 12) and never prints a URL password in an error', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://chat@db:5432/chat', REDIS_URL: 'redis://cache:6379', METRICS: 'on' });
    expect(config).toMatchObject({ databaseUrl: 'postgres://chat@db:5432/chat', redisUrl: 'redis://cache:6379', metrics: true });
    expect(() => loadConfig({ DATABASE_URL: 'sqlite::memory:', REDIS_URL: 'redis://cache:6379' })).toThrow(/REDIS_URL needs DATABASE_URL=postgres/);
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://chat:hunter2secret@db/chat', REDIS_URL: 'http://u:s3cretpass@cache' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL must be/);
    expect(message).toMatch(/REDIS_URL must be/);
    expect(message).not.toMatch(/hunter2secret|s3cretpass/);
  });

  it('reports every invalid variable by name at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', KDF_ITERATIONS: '1000', RSA_BITS: '1024', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', MAX_ATTACHMENT_BYTES: '-5', TOKEN_TTL_DAYS: '1.5', TRUST_PROXY: 'maybe' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['PORT', 'KDF_ITERATIONS', 'RSA_BITS', 'DATABASE_URL', 'LOG_LEVEL', 'MAX_ATTACHMENT_BYTES', 'TOKEN_TTL_DAYS', 'TRUST_PROXY']) {
      expect(message).toContain(name);
    }
  });

  it.each(['2048', '3072', '4096'])('allows RSA_BITS=%s', (bits) => {
    expect(loadConfig({ RSA_BITS: bits }).rsaBits).toBe(Number(bits));
  });

  it('refuses RSA sizes between the allowed ones', () => {
    expect(() => loadConfig({ RSA_BITS: '2500' })).toThrow(/RSA_BITS/);
  });
});
