/**
 * Realtime 1, delivery latency: 1,000 recipients (200 with --quick), one
 * WebSocket each (header auth), and server-mode text sends through REST at a
 * fixed 1,000 a second spread over them, from the generator process. Latency:
 * the send's 201 arriving at the sender → the `message` event arriving at
 * the recipient, matched by message id, both timed in the generator.
 * Then send throughput: run.ts's send-text load (autocannon, 32 connections,
 * its own process) with the sockets connected and without, alternating,
 * best round of each. Goals: latency p99 ≤ 50 ms; throughput with sockets
 * ≥ 80 % of without; every 201's event delivered, once, to its recipient.
 */
import { registerMany } from '../lib/api.ts';
import { result, atMost, type Goal } from '../lib/attack-report.ts';
import { measureAttack, type Measured } from '../lib/attack-server.ts';
import { cpuMs, runLoad } from '../lib/processes.ts';
import type { FixedRateResult } from '../lib/realtime-protocol.ts';
import type { LoadResult, LoadSpec } from '../lib/types.ts';
import { counts, num, SENDERS, TEXT, withServerAndGenerator, zero, type AttackResult, type RealtimeOptions } from './common.ts';

const RATE = 1_000;
const MAX_P99_MS = 50;
const MIN_THROUGHPUT_RATIO = 0.8;
const DRAIN_MS = 3_000;

/** A saturating load, and CPU ms per send it cost the server and the generator (whose sockets receive the events). */
type Saturated = LoadResult & { serverCpuMs: number; generatorCpuMs: number };

export async function deliveryLatency(options: RealtimeOptions): Promise<AttackResult[]> {
  const recipients = options.quick ? 200 : 1_000;
  const seconds = options.quick ? 3 : 10;
  const rounds = options.quick ? 1 : 2;
  const { log } = options;
  return withServerAndGenerator(recipients, async (server, generator) => {
    log(`delivery latency: registering ${recipients} recipients and ${SENDERS} senders`);
    const users = await registerMany(server.url, 'rcpt', recipients);
    const senders = (await registerMany(server.url, 'sender', SENDERS)).map((u) => u.token);
    await generator.call('init', { url: server.url, users: users.map((u) => ({ name: u.username, token: u.token })), perUser: 1 });
    const load: LoadSpec = {
      kind: 'send',
      url: server.url,
      path: '/api/messages/send/',
      connections: 32,
      duration: options.quick ? 2 : 10,
      warmup: options.quick ? 1 : 3,
      tokens: senders,
      recipients: users.map((u) => u.username),
      text: TEXT,
    };
    const connect = async () => {
      const connected = await generator.call('connect', { concurrency: 100, readyTimeoutMs: 60_000 });
      if (connected.ready < connected.attempted) log(`delivery latency: ${connected.ready}/${connected.attempted} ready (${counts(connected.failed)})`);
      return connected;
    };

    let without: Saturated | null = null;
    let withSockets: Saturated | null = null;
    let events = 0;
    let answered = 0;
    /**
     * Sends that saturate the server, with the sockets connected (counting the
     * events they get) or not; server and generator CPU per send measured over it.
     */
    const saturate = async (connected: boolean) => {
      const before = connected ? (await generator.call('eventCount', {})).events : 0;
      const [serverCpu, generatorCpu] = [cpuMs(server.pid), cpuMs(generator.pid)];
      const loadResult = await runLoad(load);
      const sends = Math.max(1, loadResult.allRequests);
      const r: Saturated = { ...loadResult, serverCpuMs: (cpuMs(server.pid) - serverCpu) / sends, generatorCpuMs: (cpuMs(generator.pid) - generatorCpu) / sends };
      log(`delivery latency: send-text ${connected ? 'with' : 'without'} ${recipients} sockets: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.errors} errors, server ${r.serverCpuMs.toFixed(3)} CPU ms/send`);
      if (connected) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        events += (await generator.call('eventCount', {})).events - before;
        answered += r.allRequests - r.errors;
        if (!withSockets || r.rps > withSockets.rps) withSockets = r;
      } else if (!without || r.rps > without.rps) without = r;
    };

    await saturate(false);
    const connected = await connect();
    log(`delivery latency: ${connected.ready} sockets ready; ${RATE} sends/s for ${seconds} s`);
    const measured = await measureAttack(server, () =>
      generator.call('fixedRate', { senders, rate: RATE, seconds, text: TEXT, drainMs: DRAIN_MS, maxInFlight: 256 }, (seconds + 60) * 1_000),
    );
    const fixed = measured.value;
    log(`delivery latency: p50 ${num(fixed.latencyP50Ms, 1)} / p99 ${num(fixed.latencyP99Ms, 1)} ms over ${fixed.delivered} events, ${fixed.lost} lost`);
    await saturate(true);
    for (let round = 1; round < rounds; round++) {
      await generator.call('closeAll', { timeoutMs: 10_000 });
      await saturate(false);
      await connect();
      await saturate(true);
    }
    const status = await generator.call('status', {});
    await generator.call('closeAll', { timeoutMs: 10_000 });
    return [report(options, recipients, connected.ready, fixed, without!, withSockets!, events, answered, status, measured)];
  });
}

