/**
 * The Redis link of one instance (API B 12): a client that publishes and
 * counts (rate limits), and one that listens. Redis is a hint and a counter,
 * never the source of truth, so an instance starts and serves without it:
 * while it is unreachable the instance is *degraded* — events from other
 * instances reach its connections through a database re-check every second
 * instead of at once, rate limits are not counted, caches rely on their
 * maximum age — and says so once in the log and on /readyz.
 *
 * @example
 * const link = new RedisLink('redis://127.0.0.1:6379');
 * link.onMessage((channel, text) => ...);
 * link.publish('securechat:events', '{"t":"message",...}');
 * link.status; // 'up' | 'down'
 */
import { Redis } from 'ioredis';
import { redactUrl } from '../config.ts';

/** This deployment's channels and keys: several deployments may share one Redis (REDIS_PREFIX). */
export function redisNames(prefix: string) {
  return Object.freeze({ events: `${prefix}:v1:events`, invalidate: `${prefix}:v1:invalidate`, rateLimit: `${prefix}:v1:rate:` });
}
export type RedisNames = ReturnType<typeof redisNames>;

/** Reconnect after 100 ms, 200 ms, … at most every 2 s, for ever. */
const retryStrategy = (attempt: number): number => Math.min(100 * attempt, 2_000);

export class RedisLink {
  /** Publishes and counts; commands fail at once while disconnected (no queue that grows while Redis is away). */
  readonly client: Redis;
  readonly #subscriber: Redis;
  /** Where up/down transitions are logged; main.ts points it at the app's logger once there is one. */
  log: Pick<Console, 'info' | 'warn'> = { info: (m) => console.error(m), warn: (m) => console.error(m) };
  readonly #url: string;
  readonly names: RedisNames;
  #status: 'up' | 'down' = 'down';
  #lastError = 'not connected yet';
  readonly #statusListeners = new Set<(status: 'up' | 'down') => void>();

  constructor(url: string, prefix = 'securechat') {
    this.names = redisNames(prefix);
    this.#url = redactUrl(url);
    const options = { retryStrategy, maxRetriesPerRequest: 0, connectTimeout: 2_000, lazyConnect: false };
    this.client = new Redis(url, { ...options, enableOfflineQueue: false, connectionName: prefix });
    this.#subscriber = new Redis(url, { ...options, enableOfflineQueue: true, connectionName: `${prefix}-sub` });
    for (const connection of [this.client, this.#subscriber]) {
      connection.on('error', (error: Error) => (this.#lastError = error.message));
      connection.on('ready', () => this.#update());
      connection.on('close', () => this.#update());
    }
    void this.#subscriber.subscribe(this.names.events, this.names.invalidate).catch((error: Error) => (this.#lastError = error.message));
  }

  /** 'up' while both connections are ready. */
  get status(): 'up' | 'down' {
    return this.#status;
  }

  /** Why it is down, for /readyz. */
  get problem(): string | null {
    return this.#status === 'up' ? null : `Redis at ${this.#url} is not reachable (${this.#lastError}): serving from the database alone, realtime events from other instances are delayed up to 1 s and auth rate limits are not counted.`;
  }

  onStatus(listener: (status: 'up' | 'down') => void): void {
    this.#statusListeners.add(listener);
  }

  onMessage(listener: (channel: string, text: string) => void): void {
    this.#subscriber.on('message', listener);
  }

  /** Never throws: a publish that fails is a lost hint, which the receivers' re-checks cover. */
  publish(channel: string, text: string): void {
    if (this.#status !== 'up') return;
    this.client.publish(channel, text).catch((error: Error) => (this.#lastError = error.message));
  }

  async close(): Promise<void> {
    this.#statusListeners.clear();
    this.client.disconnect();
    this.#subscriber.disconnect();
  }

  #update(): void {
    const status = this.client.status === 'ready' && this.#subscriber.status === 'ready' ? 'up' : 'down';
    if (status === this.#status) return;
    this.#status = status;
    if (status === 'up') this.log.info('Redis link up: realtime events, rate limits and cache invalidation are shared with the other instances');
    else this.log.warn(`Redis link down: ${this.problem}`);
    for (const listener of this.#statusListeners) listener(status);
  }
}
