/**
 * Several instances on one PostgreSQL + Redis (API B 12), as real server
 * processes (compiled, as `npm start` runs them): what one instance
 * acknowledges, the others serve at once and deliver live; a revoked session
 * is refused everywhere within 1 s, also when Redis messages are lost; rate
 * limits are counted across instances; an instance killed mid-storm loses
 * nothing it acknowledged, and a client that moves to another instance
 * catches up without a gap or a repeat.
 *
 * Needs TEST_DATABASE_URL and TEST_REDIS_URL (`.ci/run` sets both); each
 * deployment here gets its own PostgreSQL schema and Redis prefix.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import { connectionString } from '../src/store/postgres/database.ts';
import { http, startServerProcess, type ServerProcess } from './server-process.ts';
import { inboxIds, listen } from './ws-listener.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL;
const REDIS_URL = process.env.TEST_REDIS_URL;

interface Deployment {
  instances: ServerProcess[];
  prefix: string;
}

const schemas: string[] = [];
const processes: ServerProcess[] = [];

afterAll(async () => {
  for (const server of processes) server.child.kill('SIGKILL');
  if (!DATABASE_URL || schemas.length === 0) return;
  const client = new pg.Client({ connectionString: connectionString(DATABASE_URL!) });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
});

/** A fresh schema in the test database, and a DATABASE_URL whose connections use it. */
async function freshDatabase(): Promise<string> {
  const schema = `scale_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: connectionString(DATABASE_URL!) });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  schemas.push(schema);
  const url = new URL(DATABASE_URL!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function deploy(count: number, env: Record<string, string> = {}): Promise<Deployment> {
  const databaseUrl = await freshDatabase();
  const prefix = `scale-${randomBytes(4).toString('hex')}`;
  const common = { DATABASE_URL: databaseUrl, REDIS_URL: REDIS_URL!, REDIS_PREFIX: prefix, ...env };
  // The first one runs the migrations; the others start on the migrated schema.
  const first = await startServerProcess(common);
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => startServerProcess(common)));
  const instances = [first, ...rest];
  processes.push(...instances);
  for (const instance of instances) await until(async () => (await http(instance.url, 'GET', '/readyz')).json?.status === 'ready', 'Redis link up', 10_000);
  return { instances, prefix };
}

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function register(url: string, username: string): Promise<string> {
  const res = await http(url, 'POST', '/api/auth/register/', { username, password: `scale-out-${username}-pw7` });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.token as string;
}

/**
 * Cuts the deployment's Redis subscriptions again and again for `ms`: every
 * event and invalidation published meanwhile is lost to the other instances.
 */
async function cutSubscriptions(prefix: string, ms: number): Promise<void> {
  const redis = new Redis(REDIS_URL!);
  try {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const clients = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      for (const line of clients.split('\n')) {
        const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
        if (id && line.includes(` name=${prefix}-sub `)) await redis.call('CLIENT', 'KILL', 'ID', id).catch(() => {});
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    redis.disconnect();
  }
}

describe.skipIf(!DATABASE_URL || !REDIS_URL)('three instances on one PostgreSQL + Redis', () => {
  let a: ServerProcess, b: ServerProcess, c: ServerProcess;
  let prefix: string;
  let alice: string, bob: string;

  it('register on A, send on B: readable on C at once, and delivered live to a connection on C', async () => {
    const deployment = await deploy(3);
    [a, b, c] = deployment.instances as [ServerProcess, ServerProcess, ServerProcess];
    prefix = deployment.prefix;
    alice = await register(a.url, 'alice');
    bob = await register(a.url, 'bob');
    const live = listen(c.url, bob);
    await live.ready;

    const sent = await http(b.url, 'POST', '/api/messages/send/', { recipient: 'bob', message: 'from B, to a socket on C' }, alice);
    expect(sent.status).toBe(201);
    const read = await http(c.url, 'GET', `/api/messages/${sent.json.id}/`, undefined, bob);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ id: sent.json.id, sender: { username: 'alice' }, encrypted_message: sent.json.encrypted_message });
    await until(() => live.ids.includes(sent.json.id), 'the live event on C');
    live.close();
  });

  it('a session revoked on A is refused by B and C within 1 s — also while their Redis subscriptions are cut', async () => {
    for (const cut of [false, true]) {
      const login = await http(b.url, 'POST', '/api/auth/login/', { username: 'alice', password: 'scale-out-alice-pw7' });
      const token = login.json.token as string;
      // Both instances have the session cached before it is revoked.
      for (const instance of [b, c]) expect((await http(instance.url, 'GET', '/api/messages/', undefined, token)).status).toBe(200);
      const sessions = await http(a.url, 'GET', '/api/auth/sessions/', undefined, alice);
      const victim = (sessions.json as Array<{ id: number; current: boolean }>).filter((s) => !s.current).sort((x, y) => y.id - x.id)[0]!;

      const cutting = cut ? cutSubscriptions(prefix, 1_500) : Promise.resolve();
      if (cut) await new Promise((resolve) => setTimeout(resolve, 100)); // the cut is on
      expect((await http(a.url, 'DELETE', `/api/auth/sessions/${victim.id}/`, undefined, alice)).status).toBe(204);
      const revokedAt = Date.now();
      const refusedAfter = await Promise.all(
        [b, c].map(async (instance) => {
          await until(async () => (await http(instance.url, 'GET', '/api/messages/', undefined, token)).status === 401, 'a 401', 3_000);
          return Date.now() - revokedAt;
        }),
      );
      await cutting;
      expect(Math.max(...refusedAfter), `refused after ${refusedAfter.join(' / ')} ms (cut: ${cut})`).toBeLessThanOrEqual(1_000);
    }
  });

  it('SIGKILL one instance in a send storm over all three: every acknowledged message is readable, and catching up on another instance misses and repeats nothing', async () => {
    const live = listen(c.url, bob, 0); // from the first message on
    await live.ready;
    const acknowledged: number[] = [];
    let stop = false;
    const lane = async (instance: ServerProcess, n: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await http(instance.url, 'POST', '/api/messages/send/', { recipient: 'bob', message: `lane ${n} #${i}` }, alice);
          if (res.status === 201) acknowledged.push(res.json.id);
        } catch {
          return; // that instance is gone
        }
      }
    };
    const lanes = [a, b, c, a, b, c].map((instance, n) => lane(instance, n));
    await until(() => acknowledged.length >= 150, '150 acknowledged sends', 60_000);
    b.child.kill('SIGKILL');
    await b.exited;
    await new Promise((resolve) => setTimeout(resolve, 300)); // the others keep going a moment
    stop = true;
    await Promise.all(lanes);

    const stored = await inboxIds(a.url, bob);
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]); // every 201 survived
    const seenOnC = [...live.ids];
    live.close();
    expect(seenOnC.filter((id) => !stored.has(id))).toEqual([]); // nothing announced that is not stored
    expect(seenOnC).toEqual([...seenOnC].sort((x, y) => x - y)); // in increasing order
    expect(new Set(seenOnC).size).toBe(seenOnC.length); // none twice on one connection

    const resumed = listen(a.url, bob, Math.max(0, ...seenOnC));
    await resumed.ready;
    resumed.close();
    const delivered = [...seenOnC, ...resumed.ids];
    expect(new Set(delivered).size).toBe(delivered.length); // none twice
    expect([...stored].filter((id) => !delivered.includes(id))).toEqual([]); // none missed
  });
});

describe.skipIf(!DATABASE_URL || !REDIS_URL)('rate limits across instances', () => {
  it('counts auth attempts of one client on every instance against one budget', async () => {
    const [x, y] = (await deploy(2, { RATE_LIMIT_AUTH_PER_MIN: '6' })).instances as [ServerProcess, ServerProcess];
    await register(x.url, 'carol'); // 1 of 6
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const instance = i % 2 === 0 ? y : x;
      statuses.push((await http(instance.url, 'POST', '/api/auth/login/', { username: 'carol', password: 'scale-out-carol-pw7' })).status);
    }
    // Per instance each would allow 6; together they allow 5 more after the registration.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });
});

if (!DATABASE_URL || !REDIS_URL) {
  process.stderr.write(
    '\n!! SCALE-OUT TESTS SKIPPED (scale-out.test.ts): set TEST_DATABASE_URL=postgres://127.0.0.1:5432/test and TEST_REDIS_URL=redis://127.0.0.1:6379 to run them (.ci/run does).\n\n',
  );
}
