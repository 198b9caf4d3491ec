/**
 * The Redis link between instances (B 12), against a real Redis
 * (TEST_REDIS_URL; skipped with a banner without it): events and cache
 * invalidations cross between instances, an instance never hears its own
 * back, and a link that is down degrades to database re-checks instead of
 * failing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectRedis, type SharedRedis } from '../src/redis/index.ts';
import type { FanOutEvent } from '../src/realtime/fan-out.ts';
import type { CacheChange } from '../src/store/index.ts';

const REDIS_URL = process.env.TEST_REDIS_URL;
/** Our own channels: other tests may use the same Redis at the same time. */
const PREFIX = `test-fan-out-${process.pid}`;

async function until(condition: () => boolean, what: string, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(!REDIS_URL)('Redis fan-out between instances', () => {
  const opened: SharedRedis[] = [];
  const open = async (url = REDIS_URL!, prefix = PREFIX) => {
    const shared = connectRedis(url, prefix);
    shared.link.log = { info: () => {}, warn: () => {} };
    opened.push(shared);
    return shared;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((shared) => shared.close()));
  });

  it('carries message, key and session events to the other instance once, and never back to the sender', async () => {
    const a = await open();
    const b = await open();
    await until(() => a.link.status === 'up' && b.link.status === 'up', 'both links up');
    const onA: FanOutEvent[] = [];
    const onB: FanOutEvent[] = [];
    a.fanOut.subscribe(7, (event) => onA.push(event));
    b.fanOut.subscribe(7, (event) => onB.push(event));
    b.fanOut.subscribe(8, (event) => onB.push(event));
    await new Promise((resolve) => setTimeout(resolve, 100)); // subscriptions settle

    a.fanOut.publish({ type: 'message', id: 41, senderId: 8, recipientId: 7 });
    a.fanOut.publish({ type: 'key_rotated', userId: 7, keyId: 3 });
    a.fanOut.publish({ type: 'sessions_changed', userId: 7 });
    await until(() => onB.length >= 4, 'events on B');
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(onA.map((e) => e.type)).toEqual(['message', 'key_rotated', 'sessions_changed']); // local, once
    expect(onB).toEqual([
      { type: 'message', id: 41, senderId: 8, recipientId: 7 }, // to the recipient's listener (no view: B reads it)
      { type: 'message', id: 41, senderId: 8, recipientId: 7 }, // and to the sender's
      { type: 'key_rotated', userId: 7, keyId: 3 },
      { type: 'sessions_changed', userId: 7 },
    ]);
  });

  it('keeps deployments that share one Redis apart (REDIS_PREFIX)', async () => {
    const ours = await open();
    const theirs = await open(REDIS_URL!, `${PREFIX}-other`);
    await until(() => ours.link.status === 'up' && theirs.link.status === 'up', 'both links up');
    const heard: FanOutEvent[] = [];
    theirs.fanOut.subscribe(7, (event) => heard.push(event));
    const control = await open();
    const controlHeard: FanOutEvent[] = [];
    control.fanOut.subscribe(7, (event) => controlHeard.push(event));
    await until(() => control.link.status === 'up', 'control link up');
    ours.fanOut.publish({ type: 'key_rotated', userId: 7, keyId: 2 });
    await until(() => controlHeard.length === 1, 'the same deployment hears it');
    expect(heard).toEqual([]);
  });

  it('carries cache invalidations to the other instances only', async () => {
    const a = await open();
    const b = await open();
    await until(() => a.link.status === 'up' && b.link.status === 'up', 'both links up');
    const onA: CacheChange[] = [];
    const onB: CacheChange[] = [];
    a.fanOut.invalidation.subscribe((change) => onA.push(change));
    b.fanOut.invalidation.subscribe((change) => onB.push(change));
    a.fanOut.invalidation.publish({ kind: 'key', userId: 5 });
    a.fanOut.invalidation.publish({ kind: 'sessions' });
    await until(() => onB.length === 2, 'invalidations on B');
    expect(onB).toEqual([{ kind: 'key', userId: 5 }, { kind: 'sessions' }]);
    expect(onA).toEqual([]);
  });

  it('without a reachable Redis: starts, says why on status, publishes nowhere without throwing, and has every connection re-check the database each second', async () => {
    const down = await open('redis://127.0.0.1:1');
    expect(down.link.status).toBe('down');
    const seen: FanOutEvent[] = [];
    down.fanOut.subscribe(3, (event) => seen.push(event));
    expect(() => down.fanOut.publish({ type: 'message', id: 1, senderId: 3, recipientId: 3 })).not.toThrow();
    await until(() => seen.filter((e) => e.type === 'recheck').length >= 2, 'two re-checks', 3_500);
    expect(seen[0]).toMatchObject({ type: 'message', id: 1 }); // local delivery still works
    expect(down.link.problem).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1 is not reachable/);
  });

  it('after the link was cut and came back: one re-check, so what was published meanwhile is read from the database', async () => {
    const a = await open();
    await until(() => a.link.status === 'up', 'link up');
    const seen: FanOutEvent[] = [];
    a.fanOut.subscribe(9, (event) => seen.push(event));
    await a.link.client.call('CLIENT', 'KILL', 'TYPE', 'pubsub'); // cuts every subscriber connection, ours included
    await until(() => seen.some((e) => e.type === 'recheck'), 'a re-check after reconnecting', 5_000);
    await until(() => a.link.status === 'up', 'link up again');
  });
});

if (!REDIS_URL) {
  process.stderr.write('\n!! REDIS TESTS SKIPPED (redis-fan-out.test.ts): set TEST_REDIS_URL=redis://127.0.0.1:6379 to run them (.ci/run does).\n\n');
}
