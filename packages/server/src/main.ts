/**
 * The server process: read config, open the store (migrations run), build the
 * app, listen; on SIGTERM/SIGINT stop accepting, let in-flight requests
 * finish, close the database, exit.
 */
import './gc-schedule.ts';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { startCipherPool } from './crypto/cipher-pool.ts';
import { connectRedis } from './redis/index.ts';
import { openStore } from './store/index.ts';

/** How long in-flight requests get to finish after SIGTERM/SIGINT. */
const SHUTDOWN_GRACE_MS = 30_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  // B 12: Redis carries events, counters and cache invalidation between instances; the database is the truth.
  const redis = config.redisUrl ? connectRedis(config.redisUrl, config.redisPrefix) : null;
  const store = await openStore(config.databaseUrl, { invalidation: redis?.fanOut.invalidation });
  await store.sessions.deleteExpired(new Date().toISOString());
  const app = await buildApp({ config, store, fanOut: redis?.fanOut, redis: redis?.link });
  if (redis) redis.link.log = { info: (message) => app.log.info(message), warn: (message) => app.log.warn(message) };
  if (store.engine === 'postgres' && !redis) {
    app.log.warn('PostgreSQL without REDIS_URL: run one instance only — several need REDIS_URL to share realtime events, rate limits and cache invalidation (docs/deploy.md)');
  }
  startCipherPool();
  app.addHook('onClose', async () => {
    await store.close();
    await redis?.close();
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    setTimeout(() => {
      app.log.error(`requests still running after ${SHUTDOWN_GRACE_MS} ms; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  console.error('SecureChat failed to start:', error);
  process.exit(1);
});
