/**
 * PostgreSQL + Redis (API B 12) beside SQLite, in one run: send-text (with
 * 32 and with 128 connections), inbox-50 and send-attachment (64 KiB) on
 * SQLite (one instance), on PostgreSQL with one instance and with two
 * (connections split between them), deployments alternating round by
 * round, best round of each kept;
 * then the cross-instance delivery latency (a send on instance 1 → the
 * event on a WebSocket on instance 2).
 *
 * On one 2-core machine the instances, PostgreSQL, Redis and the load
 * generator share the CPU, so two instances cannot scale here: the numbers
 * are ratios within the run and CPU ms per request — the servers' and the
 * database's — from which docs/deploy.md estimates capacity.
 *
 * Part of `npm run bench`; alone:
 *   npm run build:js && npx tsx bench/scale-out.ts [--quick]
 * Uses BENCH_DATABASE_URL / BENCH_REDIS_URL, else TEST_DATABASE_URL /
 * TEST_REDIS_URL, else postgres://postgres@127.0.0.1:5432/test and
 * redis://127.0.0.1:6379; says so and skips when they do not answer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { connectionString } from '../packages/server/src/store/postgres/database.ts';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { post, registerUsers, type BenchUser } from './lib/api.ts';
import { cpuMs, runLoad, SERVER_MAIN, startService, type Service } from './lib/processes.ts';
import { renderTable, type Row } from './lib/report.ts';
import type { LoadResult, LoadSpec } from './lib/types.ts';

export interface ScaleOutOptions {
  quick: boolean;
  log: (line: string) => void;
}

const CONNECTIONS = 32;
const USERS = 8;

interface Deployment {
  label: string;
  instances: Service[];
  users: BenchUser[];
  reader: BenchUser;
  /** the database and Redis processes whose CPU counts for this deployment (none for SQLite: it is in-process) */
  databasePids: () => number[];
}

type Measured = LoadResult & { serverCpuMs: number; databaseCpuMs: number };

