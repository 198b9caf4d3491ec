/**
 * Through the real server process and real HTTP: concurrent sends are neither
 * lost nor duplicated, a 201 survives kill -9, and SIGTERM lets in-flight
 * requests finish.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decryptMessage, importPrivateKey, openEnvelope, type Envelope, type Message } from '@securechat/protocol';
import { http, startServerProcess, type ServerProcess } from './server-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'securechat-durability-'));
const running: ServerProcess[] = [];
afterAll(() => {
  for (const server of running) server.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function start(file: string): Promise<ServerProcess> {
  const server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, file)}` });
  running.push(server);
  return server;
}

interface Person {
  username: string;
  password: string;
  token: string;
}

async function registerAll(url: string, prefix: string, count: number): Promise<Person[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const username = `${prefix}${i}`;
      const password = `password-${i}-${prefix}`;
      const res = await http(url, 'POST', '/api/auth/register/', { username, password });
      expect(res.status).toBe(201);
      return { username, password, token: res.json.token };
    }),
  );
}

async function decryptFor(url: string, person: Person, message: Message): Promise<string> {
  const keys: Envelope[] = (await http(url, 'GET', '/api/keys/', undefined, person.token)).json;
  const envelope = keys.find((k) => k.key_id === message.key_id)!;
  const privateKey = await importPrivateKey(await openEnvelope(envelope, person.password));
  return (await decryptMessage(message, privateKey)).text;
}

describe('the real server process', () => {
  it('50 concurrent sends among a few users: all succeed, each in exactly one inbox', async () => {
    const server = await start('concurrent.db');
    const people = await registerAll(server.url, 'c', 3);
    const plan = Array.from({ length: 50 }, (_, i) => ({ from: people[i % 3]!, to: people[(i + 1 + (i % 2)) % 3]!, text: `concurrent ${i}` }));
    const results = await Promise.all(plan.map((p) => http(server.url, 'POST', '/api/messages/send/', { recipient: p.to.username, message: p.text }, p.from.token)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));

    const inboxes = await Promise.all(people.map((p) => http(server.url, 'GET', '/api/messages/?limit=200', undefined, p.token)));
    const all: Message[] = inboxes.flatMap((r) => r.json);
    expect(all).toHaveLength(50);
    expect(new Set(all.map((m) => m.id)).size).toBe(50);
    for (const [i, p] of plan.entries()) {
      const inbox: Message[] = inboxes[people.indexOf(p.to)]!.json;
      const landed = inbox.filter((m) => m.id === results[i]!.json.id);
      expect(landed).toHaveLength(1);
      expect(landed[0]!.sender.username).toBe(p.from.username);
    }
    const recipient = people[1]!;
    const sample = inboxes[1]!.json[0] as Message;
    expect(await decryptFor(server.url, recipient, sample)).toMatch(/^concurrent \d+$/);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('every send that got a 201 survives kill -9 in the middle of a stream of sends', async () => {
    const first = await start('crash.db');
    const people = await registerAll(first.url, 'k', 3);
    const acknowledged: { id: number; text: string; to: Person }[] = [];
    let stop = false;

    const client = async (c: number) => {
      for (let n = 0; !stop; n++) {
        const from = people[c % 3]!;
        const to = people[(c + n) % 3]!;
        const text = `client ${c} message ${n}`;
        try {
          const res = await http(first.url, 'POST', '/api/messages/send/', { recipient: to.username, message: text }, from.token);
          if (res.status === 201) acknowledged.push({ id: res.json.id, text, to });
        } catch {
          return; // the server is gone
        }
      }
    };
    const clients = Array.from({ length: 4 }, (_, c) => client(c));
    while (acknowledged.length < 40) await new Promise((r) => setTimeout(r, 10));
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    stop = true;
    await Promise.all(clients);

    const second = await start('crash.db');
    const fresh = await Promise.all(
      people.map(async (p) => ({ ...p, token: (await http(second.url, 'POST', '/api/auth/login/', { username: p.username, password: p.password })).json.token })),
    );
    for (const ack of acknowledged) {
      const reader = fresh.find((p) => p.username === ack.to.username)!;
      const res = await http(second.url, 'GET', `/api/messages/${ack.id}/`, undefined, reader.token);
      expect(res.status, `message ${ack.id}`).toBe(200);
      expect(await decryptFor(second.url, reader, res.json)).toBe(ack.text);
    }
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('SIGTERM finishes the in-flight request, then exits 0 and stops accepting', async () => {
    const server = await start('graceful.db');
    const pending = http(server.url, 'POST', '/api/auth/register/', { username: 'inflight', password: 'password-123' });
    await new Promise((r) => setTimeout(r, 30)); // the registration is now generating its key pair
    server.child.kill('SIGTERM');
    const res = await pending;
    expect(res.status).toBe(201);
    expect(await server.exited).toBe(0);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();

    const again = await start('graceful.db');
    const login = await http(again.url, 'POST', '/api/auth/login/', { username: 'inflight', password: 'password-123' });
    expect(login.status).toBe(200);
    again.child.kill('SIGTERM');
    await again.exited;
  });
});
