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
import { portOf, postWhole, statusCounts, type WholePost } from '../lib/raw-http.ts';
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

function outcomeOf(posts: WholePost[]): string {
  const answered = posts.flatMap((p) => (p.answeredMs === null ? [] : [p.answeredMs]));
  const early = posts.filter((p) => p.beforeBodyEnd).length;
  const times = answered.length ? `answer p50 ${quantile(answered, 0.5).toFixed(0)} ms, max ${Math.max(...answered).toFixed(0)} ms` : 'no answer';
  const notes = [
    ...(posts.some((p) => p.socket.status === null && p.socket.error === null) ? [`gave up waiting after ${GIVE_UP_MS / 1000} s`] : []),
    ...(posts.some((p) => p.socket.status === null && p.socket.error !== null) ? ['error: reset before a status line could be read'] : []),
  ];
  return `${statusCounts(posts.map((p) => p.socket))}${notes.length ? ` (${notes.join('; ')})` : ''}; ${times}; ${early}/${posts.length} answered before the body's last bytes were sent`;
}

function answerGoal(posts: WholePost[]): Goal {
  const refused = posts.filter((p) => p.socket.status === 413);
  const slowest = refused.length === posts.length ? Math.max(...refused.map((p) => p.answeredMs!)) : Infinity;
  return {
    what: `every request answered 413`,
    target: `within ${ANSWER_WITHIN_MS} ms`,
    measured: `${refused.length}/${posts.length} got 413${Number.isFinite(slowest) ? `, slowest in ${slowest.toFixed(0)} ms` : ''}`,
    met: slowest <= ANSWER_WITHIN_MS,
  };
}

async function variant(name: string, body: Buffer, options: AttackOptions): Promise<AttackResult> {
  return withServer({}, async (server) => {
    const port = portOf(server.url);
    options.log(`huge bodies (${name}): ${CONCURRENCY} × ${BODY_BYTES / 1e6} MB to /api/auth/login/`);
    const measured = await measureAttack(server, () =>
      Promise.all(Array.from({ length: CONCURRENCY }, () => postWhole(port, '/api/auth/login/', { 'Content-Type': 'application/json' }, body, GIVE_UP_MS))),
    );
    const posts = measured.value;
    const goals = [answerGoal(posts), ...memoryAndHealthGoals(measured, 64, 50)];
    return result(`huge bodies, ${name}`, measured, goals, outcomeOf(posts));
  });
}

export async function hugeBodies(options: AttackOptions): Promise<AttackResult[]> {
  return [await variant('30 MB JSON of many keys', manyKeys(), options), await variant('30 MB of spaces', spaces(), options)];
}
