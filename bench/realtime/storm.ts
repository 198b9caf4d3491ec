/**
 * Realtime 3, reconnect storm: 2,000 clients (400 with --quick), one user
 * each, connect and receive one message live (so each has a largest id
 * seen), disconnect; then 20 messages to each are sent while they are away
 * (server-mode, 32 at a time); then all reconnect within 2 s (client i at
 * i × 2 s / n) with `after_id` = their largest id seen, header auth.
 * Checked per client: the ids before `ready` are exactly its 20 missing ones,
 * each once, in increasing order, none above `ready.last_id`; nothing after
 * `ready` (nothing is sent meanwhile). Goals: every client caught up
 * exactly; zero lost, zero duplicated. Reported: first reconnect → last
 * `ready`, and each client's handshake → `ready`.
 */
import { registerMany } from '../lib/api.ts';
import { result, type Goal } from '../lib/attack-report.ts';
import { measureAttack } from '../lib/attack-server.ts';
import { counts, num, SENDERS, TEXT, withServerAndGenerator, zero, type AttackResult, type RealtimeOptions } from './common.ts';

const BACKLOG = 20;
const SPREAD_MS = 2_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function reconnectStorm(options: RealtimeOptions): Promise<AttackResult[]> {
  const n = options.quick ? 400 : 2_000;
  const { log } = options;
  return withServerAndGenerator(n, async (server, generator) => {
    log(`reconnect storm: registering ${n} users and ${SENDERS} senders`);
    const users = await registerMany(server.url, 'storm', n);
    const senders = (await registerMany(server.url, 'sender', SENDERS)).map((u) => u.token);
    await generator.call('init', { url: server.url, users: users.map((u) => ({ name: u.username, token: u.token })), perUser: 1 });

    const first = await generator.call('connect', { concurrency: 100, readyTimeoutMs: 120_000 });
    const live = await generator.call('backlog', { senders, perUser: 1, concurrency: 32, text: TEXT, awaitLiveMs: 10_000 });
    log(`reconnect storm: ${first.ready}/${n} connected, ${live.liveComplete}/${first.ready} got their message live; disconnecting`);
    await generator.call('closeAll', { timeoutMs: 20_000 });

    const backlog = await generator.call('backlog', { senders, perUser: BACKLOG, concurrency: 32, text: TEXT }, 600_000);
    log(`reconnect storm: ${num(backlog.created)} sends while away in ${num(backlog.ms / 1000, 1)} s; ${n} clients reconnect within ${SPREAD_MS / 1000} s`);
    const measured = await measureAttack(server, () => generator.call('connect', { spreadMs: SPREAD_MS, resume: true, readyTimeoutMs: 120_000 }, 180_000));
    const storm = measured.value;
    await sleep(1_000); // anything sent twice after ready would show up meanwhile
    const check = await generator.call('verifyCatchUp', {});
    const status = await generator.call('status', {});
    await generator.call('closeAll', { timeoutMs: 20_000 });
    log(`reconnect storm: ${check.exact}/${n} caught up exactly; last ready ${num(storm.spanMs)} ms after the first reconnect`);

    const caughtUp: Goal = { what: 'clients caught up exactly (their 20 missing ids, each once)', target: `${num(n)}`, measured: num(check.exact), met: check.exact === n };
    const goals = [caughtUp, zero('ids lost', check.missing, `of ${num(n * BACKLOG)}`), zero('ids duplicated', check.duplicates)];
    const backlogErrors = counts(backlog.errors);
    const outcome = [
      `first connect ${first.ready}/${n} ready; live message received by ${live.liveComplete}/${first.ready}`,
      `${num(backlog.created)}/${num(n * BACKLOG)} backlog sends in ${num(backlog.ms / 1000, 1)} s${backlogErrors ? ` (errors ${backlogErrors})` : ''}`,
      `reconnect: ${storm.ready}/${storm.attempted} ready${storm.ready < storm.attempted ? ` (failed: ${counts(storm.failed)})` : ''}; first reconnect → last ready ${num(storm.spanMs)} ms; handshake → ready p50 ${num(storm.readyP50Ms)} / p99 ${num(storm.readyP99Ms)} / max ${num(storm.readyMaxMs)} ms`,
      `unexpected ids ${check.unexpected}, out of order ${check.outOfOrder}, ready.last_id below a delivered id ${check.readyBelowDelivered}, not ready ${check.notReady}, events after ready ${check.liveAfterReady}`,
      ...(Object.keys(status.serverClosed).length ? [`closed by the server: ${counts(status.serverClosed)}`] : []),
    ].join('; ');
    const wrong = check.unexpected + check.outOfOrder + check.readyBelowDelivered + check.liveAfterReady;
    goals.push(zero('ids unexpected, out of order, above ready.last_id or after ready', wrong));
    return [result(`reconnect storm, ${num(n)} clients × ${BACKLOG} missed`, measured, goals, outcome)];
  });
}
