/**
 * Attack 3, twenty concurrent 25 MiB sends, all valid and authenticated:
 * once with a server-mode `attachment_data` (the server encrypts), once
 * end-to-end-shaped (`encrypted_attachment` and wrapped keys the server only
 * checks). Measures peak RSS, /healthz latency, how many got 201 and how many
 * 503 (with Retry-After: the server may refuse large bodies beyond a few in
 * flight) and how long they took. Goal: peak RSS ≤ 512 MiB, /healthz p99 ≤ 100 ms.
 */
import { randomBytes } from 'node:crypto';
import { register, uncommonPassword, type BenchUser } from '../lib/api.ts';
import { atMost, memoryAndHealthGoals, result, type AttackResult } from '../lib/attack-report.ts';
import { measureAttack } from '../lib/attack-server.ts';
import { statusCounts } from '../lib/raw-http.ts';
import { timedRequest, type TimedResponse } from '../lib/timed-request.ts';
import { quantile, seconds, withServer, type AttackOptions } from './common.ts';

export const ATTACHMENT_BYTES = 25 * 2 ** 20;
const CONCURRENCY = 20;
const GCM_TAG_BYTES = 16;

const b64 = (bytes: number) => randomBytes(bytes).toString('base64');

/** A send the server encrypts: plaintext attachment bytes in base64. */
export function serverModeSend(recipient: string): Buffer {
  return Buffer.from(JSON.stringify({ recipient, attachment_data: b64(ATTACHMENT_BYTES), attachment_name: 'big.bin' }));
}

/** The current key version of `username`, as a client would fetch it before an end-to-end send. */
async function keyIdOf(url: string, username: string, token: string): Promise<number> {
  const res = await fetch(`${url}/api/users/${username}/public-key/`, { headers: { 'x-auth-token': token } });
  return ((await res.json()) as { key_id: number }).key_id;
}

/** An end-to-end-shaped send: random bytes of the right sizes where the client's ciphertext would be (RSA-2048 keys). */
async function endToEndSend(url: string, sender: BenchUser, recipient: BenchUser): Promise<Buffer> {
  return Buffer.from(
    JSON.stringify({
      recipient: recipient.username,
      key_id: await keyIdOf(url, recipient.username, sender.token),
      encrypted_symmetric_key: b64(256),
      sender_key_id: await keyIdOf(url, sender.username, sender.token),
      sender_encrypted_symmetric_key: b64(256),
      encrypted_attachment: b64(ATTACHMENT_BYTES + GCM_TAG_BYTES),
      attachment_nonce: b64(12),
      attachment_name: 'big.bin',
    }),
  );
}

/** Posts `body` as a send `count` times at once. */
export function concurrentSends(url: string, token: string, body: Buffer, count: number): Promise<TimedResponse[]> {
  const headers = { 'content-type': 'application/json', 'x-auth-token': token };
  return Promise.all(Array.from({ length: count }, () => timedRequest(url, 'POST', '/api/messages/send/', { headers, body })));
}

function outcomeOf(responses: TimedResponse[], totalMs: number): string {
  const withRetryAfter = responses.filter((r) => r.status === 503 && r.retryAfter !== null).length;
  const created = responses.filter((r) => r.status === 201).map((r) => r.ms);
  const errors = [...new Set(responses.flatMap((r) => (r.error ? [r.error] : [])))];
  return [
    `${statusCounts(responses)}${withRetryAfter ? ` (${withRetryAfter} with Retry-After)` : ''}`,
    created.length ? `201s took p50 ${seconds(quantile(created, 0.5))}, max ${seconds(Math.max(...created))}` : 'no 201',
    `all answered in ${seconds(totalMs)}`,
    ...(errors.length ? [`client errors: ${errors.join(', ')}`] : []),
  ].join('; ');
}

async function variant(name: string, options: AttackOptions, makeBody: (url: string, sender: BenchUser, recipient: BenchUser) => Promise<Buffer>): Promise<AttackResult> {
  return withServer({}, async (server) => {
    const password = uncommonPassword();
    const sender = await register(server.url, 'bigsender', password);
    const recipient = await register(server.url, 'bigrecipient', password);
    const body = await makeBody(server.url, sender, recipient);
    options.log(`big sends (${name}): ${CONCURRENCY} × 25 MiB at once`);
    const measured = await measureAttack(server, () => concurrentSends(server.url, sender.token, body, CONCURRENCY));
    const goals = [atMost('peak RSS', measured.rss.peakBytes / 2 ** 20, 512, 'MiB'), ...memoryAndHealthGoals(measured, null, 100)];
    return result(`20 × 25 MiB sends, ${name}`, measured, goals, outcomeOf(measured.value, measured.ms));
  });
}

export async function bigSends(options: AttackOptions): Promise<AttackResult[]> {
  return [
    await variant('server-mode', options, async (_url, _sender, recipient) => serverModeSend(recipient.username)),
    await variant('end-to-end-shaped', options, endToEndSend),
  ];
}
