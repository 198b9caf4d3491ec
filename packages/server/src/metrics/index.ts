/**
 * `GET /metrics` in Prometheus text format (API B 12; `METRICS=on`, off by
 * default): requests by route template and status, their latency, messages
 * committed and the size of each group commit, cache hits, open realtime
 * connections, the Redis link and the database pool. Labels are route
 * templates (`/api/users/:username/keys/`), methods and status codes only:
 * never a username, a token or an id. The endpoint has no authentication:
 * expose it to your scraper only (docs/deploy.md).
 *
 * @example
 * if (config.metrics) useMetrics(app, { store, redis, realtimeConnections: () => hub.size });
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { App } from '../http/context.ts';
import type { RedisLink } from '../redis/link.ts';
import type { Store } from '../store/ports.ts';

export interface MetricsSources {
  store: Store;
  redis?: RedisLink;
  /** Realtime connections open now (WebSocket + SSE). */
  realtimeConnections: () => number;
}

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export function useMetrics(app: App, sources: MetricsSources): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new Counter({ name: 'securechat_http_requests_total', help: 'HTTP requests answered, by route template, method and status', labelNames: ['route', 'method', 'status'], registers });
  const latency = new Histogram({
    name: 'securechat_http_request_duration_seconds',
    help: 'Time from request to response, by route template and method',
    labelNames: ['route', 'method'],
    buckets: LATENCY_BUCKETS_S,
    registers,
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    done();
  });

  const committed = new Counter({ name: 'securechat_messages_committed_total', help: 'Messages stored (each durable before its 201)', registers });
  const batches = new Histogram({ name: 'securechat_commit_batch_messages', help: 'Messages per group-committed transaction', buckets: BATCH_BUCKETS, registers });
  sources.store.observeCommits?.((messages) => {
    committed.inc(messages);
    batches.observe(messages);
  });

  const counted = new Map<string, number>();
  new Counter({
    name: 'securechat_cache_lookups_total',
    help: 'Cache lookups, answered from memory (hit) or passed to the database (miss)',
    labelNames: ['cache', 'result'],
    registers,
    collect() {
      // The caches count for themselves; each scrape adds what they counted since the last one.
      for (const { cache, hits, misses } of sources.store.cacheStats?.() ?? []) {
        for (const [result, total] of [['hit', hits], ['miss', misses]] as const) {
          const key = `${cache}:${result}`;
          this.inc({ cache, result }, total - (counted.get(key) ?? 0));
          counted.set(key, total);
        }
      }
    },
  });
  new Gauge({
    name: 'securechat_realtime_connections',
    help: 'Realtime connections open (WebSocket and SSE)',
    registers,
    collect() {
      this.set(sources.realtimeConnections());
    },
  });
  if (sources.redis) {
    const redis = sources.redis;
    new Gauge({
      name: 'securechat_redis_up',
      help: '1 while the Redis link (events, rate limits, cache invalidation) is up',
      registers,
      collect() {
        this.set(redis.status === 'up' ? 1 : 0);
      },
    });
  }
  if (sources.store.poolStats) {
    const poolStats = sources.store.poolStats;
    new Gauge({
      name: 'securechat_db_pool_connections',
      help: 'Database pool connections by state; "waiting" counts queries waiting for one',
      labelNames: ['state'],
      registers,
      collect() {
        const { total, idle, waiting } = poolStats();
        this.set({ state: 'open' }, total);
        this.set({ state: 'idle' }, idle);
        this.set({ state: 'waiting' }, waiting);
      },
    });
  }

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
