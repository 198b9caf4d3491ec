/**
 * send() exactly once (API B10): every message gets a fresh client_id, and a
 * send whose answer is lost — the connection dropped after the server stored
 * it, a 503, a gateway error, a stalled answer — is sent again, byte for byte,
 * and stored once. Through a real server behind a misbehaving proxy.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetworkError, SecureChatClient, ServerError, TimeoutError, ValidationError, type Mode } from '../src/index.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SEND = '/api/messages/send/';

/** What the proxy does to the next sends, one entry per send, then it passes them through. */
type Fault = 'drop-after-store' | '503-before' | '502-after-store' | 'stall-after-store';

interface Proxy {
  url: string;
  faults: Fault[];
  /** Each send that reached the proxy: its raw body and the server's status (0 when not forwarded). */
  sends: { body: string; status: number }[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function startProxy(target: string): Promise<Proxy> {
  const faults: Fault[] = [];
  const sends: Proxy['sends'] = [];
  const stalled: ServerResponse[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const isSend = req.method === 'POST' && req.url === SEND;
    const fault = isSend ? faults.shift() : undefined;
    const record = { body: body.toString('utf8'), status: 0 };
    if (isSend) sends.push(record);
    if (fault === '503-before') {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ detail: 'Busy, come back in a second.' }));
      return;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name))) as Record<string, string>;
    const upstream = await fetch(target + req.url, { method: req.method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined });
    const answer = Buffer.from(await upstream.arrayBuffer());
    record.status = upstream.status;
    // The server has answered: what the client sees of it is up to the fault.
    if (fault === 'drop-after-store') return void req.socket.destroy();
    if (fault === '502-after-store') return void res.writeHead(502, { 'content-type': 'application/json' }).end('{"detail":"Bad gateway."}');
    if (fault === 'stall-after-store') return void stalled.push(res);
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    faults,
    sends,
    async close() {
      stalled.forEach((res) => res.destroy());
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let server: LiveServer;
let proxy: Proxy;
let n = 0;
beforeAll(async () => {
  server = await startLiveServer();
  proxy = await startProxy(server.url);
});
afterAll(async () => {
  await proxy.close();
  await server.close();
});
beforeEach(() => {
  proxy.faults.length = 0;
  proxy.sends.length = 0;
});

async function signedUp(mode: Mode, baseUrl = proxy.url): Promise<SecureChatClient> {
  const c = new SecureChatClient({ baseUrl, mode, kdfIterations: 100_000, retry: { baseDelayMs: 20, timeoutMs: 2000 } });
  await c.register(`retry${mode}${++n}`, 'pass-phrase-1');
  return c;
}

async function inboxTexts(c: SecureChatClient): Promise<string[]> {
  const texts: string[] = [];
  for await (const m of c.inbox()) if (m.readable) texts.push(m.text);
  return texts;
}

describe.each<Mode>(['e2e', 'server'])('send() in %s mode', (mode) => {
  let alice: SecureChatClient;
  let bob: SecureChatClient;
  beforeAll(async () => {
    [alice, bob] = await Promise.all([signedUp(mode), signedUp(mode)]);
  });

  it('sends a fresh lowercase client_id with every message', async () => {
    const [a, b] = [await alice.send(bob.user!.username, { text: 'one' }), await alice.send(bob.user!.username, { text: 'two' })];
    expect(a.client_id).toMatch(UUID);
    expect(b.client_id).toMatch(UUID);
    expect(a.client_id).not.toBe(b.client_id);
    expect(proxy.sends.map((s) => JSON.parse(s.body).client_id)).toEqual([a.client_id, b.client_id]);
  });

  it.each<[Fault, number]>([
    ['drop-after-store', 0],
    ['502-after-store', 0],
    ['stall-after-store', 0],
    ['503-before', 1000],
  ])('an answer lost to %s: sent again with the same client_id and body, stored once', async (fault, minimumWait) => {
    const text = `exactly once after ${fault}`;
    proxy.faults.push(fault);
    const started = Date.now();
    const sent = await alice.send(bob.user!.username, { text, attachment: { data: new Uint8Array([1, 2, 3]), name: 'a.bin' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(minimumWait - 50); // Retry-After honoured
    expect(proxy.sends).toHaveLength(2);
    expect(proxy.sends[1]!.body).toBe(proxy.sends[0]!.body); // byte for byte: same ciphertext, same client_id
    expect(JSON.parse(proxy.sends[0]!.body).client_id).toBe(sent.client_id);
    // The server stored the first attempt (201) and answered the retry with it (200) — or, after a 503, stored the retry.
    expect(proxy.sends.map((s) => s.status)).toEqual(fault === '503-before' ? [0, 201] : [201, 200]);
    expect((await inboxTexts(bob)).filter((t) => t === text)).toHaveLength(1);
    expect((await bob.read(sent.id)).readable && (await bob.read(sent.id))).toMatchObject({ text });
  });

  it('gives up after the configured attempts, with the last error', async () => {
    proxy.faults.push('503-before', '503-before', '503-before', '503-before');
    const fast = new SecureChatClient({ baseUrl: proxy.url, mode, session: { token: alice.token!, user: alice.user! }, retry: { attempts: 2 } });
    if (mode === 'e2e') await fast.unlock('pass-phrase-1');
    await expect(fast.send(bob.user!.username, { text: 'never' })).rejects.toBeInstanceOf(ServerError);
    expect(proxy.sends).toHaveLength(2);
    expect(proxy.faults).toHaveLength(2);
  });

  it('a refusal (400) is not retried', async () => {
    await expect(alice.send(bob.user!.username, { text: '' })).rejects.toBeInstanceOf(ValidationError);
    expect(proxy.sends).toHaveLength(1);
  });
});

describe('retry policy', () => {
  it('a network error is retried with backoff, then thrown as NetworkError after the last attempt', async () => {
    const calls: number[] = [];
    const failing: typeof fetch = async () => {
      calls.push(Date.now());
      throw new TypeError('fetch failed');
    };
    const c = new SecureChatClient({ baseUrl: 'http://127.0.0.1:9', mode: 'server', fetch: failing, session: { token: 'a'.repeat(64), user: { id: 1, username: 'x' } }, retry: { baseDelayMs: 40, maxDelayMs: 100 } });
    await expect(c.send('bob', { text: 'hi' })).rejects.toBeInstanceOf(NetworkError);
    expect(calls).toHaveLength(4);
    const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
    // Equal jitter: each wait is at least half its step (20, 40, 50 ms), at most the step (plus timer slack).
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(49);
    for (const gap of gaps) expect(gap).toBeLessThan(1000);
  });

  it('a stalled answer is a TimeoutError once the attempts are spent', async () => {
    const stalling: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
    const c = new SecureChatClient({ baseUrl: 'http://127.0.0.1:9', mode: 'server', fetch: stalling, session: { token: 'a'.repeat(64), user: { id: 1, username: 'x' } }, retry: { attempts: 2, baseDelayMs: 1, timeoutMs: 50 } });
    const error = await c.send('bob', { text: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(NetworkError);
  });

  it('a Retry-After longer than maxRetryAfterMs is not waited for', async () => {
    let calls = 0;
    const busy: typeof fetch = async () => {
      calls++;
      return new Response('{"detail":"Busy."}', { status: 503, headers: { 'retry-after': '120' } });
    };
    const c = new SecureChatClient({ baseUrl: 'http://127.0.0.1:9', mode: 'server', fetch: busy, session: { token: 'a'.repeat(64), user: { id: 1, username: 'x' } } });
    const error = await c.send('bob', { text: 'hi' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, retryAfterSeconds: 120 });
    expect(calls).toBe(1);
  });

  it('other requests are never retried', async () => {
    let calls = 0;
    const failing: typeof fetch = async () => {
      calls++;
      throw new TypeError('fetch failed');
    };
    const c = new SecureChatClient({ baseUrl: 'http://127.0.0.1:9', fetch: failing, session: { token: 'a'.repeat(64), user: { id: 1, username: 'x' } } });
    await expect(c.sessions()).rejects.toBeInstanceOf(NetworkError);
    expect(calls).toBe(1);
  });
});
