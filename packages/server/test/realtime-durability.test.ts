/**
 * The real server process, killed with SIGKILL during a storm of sends while
 * the recipient listens on a WebSocket: after a restart on the same database
 * and a reconnect with the largest id seen, every send that got a 201 has
 * been delivered exactly once, and no event ever announced a message that
 * the restarted server does not have.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { http, startServerProcess, type ServerProcess } from './server-process.ts';
import { inboxIds, listen } from './ws-listener.ts';

const dir = mkdtempSync(join(tmpdir(), 'securechat-rt-durability-'));
const running: ServerProcess[] = [];
afterAll(() => {
  for (const server of running) server.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<ServerProcess> {
  const server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, 'storm.db')}`});
  running.push(server);
  return server;
}

describe('realtime across a crash', () => {
  it('delivers every acknowledged send exactly once, and never announces a message the database lost', async () => {
    let server = await start();
    const register = async (username: string) => {
      const res = await http(server.url, 'POST', '/api/auth/register/', { username, password: `storm-pass-${username}-x9` });
      expect(res.status).toBe(201);
      return res.json.token as string;
    };
    const [alice, bob] = [await register('alice'), await register('bob')];

    const live = listen(server.url, bob);
    await live.ready;

    // Four senders as fast as they can; the server is killed under them.
    const acknowledged: number[] = [];
    let stop = false;
    const sender = async (lane: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await http(server.url, 'POST', '/api/messages/send/', { recipient: 'bob', message: `lane ${lane} #${i}` }, alice);
          if (res.status === 201) acknowledged.push(res.json.id);
        } catch {
          return; // the server is gone
        }
      }
    };
    const senders = [0, 1, 2, 3].map(sender);
    while (acknowledged.length < 150) await new Promise((resolve) => setTimeout(resolve, 10));
    server.child.kill('SIGKILL');
    await server.exited;
    stop = true;
    await Promise.all(senders);
    const announcedBeforeCrash = [...live.ids];
    live.close();

    server = await start();
    const stored = await inboxIds(server.url, bob);
    // Nothing was announced that the restarted server does not have.
    expect(announcedBeforeCrash.filter((id) => !stored.has(id))).toEqual([]);
    // Every 201 survived.
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);

    const resumed = listen(server.url, bob, Math.max(0, ...announcedBeforeCrash));
    await resumed.ready;
    resumed.close();
    const delivered = [...announcedBeforeCrash, ...resumed.ids];
    expect(new Set(delivered).size).toBe(delivered.length); // none twice
    expect([...stored].filter((id) => !delivered.includes(id))).toEqual([]); // none missed
    expect(acknowledged.length).toBeGreaterThanOrEqual(150);
  });
});
