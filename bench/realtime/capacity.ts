/**
 * Realtime 2, capacity: 10,000 idle authenticated WebSockets (2,000 with
 * --quick) on one server process, 20 per user (the default per-user cap),
 * opened 100 handshakes at a time. The server's RSS is taken idle before
 * (median of 5 samples) and with the sockets held (median of one sample a
 * second over the held window); /healthz is probed from its own process for
 * a window before the sockets and one with them held (35 s in the full run,
 * so it spans a server ping round of 30 s; 5 s each with --quick).
 * Goals: (RSS with − RSS before) / sockets ≤ 20 KiB; /healthz p99 with the
 * sockets ≤ max(1.5 × before, before + 5 ms); every socket opened and still
 * open at the end.
 */
import { registerMany } from '../lib/api.ts';
import type { Goal } from '../lib/attack-report.ts';
import { idleRss, rssOrNull, sampleRss } from '../lib/attack-server.ts';
import { startHealthProbe, type HealthStats } from '../lib/health.ts';
import { counts, num, withServerAndGenerator, type AttackResult, type RealtimeOptions } from './common.ts';

const PER_USER = 20;
const MAX_BYTES_PER_SOCKET = 20 * 1024;
const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** /healthz over `ms`, from another process; with `sampleRssOf`, also the median RSS of that process over the window. */
async function healthWindow(url: string, ms: number, sampleRssOf?: number): Promise<{ health: HealthStats; rssBytes: number }> {
  const probe = await startHealthProbe(url);
  const samples: number[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    await sleep(Math.min(1_000, until - performance.now()));
    if (sampleRssOf !== undefined) samples.push(rssOrNull(sampleRssOf) ?? 0);
  }
  const health = await probe.stop();
  samples.sort((a, b) => a - b);
  return { health, rssBytes: samples[Math.floor(samples.length / 2)] ?? NaN };
}

/** "540 ms at 3.1 s, …" (when, since the window's first poll): a server-wide stall repeats with its timer. */
function slowPolls(health: HealthStats): string {
  const list = health.slow ?? [];
  if (list.length === 0) return 'none';
  return list.map((poll) => `${poll.ms} ms at ${num(poll.atMs / 1000, 1)} s`).join(', ');
}

export async function capacity(options: RealtimeOptions): Promise<AttackResult[]> {
  const sockets = options.quick ? 2_000 : 10_000;
  const windowMs = options.quick ? 5_000 : 35_000;
  const beforeMs = options.quick ? 5_000 : 15_000;
  const { log } = options;
  return withServerAndGenerator(sockets, async (server, generator) => {
    const userCount = Math.ceil(sockets / PER_USER);
    log(`capacity: registering ${userCount} users`);
    const users = await registerMany(server.url, 'idle', userCount);
    await generator.call('init', { url: server.url, users: users.map((u) => ({ name: u.username, token: u.token })), perUser: PER_USER });

    // Registration leaves transient memory (Argon2 in worker threads, garbage): let it settle, then take
    // the median RSS over the whole window before the sockets, as over the one with them.
    log(`capacity: settling, then ${beforeMs / 1000} s of /healthz and RSS without sockets`);
    await idleRss(server.pid);
    await sleep(3_000);
    const before = await healthWindow(server.url, beforeMs, server.pid);
    const baselineBytes = before.rssBytes;
    const sampler = sampleRss(server);
    let connected;
    let held;
    let status;
    try {
      log(`capacity: opening ${sockets} WebSockets (${PER_USER} for each of ${userCount} users)`);
      connected = await generator.call('connect', { concurrency: 100, readyTimeoutMs: 300_000 }, 330_000);
      log(`capacity: ${connected.ready}/${connected.attempted} ready in ${num(connected.spanMs / 1000, 1)} s${connected.ready < connected.attempted ? ` (${counts(connected.failed)})` : ''}; holding ${windowMs / 1000} s`);
      await sleep(2_000);
      held = await healthWindow(server.url, windowMs, server.pid);
      status = await generator.call('status', {});
    } finally {
      const closing = await generator.call('closeAll', { timeoutMs: 20_000 }).catch(() => null);
      if (closing?.forced) log(`capacity: ${closing.forced} sockets did not close within 20 s`);
    }
    const rss = sampler.stop();
    const died = rss.capped ? `killed at the benchmark's RSS cap` : rss.died ? 'server exited during the scenario' : null;
    const perSocket = (held.rssBytes - baselineBytes) / connected.ready;

    const p99Limit = Math.max(1.5 * before.health.p99Ms, before.health.p99Ms + 5);
    const goals: Goal[] = [
      {
        what: 'server RSS per socket',
        target: `≤ ${MAX_BYTES_PER_SOCKET / 1024} KiB`,
        measured: `${num(perSocket / 1024, 1)} KiB ((${num(held.rssBytes / MiB)} − ${num(baselineBytes / MiB)} MiB) / ${num(connected.ready)})`,
        met: Number.isFinite(perSocket) && connected.ready > 0 ? perSocket <= MAX_BYTES_PER_SOCKET : null,
      },
      {
        what: '/healthz p99 with the sockets held',
        target: 'unchanged: ≤ max(1.5× before, before + 5 ms)',
        measured: `${num(held.health.p99Ms, 1)} ms vs ${num(before.health.p99Ms, 1)} ms before (limit ${num(p99Limit, 1)}); max ${num(held.health.slowestMs)} vs ${num(before.health.slowestMs)} ms`,
        met: held.health.p99Ms <= p99Limit,
      },
      {
        what: 'sockets ready and still open at the end',
        target: `${num(sockets)}`,
        measured: `${num(connected.ready)} ready, ${num(status.open)} open`,
        met: connected.ready === sockets && status.open === sockets,
      },
    ];
    const outcome = [
      `${num(connected.ready)}/${num(sockets)} ready in ${num(connected.spanMs / 1000, 1)} s (handshake → ready p50 ${num(connected.readyP50Ms)} / p99 ${num(connected.readyP99Ms)} ms)${connected.ready < sockets ? `, failed: ${counts(connected.failed)}` : ''}`,
      `permessage-deflate accepted on ${num(connected.deflate)}`,
      `RSS idle ${num(baselineBytes / MiB)} MiB (median over ${beforeMs / 1000} s), held ${num(held.rssBytes / MiB)} MiB (median over ${windowMs / 1000} s), peak ${num(rss.peakBytes / MiB)} MiB`,
      `/healthz before p50 ${num(before.health.p50Ms, 1)} / p99 ${num(before.health.p99Ms, 1)} / max ${num(before.health.slowestMs)} ms (${before.health.polls} polls), held ${held.health.polls} polls`,
      `polls ≥ 100 ms before: ${slowPolls(before.health)}; held: ${slowPolls(held.health)}`,
      ...(Object.keys(status.serverClosed).length ? [`closed by the server: ${counts(status.serverClosed)}`] : []),
    ].join('; ');
    return [
      {
        scenario: `capacity, ${num(sockets)} idle sockets`,
        baselineMiB: baselineBytes / MiB,
        peakMiB: Math.max(rss.peakBytes, baselineBytes) / MiB,
        growthMiB: (Math.max(rss.peakBytes, baselineBytes) - baselineBytes) / MiB,
        health: held.health,
        died,
        goals: died ? goals.map((goal) => ({ ...goal, met: false })) : goals,
        outcome: died ? `${died}; ${outcome}` : outcome,
      },
    ];
  });
}
