/**
 * Attack 2, held bodies and slowloris: 20 connections announce a 37 MB body
 * to the authenticated send route (valid token), send all of it but the last
 * byte and hold; meanwhile ~500 connections drip one byte a second, half of
 * them into their request headers, half into a login body. Bounded: 60 s
 * (20 s with --quick), then every socket is dropped. Measures how long until
 * the server closes each kind of connection, RSS growth while they are held,
 * and /healthz latency. Goal: the server's timeouts close them all within
 * the bound.
 */
import { register, uncommonPassword } from '../lib/api.ts';
import { result, type AttackResult, type Goal } from '../lib/attack-report.ts';
import { measureAttack } from '../lib/attack-server.ts';
import { Dripper, holdBody, portOf, requestHead, statusCounts, type TrackedSocket } from '../lib/raw-http.ts';
import { quantile, seconds, sleep, withServer, type AttackOptions } from './common.ts';

const HELD = 20;
const BODY_BYTES = 37_000_000; // just under the send route's limit (a 25 MiB attachment's base64 + 2 MiB)
const DRIPPERS = 500;
const DRIPPED_BODY_BYTES = 10_000;

/** A send of one huge attachment, `BODY_BYTES` long, minus its closing brace. */
function almostWholeSend(recipient: string): Buffer {
  const head = `{"recipient":"${recipient}","attachment_data":"`;
  const tail = '"}';
  return Buffer.from(head + 'A'.repeat(BODY_BYTES - head.length - tail.length) + tail.slice(0, 1));
}

/** Connections that drip their headers, and ones that drip a login body they announced (small enough for any body limit: it must crawl, not be refused). */
function startDripping(port: number): { headers: Dripper; bodies: Dripper } {
  const headerOpening = 'POST /api/auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Drip: ';
  const bodyOpening = requestHead('POST', '/api/auth/login/', { 'Content-Type': 'application/json', 'Content-Length': DRIPPED_BODY_BYTES }) + '{"username":"';
  return {
    headers: new Dripper(port, Array(DRIPPERS / 2).fill(headerOpening), () => 'a'),
    bodies: new Dripper(port, Array(DRIPPERS / 2).fill(bodyOpening), () => 'a'),
  };
}

/** Waits until every socket is closed, or `boundMs` has passed. */
async function untilClosed(sockets: TrackedSocket[], boundMs: number): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (sockets.some((s) => s.open) && performance.now() < deadline) await sleep(250);
}

function closing(kind: string, sockets: TrackedSocket[]): string {
  const closed = sockets.filter((s) => s.closedByServer).map((s) => s.closedMs!);
  const times = closed.length ? `, after p50 ${seconds(quantile(closed, 0.5))} / max ${seconds(Math.max(...closed))}` : '';
  return `${kind}: ${closed.length}/${sockets.length} closed by the server${times} (${statusCounts(sockets)})`;
}

function closedGoal(sockets: TrackedSocket[], boundMs: number): Goal {
  const closed = sockets.filter((s) => s.closedByServer);
  const slowest = Math.max(0, ...closed.map((s) => s.closedMs!));
  return {
    what: 'held and dripping connections closed by the server',
    target: `all within ${boundMs / 1000} s (the attack's bound)`,
    measured: `${closed.length}/${sockets.length}${closed.length ? `, slowest ${seconds(slowest)}` : ''}`,
    met: closed.length === sockets.length,
  };
}

export async function heldBodies(options: AttackOptions): Promise<AttackResult[]> {
  const boundMs = options.quick ? 20_000 : 60_000;
  return withServer({}, async (server) => {
    const port = portOf(server.url);
    const password = uncommonPassword();
    const sender = await register(server.url, 'holder', password);
    await register(server.url, 'held', password);
    const body = almostWholeSend('held');
    options.log(`held bodies: ${HELD} × ${BODY_BYTES / 1e6} MB sends held one byte short, ${DRIPPERS} drippers, for up to ${boundMs / 1000} s`);
    const measured = await measureAttack(server, async () => {
      const headers = { 'Content-Type': 'application/json', 'X-Auth-Token': sender.token };
      const held = Array.from({ length: HELD }, () => holdBody(port, '/api/messages/send/', headers, BODY_BYTES, body));
      const drips = startDripping(port);
      const all = [...held, ...drips.headers.sockets, ...drips.bodies.sockets];
      try {
        await untilClosed(all, boundMs);
      } finally {
        for (const socket of held) socket.destroy();
        await Promise.all([drips.headers.stop(), drips.bodies.stop(), ...held.map((s) => s.closed)]);
      }
      return { held, headerDrips: drips.headers.sockets, bodyDrips: drips.bodies.sockets, all };
    });
    const { held, headerDrips, bodyDrips, all } = measured.value;
    const outcome = [closing('held bodies', held), closing('header drips', headerDrips), closing('body drips', bodyDrips)].join('; ');
    return [result('held bodies + slowloris', measured, [closedGoal(all, boundMs)], outcome)];
  });
}