export async function runScaleOut({ quick, log }: ScaleOutOptions): Promise<Row[]> {
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const unreachable = await whyUnreachable(databaseUrl, redisUrl);
  if (unreachable) {
    log(`SCALE-OUT SCENARIOS SKIPPED: ${unreachable}`);
    return [{ scenario: 'scale-out (B 12)', note: `SKIPPED: ${unreachable}` }];
  }
  const duration = quick ? 2 : 8;
  const warmup = quick ? 1 : 2;
  const rounds = quick ? 1 : 2;
  const dir = mkdtempSync(join(tmpdir(), 'securechat-bench-scale-'));
  const schemas: string[] = [];
  const deployments: Deployment[] = [];
  const env = { RATE_LIMIT_AUTH_PER_MIN: '0', KDF_ITERATIONS: '100000', LOG_LEVEL: 'warn' };
  try {
    log('scale-out: SQLite, PostgreSQL × 1, PostgreSQL × 2 (+ Redis)');
    deployments.push(await deploy('SQLite', [await startService(SERVER_MAIN, { ...env, DATABASE_URL: `sqlite:${join(dir, 'bench.db')}` })], () => []));
    for (const count of [1, 2]) {
      const schema = `bench_${randomBytes(5).toString('hex')}`;
      schemas.push(schema);
      const url = await createSchema(databaseUrl, schema);
      const common = { ...env, DATABASE_URL: url, REDIS_URL: redisUrl, REDIS_PREFIX: schema };
      const instances = [await startService(SERVER_MAIN, common)];
      for (let i = 1; i < count; i++) instances.push(await startService(SERVER_MAIN, common));
      deployments.push(await deploy(`PostgreSQL × ${count}`, instances, () => [...processesNamed('postgres'), ...processesNamed('redis-server')]));
    }

    const text = 'x'.repeat(256);
    const attachment = randomBytes(64 * 1024).toString('base64');
    const sendText = (d: Deployment) => ({ kind: 'send', path: '/api/messages/send/', tokens: d.users.map((u) => u.token), recipients: d.users.map((u) => u.username), text }) as const;
    const scenarios: Array<{ name: string; connections?: number; spec: (d: Deployment) => Omit<LoadSpec, 'url' | 'duration' | 'warmup' | 'connections'> }> = [
      { name: 'send-text', spec: sendText },
      // Commits are serialised across instances (ids drawn under a lock held to COMMIT, so commit order is id order): with
      // 32 closed-loop connections split over two instances each waits for the other's fsync and batches halve; with more
      // senders in flight the batches grow instead. This row shows which of the two limits a deployment meets.
      { name: 'send-text, 128 connections', connections: 128, spec: sendText },
      { name: 'inbox-50', spec: (d) => ({ kind: 'get', path: '/api/messages/', tokens: [d.reader.token] }) },
      {
        name: 'send-attachment',
        spec: (d) => ({ kind: 'send', path: '/api/messages/send/', tokens: d.users.map((u) => u.token), recipients: d.users.map((u) => u.username), text: 'see attached', attachment }),
      },
    ];
    const rows: Row[] = [];
    for (const scenario of scenarios) {
      const best = new Map<Deployment, Measured>();
      for (let round = 0; round < rounds; round++) {
        for (const deployment of deployments) {
          const result = await measureSplit(deployment, { ...scenario.spec(deployment), duration, warmup }, scenario.connections ?? CONNECTIONS);
          if (!best.has(deployment) || result.rps > best.get(deployment)!.rps) best.set(deployment, result);
        }
      }
      const sqlite = best.get(deployments[0]!)!;
      for (const deployment of deployments) {
        const r = best.get(deployment)!;
        const ratio = deployment === deployments[0] ? '' : `${((r.rps / sqlite.rps) * 100).toFixed(0)} % of SQLite's req/s; `;
        const note = `${ratio}server ${r.serverCpuMs.toFixed(2)} + database ${r.databaseCpuMs.toFixed(2)} CPU ms/req`;
        rows.push({ scenario: `${scenario.name}, ${deployment.label}`, rps: r.rps, p50: r.p50, p90: r.p90, p99: r.p99, errors: r.errors, cpuMsPerRequest: r.serverCpuMs + r.databaseCpuMs, note });
        log(`${scenario.name}, ${deployment.label}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${note}`);
      }
    }

    const two = deployments[2]!;
    const latency = await crossInstanceLatency(two, quick ? 500 : 3_000);
    rows.push({
      scenario: 'cross-instance delivery, PostgreSQL × 2',
      p50: latency.p50,
      p90: latency.p90,
      p99: latency.p99,
      errors: latency.missing,
      note: `${latency.count} sends on instance 1 at ~${latency.rate}/s, each to a WebSocket on instance 2 (which spent ${latency.receiverCpuMs.toFixed(3)} CPU ms per event delivered): 201 → event p50 ${latency.afterAck.p50.toFixed(1)} / p99 ${latency.afterAck.p99.toFixed(1)} ms (the columns: request sent → event); ${latency.missing} never arrived, ${latency.outOfOrder} out of order`,
    });
    log(`cross-instance delivery: p99 ${latency.p99.toFixed(1)} ms, ${latency.missing} missing`);
    return rows;
  } finally {
    await Promise.all(deployments.flatMap((d) => d.instances.map((s) => s.stop())));
    await dropSchemas(databaseUrl, schemas).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

async function deploy(label: string, instances: Service[], databasePids: () => number[]): Promise<Deployment> {
  const first = instances[0]!;
  const users = await registerUsers(first.url, 'bench', USERS);
  const [reader] = await registerUsers(first.url, 'reader', 1);
  for (let i = 0; i < 50; i++) await post(first.url, '/api/messages/send/', { recipient: reader!.username, message: 'y'.repeat(256) }, users[i % USERS]!.token);
  return { label, instances, users, reader: reader!, databasePids };
}

/** The load, its connections split evenly over the deployment's instances, all at once; CPU of servers and database over the run. */
async function measureSplit(deployment: Deployment, spec: Omit<LoadSpec, 'url' | 'connections'>, connections: number): Promise<Measured> {
  const servers = deployment.instances.map((s) => s.child.pid!);
  const cpu = (pids: number[]) => pids.reduce((sum, pid) => sum + safeCpuMs(pid), 0);
  const serverBefore = cpu(servers);
  // Backends the pools open during the run are new pids: counted from zero.
  const databaseBefore = new Map(deployment.databasePids().map((pid) => [pid, safeCpuMs(pid)]));
  const share = Math.floor(connections / deployment.instances.length);
  const results = await Promise.all(deployment.instances.map((instance) => runLoad({ ...spec, url: instance.url, connections: share } as LoadSpec)));
  const all = results.reduce((sum, r) => sum + r.allRequests, 0);
  const sum = (pick: (r: LoadResult) => number) => results.reduce((total, r) => total + pick(r), 0);
  const max = (pick: (r: LoadResult) => number) => Math.max(...results.map(pick));
  return {
    rps: sum((r) => r.rps),
    mean: sum((r) => r.mean * r.requests) / Math.max(1, sum((r) => r.requests)),
    p50: max((r) => r.p50),
    p90: max((r) => r.p90),
    p99: max((r) => r.p99),
    errors: sum((r) => r.errors),
    requests: sum((r) => r.requests),
    allRequests: all,
    serverCpuMs: (cpu(servers) - serverBefore) / Math.max(1, all),
    databaseCpuMs: deployment.databasePids().reduce((sum, pid) => sum + safeCpuMs(pid) - (databaseBefore.get(pid) ?? 0), 0) / Math.max(1, all),
  };
}

/** Sends from user 0 on instance 1 to user 1, who listens on instance 2; times request → event and 201 → event. */
async function crossInstanceLatency(deployment: Deployment, count: number) {
  const [sender, listener] = deployment.users;
  const [one, two] = deployment.instances;
  const socket = new WebSocket(`${two!.url.replace('http', 'ws')}/api/ws/`, { headers: { 'x-auth-token': listener!.token } });
  const arrived = new Map<number, number>();
  const order: number[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as { type: string; message?: { id: number } };
      if (event.type === 'ready') resolve();
      if (event.type === 'message') {
        arrived.set(event.message!.id, performance.now());
        order.push(event.message!.id);
      }
    });
    socket.on('error', reject);
  });
  const rate = 200;
  const sent: Array<{ id: number; start: number; acked: number }> = [];
  const receiverCpuBefore = safeCpuMs(two!.child.pid!);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (i * 1000) / rate - performance.now())));
      const start = performance.now();
      const body = await post(one!.url, '/api/messages/send/', { recipient: listener!.username, message: `latency #${i}` }, sender!.token);
      sent.push({ id: body.id, start, acked: performance.now() });
    }),
  );
  const deadline = performance.now() + 5_000;
  while (sent.some((s) => !arrived.has(s.id)) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  // What instance 2 spent per event it delivered (the Redis message, the read from the database, the frame); it served nothing else meanwhile.
  const receiverCpuMs = (safeCpuMs(two!.child.pid!) - receiverCpuBefore) / Math.max(1, arrived.size);
  socket.terminate();
  const delivered = sent.filter((s) => arrived.has(s.id));
  const total = delivered.map((s) => arrived.get(s.id)! - s.start).sort((a, b) => a - b);
  const afterAck = delivered.map((s) => Math.max(0, arrived.get(s.id)! - s.acked)).sort((a, b) => a - b);
  const pct = (values: number[], p: number) => values[Math.min(values.length - 1, Math.floor((values.length * p) / 100))] ?? NaN;
  let outOfOrder = 0;
  for (let i = 1; i < order.length; i++) if (order[i]! < order[i - 1]!) outOfOrder++;
  return {
    count,
    rate,
    receiverCpuMs,
    missing: sent.length - delivered.length,
    outOfOrder,
    p50: pct(total, 50),
    p90: pct(total, 90),
    p99: pct(total, 99),
    afterAck: { p50: pct(afterAck, 50), p99: pct(afterAck, 99) },
  };
}

async function whyUnreachable(databaseUrl: string, redisUrl: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: connectionString(databaseUrl), connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    return `PostgreSQL at ${databaseUrl} does not answer (${(error as Error).message}); set BENCH_DATABASE_URL`;
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    return `Redis at ${redisUrl} does not answer (${(error as Error).message}); set BENCH_REDIS_URL`;
  } finally {
    redis.disconnect();
  }
  return null;
}

async function createSchema(databaseUrl: string, schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: connectionString(databaseUrl) });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function dropSchemas(databaseUrl: string, schemas: string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: connectionString(databaseUrl) });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

/** Pids of every process with this command name (PostgreSQL's backends, Redis). */
function processesNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A backend that exited during the run counts nothing (its CPU is lost to the sum: a small undercount). */
function safeCpuMs(pid: number): number {
  try {
    return cpuMs(pid);
  } catch {
    return 0;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const rows = await runScaleOut({ quick, log: (line) => process.stderr.write(`[bench] ${line}\n`) });
  console.log('\n' + renderTable(rows) + '\n');
}
