/**
 * Attack 4, clients that never read: a mailbox holds 30 messages (4 with
 * --quick) that each carry a 25 MiB attachment; three raw TCP clients ask
 * for `GET /api/messages/?direction=sent&limit=25` and pause their sockets
 * for 20 s (10 s with --quick), then the same with `limit=200`. Measures RSS
 * growth and /healthz latency while the answers wait. Goal: RSS growth ≤ 100 MiB.
 *
 * One message goes through the API; the rest are copies of its row made in
 * SQLite directly (as run.ts seeds its deep mailbox): thirty real 25 MiB
 * sends would cost the shared machine minutes of CPU for the same rows.
 */
import Database from 'better-sqlite3';
import { register, uncommonPassword } from '../lib/api.ts';
import { memoryAndHealthGoals, result, type AttackResult } from '../lib/attack-report.ts';
import { measureAttack, type AttackServer } from '../lib/attack-server.ts';
import { nonReader, portOf } from '../lib/raw-http.ts';
import { timedRequest } from '../lib/timed-request.ts';
import { serverModeSend } from './big-sends.ts';
import { sleep, withServer, type AttackOptions } from './common.ts';

const CLIENTS = 3;

/** Copies message `id` `copies` times inside SQLite (no row passes through this process). */
function copyMessage(dbFile: string, id: number, copies: number): void {
  const db = new Database(dbFile);
  try {
    db.pragma('busy_timeout = 10000');
    const columns = (db.prepare('PRAGMA table_info(messages)').all() as Array<{ name: string }>).map((c) => c.name).filter((name) => name !== 'id');
    const copy = db.prepare(`INSERT INTO messages (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM messages WHERE id = ?`);
    db.transaction(() => {
      for (let i = 0; i < copies; i++) copy.run(id);
    })();
  } finally {
    db.close();
  }
}

/** A mailbox of `count` messages with a 25 MiB attachment each, sent by the returned token's owner. */
async function fillMailbox(server: AttackServer, count: number): Promise<string> {
  const password = uncommonPassword();
  const sender = await register(server.url, 'hoarder', password);
  const recipient = await register(server.url, 'hoarded', password);
  const headers = { 'content-type': 'application/json', 'x-auth-token': sender.token };
  const sent = await timedRequest(server.url, 'POST', '/api/messages/send/', { headers, body: serverModeSend(recipient.username), keep: true });
  if (sent.status !== 201) throw new Error(`filling the mailbox: send answered ${sent.status} ${sent.error ?? ''}`);
  const id = Number(/"id":(\d+)/.exec(sent.text.slice(0, 200))?.[1]);
  copyMessage(server.dbFile, id, count - 1);
  return sender.token;
}

async function phase(server: AttackServer, token: string, limit: number, holdMs: number, messages: number): Promise<AttackResult> {
  const path = `/api/messages/?direction=sent&limit=${limit}`;
  const measured = await measureAttack(server, async () => {
    const clients = Array.from({ length: CLIENTS }, () => nonReader(portOf(server.url), path, { 'X-Auth-Token': token }));
    await sleep(holdMs);
    const closedByServer = clients.filter((c) => c.closedByServer).length;
    for (const client of clients) client.destroy();
    await Promise.all(clients.map((c) => c.closed));
    return closedByServer;
  });
  const asked = Math.min(limit, messages);
  const outcome = `${CLIENTS} clients asked for up to ${asked} of ${messages} messages with a 25 MiB attachment (~${Math.round(asked * 35)} MB of JSON if sent whole) and paused ${holdMs / 1000} s; ${measured.value} closed by the server meanwhile`;
  return result(`3 non-readers, limit=${limit}`, measured, memoryAndHealthGoals(measured, 100, null), outcome);
}

export async function nonReaders(options: AttackOptions): Promise<AttackResult[]> {
  const messages = options.quick ? 4 : 30;
  const holdMs = options.quick ? 10_000 : 20_000;
  return withServer({}, async (server) => {
    options.log(`non-readers: filling a mailbox with ${messages} × 25 MiB`);
    const token = await fillMailbox(server, messages);
    const results: AttackResult[] = [];
    for (const limit of [25, 200]) {
      options.log(`non-readers: ${CLIENTS} paused clients on limit=${limit} for ${holdMs / 1000} s`);
      results.push(await phase(server, token, limit, holdMs, messages));
    }
    return results;
  });
}
