/**
 * What Redis pub/sub costs at a deployment's event rate (docs/deploy.md,
 * "Capacity"): one publisher sends event-sized messages (the JSON an
 * instance publishes per send) at a fixed rate, pipelined as ioredis does
 * within one tick, to SUBSCRIBERS connections that each parse every
 * message, as every instance does. Prints Redis's CPU per delivery (from
 * /proc, so Redis must run on this machine) and this process's.
 *
 *   npx tsx bench/redis-fan-out.ts [SUBSCRIBERS=12] [PUBLISHES_PER_SECOND=10000]
 *
 * Uses BENCH_REDIS_URL, else TEST_REDIS_URL, else redis://127.0.0.1:6379.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { cpuMs } from './lib/processes.ts';

const SUBSCRIBERS = Number(process.argv[2] ?? 12);
const RATE = Number(process.argv[3] ?? 10_000);
const SECONDS = 6;
const TICK_MS = 10;
const url = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const redisPid = readdirSync('/proc')
  .filter((entry) => /^\d+$/.test(entry))
  .find((entry) => {
    try {
      return readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'redis-server';
    } catch {
      return false;
    }
  });
if (!redisPid) throw new Error('no redis-server process on this machine: this benchmark reads its CPU from /proc');

const channel = `securechat-bench-fan-out-${process.pid}`;
let received = 0;
const subscribers = await Promise.all(
  Array.from({ length: SUBSCRIBERS }, async () => {
    const redis = new Redis(url);
    await redis.subscribe(channel);
    redis.on('message', (_channel, text) => {
      JSON.parse(text);
      received++;
    });
    return redis;
  }),
);
const publisher = new Redis(url);
const event = JSON.stringify({ o: '3f2b8c1e-9d4a-4c6b-8e2f-1a7d5c9b0e34', t: 'message', id: 123456789, s: 12345, r: 67890 });

const perTick = (RATE * TICK_MS) / 1000;
const ownBefore = process.cpuUsage();
const redisBefore = cpuMs(Number(redisPid));
const start = performance.now();
let sent = 0;
while (performance.now() - start < SECONDS * 1000) {
  const pipeline = publisher.pipeline();
  for (let i = 0; i < perTick; i++) pipeline.publish(channel, event);
  await pipeline.exec();
  sent += perTick;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + (sent / RATE) * 1000 - performance.now())));
}
await new Promise((resolve) => setTimeout(resolve, 500));
const elapsed = (performance.now() - start) / 1000;
const redisMs = cpuMs(Number(redisPid)) - redisBefore;
const own = process.cpuUsage(ownBefore);
const ownMs = (own.user + own.system) / 1000;
console.log(
  `${SUBSCRIBERS} subscribers, ${(sent / elapsed).toFixed(0)} publishes/s of ${event.length} B: ${(received / elapsed).toFixed(0)} deliveries/s ` +
    `(${received} of ${sent * SUBSCRIBERS}); redis-server ${(redisMs / elapsed / 10).toFixed(1)} % of a core, ${((redisMs / received) * 1000).toFixed(2)} µs per delivery; ` +
    `publisher and subscribers ${((ownMs / received) * 1000).toFixed(2)} µs per delivery`,
);
await Promise.all([...subscribers, publisher].map((redis) => redis.quit()));