function report(
  options: RealtimeOptions,
  recipients: number,
  ready: number,
  fixed: FixedRateResult,
  without: Saturated,
  withSockets: Saturated,
  events: number,
  answered: number,
  { serverClosed, duplicates }: { serverClosed: Record<string, number>; duplicates: number },
  measured: Measured<unknown>,
): AttackResult {
  const ratio = withSockets.rps / without.rps;
  const throughput: Goal = {
    what: `send-text req/s with ${recipients} sockets`,
    target: `≥ ${MIN_THROUGHPUT_RATIO * 100} % of without`,
    measured: `${num(withSockets.rps)} vs ${num(without.rps)} = ${num(ratio * 100)} %`,
    met: Number.isFinite(ratio) ? ratio >= MIN_THROUGHPUT_RATIO : null,
  };
  const wrong = fixed.lost + fixed.duplicates + fixed.misrouted + fixed.outOfOrder;
  const goals = [
    atMost('delivery latency p99 (201 → event)', fixed.latencyP99Ms, MAX_P99_MS, 'ms', 1),
    throughput,
    zero('events lost, duplicated, misrouted or out of order', wrong, `${fixed.lost} / ${fixed.duplicates} / ${fixed.misrouted} / ${fixed.outOfOrder} of ${fixed.created}`),
  ];
  const errors = counts(fixed.errors);
  const outcome = [
    `${ready}/${recipients} sockets ready`,
    `${num(fixed.created)} sends at ${RATE}/s planned: ${num(fixed.achievedRps)}/s achieved${fixed.heldBack ? ` (held back ${fixed.heldBack}× at 256 in flight)` : ''}${errors ? `, errors ${errors}` : ''}, send p50 ${num(fixed.sendP50Ms, 1)} / p99 ${num(fixed.sendP99Ms, 1)} ms`,
    `201 → event p50 ${num(fixed.latencyP50Ms, 1)} / p90 ${num(fixed.latencyP90Ms, 1)} / p99 ${num(fixed.latencyP99Ms, 1)} / max ${num(fixed.latencyMaxMs, 1)} ms over ${num(fixed.delivered)} events, ${num(fixed.beforeAnswer)} of them before their 201 (by p50 ${num(fixed.leadP50Ms, 1)} / p99 ${num(fixed.leadP99Ms, 1)} ms; counted as 0)`,
    `request sent → event p50 ${num(fixed.endToEndP50Ms, 1)} / p99 ${num(fixed.endToEndP99Ms, 1)} ms`,
    `send-text, best of ${num(options.quick ? 1 : 2)} round(s) each: without sockets ${num(without.rps)} req/s (p99 ${without.p99} ms, server ${num(without.serverCpuMs, 3)} CPU ms/send), with ${num(withSockets.rps)} req/s (p99 ${withSockets.p99} ms, server ${num(withSockets.serverCpuMs, 3)} + generator ${num(withSockets.generatorCpuMs, 3)} CPU ms/send)${options.sendTextRps ? `; run.ts send-text ${num(options.sendTextRps)} req/s` : ''}`,
    `events during the saturating loads: ${num(events)} for ${num(answered)} sends autocannon saw answered (it does not count those in flight when it stops), ${duplicates} twice on one connection`,
    ...(Object.keys(serverClosed).length ? [`closed by the server: ${counts(serverClosed)}`] : []),
  ].join('; ');
  return result(`delivery latency, ${recipients} recipients`, measured, goals, outcome);
}
