/**
 * Shared state between instances (API B 12): the Redis link, and the
 * fan-out + cache invalidation that travel over it.
 *
 * @example
 * const shared = connectRedis(config.redisUrl, config.redisPrefix);
 * const store = await openStore(config.databaseUrl, { invalidation: shared.fanOut.invalidation });
 * const app = await buildApp({ config, store, fanOut: shared.fanOut, redis: shared.link });
 */
import { RedisFanOut } from './fan-out.ts';
import { RedisLink } from './link.ts';

export { RedisFanOut } from './fan-out.ts';
export { RedisLink } from './link.ts';

export interface SharedRedis {
  link: RedisLink;
  fanOut: RedisFanOut;
  close(): Promise<void>;
}

export function connectRedis(url: string, prefix?: string): SharedRedis {
  const link = new RedisLink(url, prefix);
  const fanOut = new RedisFanOut(link);
  return {
    link,
    fanOut,
    async close() {
      fanOut.close();
      await link.close();
    },
  };
}
