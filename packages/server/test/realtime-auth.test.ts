/**
 * Realtime authentication (API B 9): every failure accepts the upgrade and
 * closes 4401; SSE answers 401 JSON. A live connection whose session ends
 * (logout, logout-all, session delete, password change, expiry) gets
 * session_revoked, then 4401.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, register } from './helpers.ts';
import { eventually, SseClient, startLiveServer, WsClient, type LiveServer } from './realtime-helpers.ts';
import { realtimeHubOf } from '../src/realtime/index.ts';

let server: LiveServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function login(s: LiveServer, username: string, password: string): Promise<string> {
  const res = await call(s.app, 'POST', '/api/auth/login/', { body: { username, password } });
  expect(res.statusCode).toBe(200);
  return res.json().token;
}

describe('WebSocket authentication', () => {
  it.each([
    ['an unknown token in X-Auth-Token', { 'X-Auth-Token': 'a'.repeat(64) }],
    ['a malformed Bearer token', { Authorization: 'Bearer not-a-token' }],
  ])('%s: the upgrade is accepted, then closed 4401', async (_name, headers) => {
    server = await startLiveServer();
    const client = await WsClient.open(server, '/api/ws/', headers);
    expect(await client.closed).toMatchObject({ code: 4401 });
    expect(client.frames).toEqual([]);
  });

  it('no token and no auth frame: closed 4401 when the (injected) deadline passes', async () => {
    server = await startLiveServer({ realtime: { authTimeoutMs: 200 } });
    const client = await WsClient.open(server);
    expect(await client.closed).toMatchObject({ code: 4401 });
    expect(realtimeHubOf(server.app)!.size).toBe(0);
  });

  it('a token in the URL is refused even when valid, even beside a valid header', async () => {
    server = await startLiveServer();
    const alice = await register(server.app);
    for (const path of [`/api/ws/?token=${alice.token}`, `/api/ws/?access_token=${alice.token}`, `/api/ws/?x=${alice.token}`]) {
      const client = await WsClient.open(server, path, { 'X-Auth-Token': alice.token });
      expect(await client.closed).toMatchObject({ code: 4401 });
      expect(client.frames).toEqual([]);
    }
    const sse = new SseClient(`${server.url}/api/events/?token=${alice.token}`, { 'X-Auth-Token': alice.token });
    await sse.ended;
    expect(sse.status).toBe(401);
  });

  it('first-frame auth (as browsers do): ready follows; a wrong token or a first frame that is not auth closes 4401', async () => {
    server = await startLiveServer();
    const alice = await register(server.app);
    const good = await WsClient.open(server);
    good.send({ type: 'auth', token: alice.token });
    expect(await good.ready()).toEqual([{ type: 'ready', last_id: 0 }]);
    good.send({ type: 'ping' });
    await good.until((f) => f.length === 2);
    expect(good.frames[1]).toEqual({ type: 'pong' });
    good.close();

    const wrong = await WsClient.open(server);
    wrong.send({ type: 'auth', token: 'b'.repeat(64) });
    expect(await wrong.closed).toMatchObject({ code: 4401 });

    const notAuth = await WsClient.open(server);
    notAuth.send({ type: 'ping' });
    expect(await notAuth.closed).toMatchObject({ code: 4401 });
    expect(notAuth.frames).toEqual([]);

    const noToken = await WsClient.open(server);
    noToken.send({ type: 'auth' });
    expect(await noToken.closed).toMatchObject({ code: 4401 });
  });

  it('a bad after_id closes 4400', async () => {
    server = await startLiveServer();
    const alice = await register(server.app);
    const byQuery = await WsClient.open(server, '/api/ws/?after_id=-1', { 'X-Auth-Token': alice.token });
    expect(await byQuery.closed).toMatchObject({ code: 4400 });
    const byFrame = await WsClient.open(server);
    byFrame.send({ type: 'auth', token: alice.token, after_id: 'soon' });
    expect(await byFrame.closed).toMatchObject({ code: 4400 });
  });

  it('a plain GET (no upgrade) is a 426 with a JSON detail', async () => {
    server = await startLiveServer();
    const res = await fetch(`${server.url}/api/ws/`);
    expect(res.status).toBe(426);
    expect((await res.json()).detail).toMatch(/WebSocket/);
  });
});

describe('SSE authentication', () => {
  it.each([
    ['no token', {}],
    ['an unknown token', { 'X-Auth-Token': 'c'.repeat(64) }],
  ])('%s → 401 with the usual JSON error, nothing streamed', async (_name, headers) => {
    server = await startLiveServer();
    const sse = new SseClient(`${server.url}/api/events/`, headers);
    await sse.ended;
    expect(sse.status).toBe(401);
    expect(sse.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(sse.body)).toHaveProperty('detail');
  });
});

describe('revoked sessions on live connections', () => {
  type Revoke = (s: LiveServer, account: { token: string; username: string; password: string }, victim: string) => Promise<void>;
  const sessionIdOf = async (s: LiveServer, token: string, victim: string) => {
    const list = (await call(s.app, 'GET', '/api/auth/sessions/', { token })).json() as Array<{ id: number; current: boolean }>;
    const victimList = (await call(s.app, 'GET', '/api/auth/sessions/', { token: victim })).json() as Array<{ id: number; current: boolean }>;
    const id = victimList.find((x) => x.current)!.id;
    expect(list.some((x) => x.id === id)).toBe(true);
    return id;
  };
  const cases: Array<[string, Revoke, { survivorKeepsOpen: boolean }]> = [
    ['logout', async (s, _a, victim) => void expect((await call(s.app, 'POST', '/api/auth/logout/', { token: victim })).statusCode).toBe(204), { survivorKeepsOpen: true }],
    ['logout-all', async (s, a) => void expect((await call(s.app, 'POST', '/api/auth/logout-all/', { token: a.token })).statusCode).toBe(204), { survivorKeepsOpen: false }],
    [
      'session delete',
      async (s, a, victim) => {
        const id = await sessionIdOf(s, a.token, victim);
        expect((await call(s.app, 'DELETE', `/api/auth/sessions/${id}/`, { token: a.token })).statusCode).toBe(204);
      },
      { survivorKeepsOpen: true },
    ],
    [
      'password change (other sessions)',
      async (s, a) => {
        const res = await call(s.app, 'POST', '/api/auth/password/', { token: a.token, body: { old_password: a.password, new_password: 'another-long-password-9' } });
        expect(res.statusCode).toBe(200);
      },
      { survivorKeepsOpen: true },
    ],
  ];

  it.each(cases)('%s: the revoked session’s WebSocket and SSE get session_revoked, then 4401 / end', async (_name, revoke, { survivorKeepsOpen }) => {
    server = await startLiveServer();
    const s = server;
    const alice = await register(s.app);
    const victim = await login(s, alice.username, alice.password);
    const ws = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': victim });
    const sse = new SseClient(`${s.url}/api/events/`, { 'X-Auth-Token': victim });
    const survivor = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': alice.token });
    await Promise.all([ws.ready(), survivor.ready(), sse.until((e) => e.length === 1)]);

    await revoke(s, alice, victim);

    expect(await ws.closed).toMatchObject({ code: 4401 });
    expect(ws.frames.at(-1)).toEqual({ type: 'session_revoked' });
    await sse.ended;
    expect(sse.events.at(-1)).toEqual({ event: 'session_revoked', id: undefined, data: { type: 'session_revoked' } });
    if (survivorKeepsOpen) {
      // The survivor's session is untouched: it still gets messages.
      const bob = await register(s.app);
      await call(s.app, 'POST', '/api/messages/send/', { token: bob.token, body: { recipient: alice.username, message: 'still here?' } });
      await survivor.until((f) => f.some((x) => x.type === 'message'));
      expect(survivor.frames.some((f) => f.type === 'session_revoked')).toBe(false);
      survivor.close();
    } else {
      expect(await survivor.closed).toMatchObject({ code: 4401 });
    }
  });

  it('an expired session is closed at the next heartbeat', async () => {
    server = await startLiveServer({ realtime: { heartbeatMs: 50 } });
    const s = server;
    const alice = await register(s.app);
    const ws = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': alice.token });
    await ws.ready();
    // Expire it behind the server's back (as time would), and drop the cached row.
    await s.store.db.updateTable('sessions').set({ expires_at: '2000-01-01T00:00:00.000Z' }).execute();
    await s.store.sessions.deleteExpired('1999-01-01T00:00:00.000Z'); // deletes nothing, clears the session cache
    expect(await ws.closed).toMatchObject({ code: 4401 });
    expect(ws.frames.at(-1)).toEqual({ type: 'session_revoked' });
    await eventually(() => realtimeHubOf(s.app)!.count(alice.id) === 0);
  });
});
