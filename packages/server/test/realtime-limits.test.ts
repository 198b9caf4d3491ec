/**
 * Realtime limits and hostile clients (API B 9): frames the server cannot use
 * close only their own connection, pings are answered, the per-user cap
 * counts WebSocket and SSE together, slow readers are closed 4408, silent
 * peers are dropped, shutdown closes with 1001, and heartbeats keep quiet
 * streams open past the socket idle timeout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { call, register, type Account } from './helpers.ts';
import { eventually, SseClient, startLiveServer, WsClient, type LiveServer } from './realtime-helpers.ts';
import { realtimeHubOf } from '../src/realtime/index.ts';
import { http, startServerProcess } from './server-process.ts';

let server: LiveServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function sendTo(s: LiveServer, from: Account, to: Account, message: string): Promise<number> {
  const res = await call(s.app, 'POST', '/api/messages/send/', { token: from.token, body: { recipient: to.username, message } });
  if (res.statusCode !== 201) throw new Error(`send: ${res.statusCode} ${res.body}`);
  return res.json().id;
}

describe('frames the server cannot use', () => {
  it.each([
    ['not JSON', (c: WsClient) => c.send('hello?'), 4400],
    ['JSON that is not an object', (c: WsClient) => c.send('[1,2]'), 4400],
    ['an object without a string type', (c: WsClient) => c.send({ kind: 'ping' }), 4400],
    ['a binary frame', (c: WsClient) => c.socket.send(Buffer.from('{"type":"ping"}')), 1003],
    ['a frame over 64 KiB', (c: WsClient) => c.send({ type: 'ping', pad: 'x'.repeat(70 * 1024) }), 1009],
  ])('%s closes that connection only (%s)', async (_name, misbehave, code) => {
    server = await startLiveServer();
    const alice = await register(server.app);
    const bob = await register(server.app);
    const bad = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': bob.token });
    const good = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': bob.token });
    await Promise.all([bad.ready(), good.ready()]);
    misbehave(bad);
    expect((await bad.closed).code).toBe(code);
    const id = await sendTo(server, alice, bob, 'still delivered');
    await good.until((f) => f.some((x) => x.type === 'message' && x.message.id === id));
    good.close();
  });

  it('unknown types and a second auth frame are ignored; the connection stays usable', async () => {
    server = await startLiveServer();
    const alice = await register(server.app);
    const bob = await register(server.app);
    const client = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': bob.token });
    await client.ready();
    client.send({ type: 'subscribe', channel: 'everything' });
    client.send({ type: 'auth', token: alice.token });
    client.send({ type: 'ping' });
    await client.until((f) => f.some((x) => x.type === 'pong'));
    const id = await sendTo(server, alice, bob, 'after the noise');
    await client.until((f) => f.some((x) => x.type === 'message'));
    expect(client.frames.map((f) => f.type)).toEqual(['ready', 'pong', 'message']);
    expect(client.frames[2]!.message.id).toBe(id);
    client.close();
  });

  it('a ping flood is answered with one pong per ping, in order with the events', async () => {
    server = await startLiveServer();
    const bob = await register(server.app);
    const client = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': bob.token });
    await client.ready();
    for (let i = 0; i < 2000; i++) client.send('{"type":"ping"}');
    await client.until((f) => f.filter((x) => x.type === 'pong').length === 2000);
    expect(client.frames.length).toBe(2001);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    client.close();
  });
});

describe('upgrade requests to other paths', () => {
  it('are answered like plain requests, and their sockets are closed once idle instead of being held forever', async () => {
    server = await startLiveServer();
    const address = server.app.server.address() as { port: number };
    const socket = connect(address.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += String(chunk)));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);

    const post = connect(address.port, '127.0.0.1');
    post.resume();
    const postClosed = new Promise<void>((resolve) => post.once('close', () => resolve()));
    post.write('POST /api/ws/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n');
    await postClosed;
  });

  it('a real WebSocket is not cut by that idle timeout', async () => {
    server = await startLiveServer();
    const bob = await register(server.app);
    const ws = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': bob.token });
    await ws.ready();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(ws.socket.readyState).toBe(ws.socket.OPEN);
    ws.close();
  });
});

describe('per-user connection cap', () => {
  it('counts WebSocket and SSE together: the newest over the cap gets 4429 (WebSocket) or 429 (SSE); a freed slot can be reused', async () => {
    server = await startLiveServer({ env: { REALTIME_MAX_CONNECTIONS_PER_USER: '3' } });
    const s = server;
    const bob = await register(s.app);
    const carol = await register(s.app);
    const one = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    const two = new SseClient(`${s.url}/api/events/`, { 'X-Auth-Token': bob.token });
    const three = await WsClient.open(s);
    three.send({ type: 'auth', token: bob.token });
    await Promise.all([one.ready(), three.ready(), two.until((e) => e.length === 1)]);

    const overWs = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    expect((await overWs.closed).code).toBe(4429);
    expect(overWs.frames).toEqual([]);
    const overSse = new SseClient(`${s.url}/api/events/`, { 'X-Auth-Token': bob.token });
    await overSse.ended;
    expect(overSse.status).toBe(429);
    expect(overSse.headers['retry-after']).toBeDefined();
    expect(JSON.parse(overSse.body).detail).toMatch(/at most 3/i);

    // Other users are not affected, and the existing connections stay open.
    const carols = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': carol.token });
    await carols.ready();
    expect(one.socket.readyState).toBe(one.socket.OPEN);

    one.close();
    await one.closed;
    await eventually(() => realtimeHubOf(s.app)!.count(bob.id) === 2);
    const again = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    await again.ready();
    for (const c of [again, three, carols]) c.close();
    two.close();
  });
});

describe('slow and silent readers', () => {
  it('a reader that stops reading is closed with 4408 once more than REALTIME_MAX_QUEUED_BYTES is queued; others carry on', async () => {
    server = await startLiveServer({ env: { REALTIME_MAX_QUEUED_BYTES: '65536' } });
    const s = server;
    const alice = await register(s.app);
    const bob = await register(s.app);
    const slow = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    const fast = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    await Promise.all([slow.ready(), fast.ready()]);
    slow.socket.pause(); // stops reading: the kernel buffers fill, then the server's queue grows

    const big = 'x'.repeat(200_000); // ~270 KB per event
    const hub = realtimeHubOf(s.app)!;
    let sent = 0;
    while (hub.count(bob.id) === 2) {
      if (sent >= 400) throw new Error('the slow reader was never closed');
      await sendTo(s, alice, bob, big);
      sent += 1;
    }
    slow.socket.resume();
    expect((await slow.closed).code).toBe(4408);
    await fast.until((f) => f.filter((x) => x.type === 'message').length === sent);
    expect(fast.socket.readyState).toBe(fast.socket.OPEN);
    fast.close();
  });

  it('an SSE reader that stops reading is cut once more than REALTIME_MAX_QUEUED_BYTES is queued', async () => {
    server = await startLiveServer({ env: { REALTIME_MAX_QUEUED_BYTES: '65536' } });
    const s = server;
    const alice = await register(s.app);
    const bob = await register(s.app);
    const slow = new SseClient(`${s.url}/api/events/`, { 'X-Auth-Token': bob.token });
    await slow.until((e) => e.length === 1);
    slow.pause();
    const big = 'x'.repeat(200_000);
    const hub = realtimeHubOf(s.app)!;
    let sent = 0;
    while (hub.count(bob.id) === 1) {
      if (sent >= 400) throw new Error('the slow SSE reader was never cut');
      await sendTo(s, alice, bob, big);
      sent += 1;
    }
    slow.resume();
    await slow.ended;
    expect(slow.events.filter((e) => e.event === 'message').length).toBeLessThan(sent);
  });

  it('a peer that answers no ping is dropped after deadAfterMs', async () => {
    server = await startLiveServer({ realtime: { heartbeatMs: 30, deadAfterMs: 150 } });
    const s = server;
    const bob = await register(s.app);
    const silent = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    const lively = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    await Promise.all([silent.ready(), lively.ready()]);
    silent.socket.pause(); // reads nothing, so answers no ping
    await eventually(() => realtimeHubOf(s.app)!.count(bob.id) === 1, 20_000, 'the silent peer to be dropped');
    silent.socket.resume();
    expect((await silent.closed).code).toBe(1006); // terminated, no close frame
    // The one that answers pings (the ws client does so by itself) is kept.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lively.socket.readyState).toBe(lively.socket.OPEN);
    lively.close();
  });

  it('heartbeats keep a quiet SSE stream and WebSocket open past the socket idle timeout and the whole-request timeout', async () => {
    server = await startLiveServer({ realtime: { heartbeatMs: 100 } });
    const s = server;
    s.app.server.timeout = 400; // the idle timeout (60 s in production), shortened
    s.app.server.headersTimeout = 300; // and the request timers (10 s, 20 min), which Node checks every 2 s
    s.app.server.requestTimeout = 400;
    const bob = await register(s.app);
    const sse = new SseClient(`${s.url}/api/events/`, { 'X-Auth-Token': bob.token });
    const ws = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    await Promise.all([ws.ready(), sse.until((e) => e.length === 1)]);
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect(sse.done).toBe(false);
    expect(sse.comments).toBeGreaterThan(10);
    expect(ws.socket.readyState).toBe(ws.socket.OPEN);
    const alice = await register(s.app);
    const id = await sendTo(s, alice, bob, 'still listening');
    await sse.until((e) => e.some((x) => x.id === String(id)));
    ws.close();
    sse.close();
  });
});

describe('shutdown', () => {
  it('app.close() closes WebSockets with 1001, ends SSE streams, refuses nothing else mid-way, and returns', async () => {
    server = await startLiveServer();
    const s = server;
    const bob = await register(s.app);
    const ws = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    const pending = await WsClient.open(s); // not authenticated yet
    const sse = new SseClient(`${s.url}/api/events/`, { 'X-Auth-Token': bob.token });
    await Promise.all([ws.ready(), sse.until((e) => e.length === 1)]);
    await s.close();
    expect((await ws.closed).code).toBe(1001);
    expect((await pending.closed).code).toBe(1001);
    await sse.ended;
    expect(realtimeHubOf(s.app)!.size).toBe(0);
  });

  it('SIGTERM to the server process (main.ts): its WebSockets are closed with 1001 and it exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'securechat-rt-main-'));
    const proc = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` });
    try {
      const reg = await http(proc.url, 'POST', '/api/auth/register/', { username: `sig${process.pid}`, password: 'password-123' });
      expect(reg.status).toBe(201);
      const ws = new WebSocket(proc.url.replace('http', 'ws') + '/api/ws/', { headers: { 'X-Auth-Token': reg.json.token } });
      const frames: string[] = [];
      ws.on('message', (data) => frames.push(String(data)));
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await eventually(() => frames.length > 0);
      proc.child.kill('SIGTERM');
      expect(await closed).toBe(1001);
      expect(await proc.exited).toBe(0);
    } finally {
      proc.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('sockets that have not authenticated yet', () => {
  it('are bounded in number: past the limit a new one is closed 1013, while authenticated ones still connect', async () => {
    server = await startLiveServer({ realtime: { maxUnauthenticated: 2 } });
    const alice = await register(server.app);
    const waiting = [await WsClient.open(server), await WsClient.open(server)];
    const third = await WsClient.open(server);
    expect((await third.closed).code).toBe(1013);
    for (const client of waiting) expect(client.socket.readyState).toBe(WebSocket.OPEN);

    const withHeader = await WsClient.open(server, '/api/ws/', { 'x-auth-token': alice.token });
    await eventually(() => withHeader.frames.some((f) => f.type === 'ready'), 10_000, 'ready');
    // One that authenticates frees its place.
    waiting[0]!.send({ type: 'auth', token: alice.token });
    await eventually(() => waiting[0]!.frames.some((f) => f.type === 'ready'), 10_000, 'ready after the auth frame');
    const fourth = await WsClient.open(server);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fourth.socket.readyState).toBe(WebSocket.OPEN);
    for (const client of [...waiting, withHeader, fourth]) client.socket.terminate();
  });
});
