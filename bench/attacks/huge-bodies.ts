/**
 * Attack 1, unauthenticated huge bodies: 20 concurrent POSTs of a 30 MB body
 * (announced with Content-Length) to /api/auth/login/, once as a JSON object
 * with millions of keys and once as spaces around a small valid object.
 * Measures the time to each answer, whether it came before the upload
 * finished, the server's RSS growth and /healthz latency meanwhile.
 * Goal: each answered 413 within 1 s, RSS growth ≤ 64 MiB, /healthz p99 ≤ 50 ms.
 */
import { memoryAndHealthGoals, result, type AttackResult, type Goal } from '../lib/attack-report.ts';
import { measureAttack } from '../lib/attack-server.ts';
import { portOf, postWhole, statusCounts, type TrackedSocket } from '../lib/raw-http.ts';
import { quantile, withServer, type AttackOptions } from './common.ts';

const BODY_BYTES = 30_000_000;
const CONCURRENCY = 20;
const ANSWER_WITHIN_MS = 1_000;
const GIVE_UP_MS = 30_000;

/** `{"k0":0,"k1":0,…}` padded with spaces to exactly BODY_BYTES. */
function manyKeys(): Buffer {
  const parts: string[] = [];
  let length = 2;
  for (let i = 0; length < BODY_BYTES - 32; i++) {
    const part = `${i === 0 ? '' : ','}"k${i}":0`;
    parts.push(part);
    length += part.length;
  }
  return Buffer.from(`{${parts.join('')}${' '.repeat(BODY_BYTES - length)}}`);
}

/** Spaces, then a small valid login: well-formed JSON the server must read to the end. */
function spaces(): Buffer {
  const tail = '{"username":"nobody","password":"not-a-password"}';
  return Buffer.from(' '.repeat(BODY_BYTES - tail.length) + tail);
}

function outcomeOf(sockets: TrackedSocket[]): string {
  const answered = sockets.flatMap((s) => (s.answeredMs === null ? [] : [s.answeredMs]));
  const early = sockets.filter((s) => s.answeredMs !== null && (s.sentMs === null || s.answeredMs < s.sentMs)).length;
  return `${statusCounts(sockets)}; answer p50 ${quantile(answered, 0.5).toFixed(0)} ms, max ${(answered.length ? Math.max(...answered) : NaN).toFixed(0)} ms; ${early}/${sockets.length} answered before the upload finished`;
}

function answerGoal(sockets: TrackedSocket[]): Goal {
  const slowest = Math.max(...sockets.map((s) => (s.status === 413 && s.answeredMs !== null ? s.answeredMs : Infinity)));
  const on413 = sockets.filter((s) => s.status === 413).length;
  return {
    what: `every request answered 413`,
    target: `within ${ANSWER_WITHIN_MS} ms`,
    measured: `${on413}/${sockets.length} got 413, slowest ${Number.isFinite(slowest) ? `${slowest.toFixed(0)} ms` : 'never'}`,
    met: on413 === sockets.length && slowest <= ANSWER_WITHIN_MS,
  };
}

async function variant(name: string, body: Buffer, options: AttackOptions): Promise<AttackResult> {
  return withServer({}, async (server) => {
    const port = portOf(server.url);
    options.log(`huge bodies (${name}): ${CONCURRENCY} × ${BODY_BYTES / 1e6} MB to /api/auth/login/`);
    const measured = await measureAttack(server, () =>
      Promise.all(Array.from({ length: CONCURRENCY }, () => postWhole(port, '/api/auth/login/', { 'Content-Type': 'application/json' }, body, GIVE_UP_MS))),
    );
    const sockets = measured.value;
    const goals = [answerGoal(sockets), ...memoryAndHealthGoals(measured, 64, 50)];
    return result(`huge bodies, ${name}`, measured, goals, outcomeOf(sockets));
  });
}

export async function hugeBodies(options: AttackOptions): Promise<AttackResult[]> {
  return [await variant('30 MB JSON of many keys', manyKeys(), options), await variant('30 MB of spaces', spaces(), options)];
}
