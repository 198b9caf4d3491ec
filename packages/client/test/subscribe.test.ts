/**
 * client.subscribe() (API.md B 9) against a scripted fake server, where the
 * test decides every frame and close: auth frame, catch-up then live,
 * decryption, attachments on demand, resume and dedup across reconnects,
 * backoff with full jitter, 4401 / 4429 / 4408, key rotation, heartbeat.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeBase64 } from '@securechat/protocol';
import {
  AuthenticationError, SecureChatClient, type LiveMessage, type StateChange, type SubscribeOptions, type Subscription, type SubscriptionEvent, type WebSocketConstructor,
  type WebSocketLike,
} from '../src/index.ts';
import { startFakeRealtimeServer, type FakeConnection, type FakeRealtimeServer } from './fake-realtime-server.ts';
import { ALICE, BOB, makeFixtures, PASSWORD, type Fixtures } from './realtime-fixtures.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';

let fake: FakeRealtimeServer;
let fixtures: Fixtures;
let bobEnvelopes: Fixtures['bobEnvelopes'];
const subscriptions: Subscription[] = [];

beforeAll(async () => {
  fixtures = await makeFixtures();
  bobEnvelopes = fixtures.bobEnvelopes;
});

const mail = (id: number, text: string, options?: Parameters<Fixtures['mail']>[3]) => fixtures.mail(fake, id, text, options);

const messageEvent = (message: unknown, mailbox = 'inbox') => ({ type: 'message', mailbox, message });

async function bob(): Promise<SecureChatClient> {
  const client = new SecureChatClient({ baseUrl: fake.url, session: { token: 'bob-token', user: BOB } });
  await client.unlock(PASSWORD);
  return client;
}

/** Subscribes and records everything it reports. */
async function watch(options: Partial<SubscribeOptions> = {}) {
  const client = await bob();
  const messages: LiveMessage[] = [];
  const events: SubscriptionEvent[] = [];
  const states: StateChange[] = [];
  const errors: unknown[] = [];
  const sub = client.subscribe({
    minDelayMs: 10,
    maxDelayMs: 80,
    random: () => 0.5,
    onMessage: (m) => void messages.push(m),
    onEvent: (e) => void events.push(e),
    onStateChange: (s) => void states.push(s),
    onError: (e) => void errors.push(e),
    ...options,
  });
  subscriptions.push(sub);
  return { client, sub, messages, events, states, errors, ids: () => messages.map((m) => m.id) };
}

async function connected(): Promise<{ conn: FakeConnection; auth: Record<string, unknown> }> {
  const conn = await fake.nextConnection();
  return { conn, auth: await conn.auth };
}

describe('subscribe() against a scripted server', () => {
  // A fresh server per test, so no connection of one test is seen by the next.
  beforeEach(async () => {
    fake = await startFakeRealtimeServer();
    fake.envelopes.push(bobEnvelopes[0]!);
  });
  afterEach(async () => {
    for (const sub of subscriptions.splice(0)) sub.close();
    await fake.close();
  });

  it('authenticates with a first frame (never the URL), catches up, then delivers live messages decrypted', async () => {
    const w = await watch({ afterId: 0 });
    const { conn, auth } = await connected();
    expect(conn.url).toBe('/api/ws/');
    expect(conn.headers['x-auth-token']).toBeUndefined();
    expect(auth).toEqual({ type: 'auth', token: 'bob-token', after_id: 0 });
    expect(w.sub.state).toBe('connecting');

    const bytes = new Uint8Array(Array.from({ length: 5000 }, (_, i) => (i * 31) % 256));
    conn.send(messageEvent(await mail(1, 'first, caught up')));
    conn.send(messageEvent(await mail(2, 'with a file', { attachment: bytes })));
    conn.send({ type: 'ready', last_id: 2 });
    await w.sub.ready;
    expect(w.sub.state).toBe('live');
    expect(w.ids()).toEqual([1, 2]); // delivered before ready resolves
    conn.send(messageEvent(await mail(3, 'live: héllo 👋\nsecond line')));
    await vi.waitFor(() => expect(w.ids()).toEqual([1, 2, 3]));

    const [first, withFile, live] = w.messages;
    expect(first).toMatchObject({ readable: true, text: 'first, caught up', mailbox: 'inbox', sender: ALICE, recipient: BOB, attachment: null, attachmentInfo: null });
    expect(live!.text).toBe('live: héllo 👋\nsecond line');
    expect(withFile!.attachmentInfo).toEqual({ name: 'report.pdf', mime: 'application/pdf' });
    const attachment = await withFile!.fetchAttachment();
    expect(attachment!.name).toBe('report.pdf');
    expect(Buffer.from(attachment!.data).equals(Buffer.from(bytes))).toBe(true);
    expect(fake.requests).toContain('/api/messages/2/');
    expect(await first!.fetchAttachment()).toBeNull();
    expect(w.events).toEqual([{ type: 'ready', last_id: 2 }]);
    expect(w.states.map((s) => s.state)).toEqual(['live']);
    expect(w.sub.lastId).toBe(3);

    w.sub.close();
    expect(await w.sub.closed).toBeNull();
    expect(w.sub.state).toBe('closed');
    expect(await conn.closed).toBe(1000);
  });

  it('without afterId sends no after_id, then resumes from ready.last_id; every id once across reconnects', async () => {
    const w = await watch();
    const first = await connected();
    expect(first.auth).toEqual({ type: 'auth', token: 'bob-token' });
    first.conn.send({ type: 'ready', last_id: 40 });
    await w.sub.ready;
    first.conn.send(messageEvent(await mail(41, 'a')));
    first.conn.send(messageEvent(await mail(42, 'b')));
    first.conn.send(messageEvent(await mail(42, 'b again on one connection'))); // a server bug: still once
    await vi.waitFor(() => expect(w.ids()).toEqual([41, 42]));
    first.conn.close(1001, 'shutting down');

    const second = await connected();
    expect(second.auth).toEqual({ type: 'auth', token: 'bob-token', after_id: 42 });
    // 42 was in flight when the old connection closed: the server may send it again.
    second.conn.send(messageEvent(await mail(42, 'b')));
    second.conn.send(messageEvent(await mail(43, 'c')));
    second.conn.send({ type: 'ready', last_id: 43 });
    second.conn.send(messageEvent(await mail(44, 'd')));
    await vi.waitFor(() => expect(w.ids()).toEqual([41, 42, 43, 44]));
    expect(w.messages.map((m) => m.text)).toEqual(['a', 'b', 'c', 'd']);

    second.conn.terminate(); // no close frame: 1006
    const third = await connected();
    expect(third.auth.after_id).toBe(44);
    expect(w.states.map((s) => [s.state, s.code])).toEqual([
      ['live', undefined], ['reconnecting', 1001], ['live', undefined], ['reconnecting', 1006],
    ]);
  });

  it('backs off exponentially with full jitter up to the ceiling, and starts over once live', async () => {
    const w = await watch({ afterId: 0, random: () => 0.999, minDelayMs: 10, maxDelayMs: 80 });
    for (let i = 0; i < 6; i++) {
      const { conn } = await connected();
      conn.close(1011);
    }
    const { conn } = await connected();
    conn.send({ type: 'ready', last_id: 0 });
    await w.sub.ready;
    conn.close(1012);
    await connected();
    const retries = w.states.filter((s) => s.state === 'reconnecting');
    expect(retries.map((s) => s.attempt)).toEqual([1, 2, 3, 4, 5, 6, 1]);
    expect(retries.map((s) => s.delayMs)).toEqual([10, 20, 40, 80, 80, 80, 10]);

    // Full jitter: anywhere from 0 to the ceiling.
    const low = await watch({ afterId: 0, random: () => 0, minDelayMs: 10, maxDelayMs: 80 });
    (await connected()).conn.close(1011);
    await connected();
    expect(low.states.find((s) => s.state === 'reconnecting')!.delayMs).toBe(0);
  });

  it('4401 (and session_revoked) ends it: no reconnection, closed resolves with an AuthenticationError', async () => {
    const w = await watch({ afterId: 0 });
    const { conn } = await connected();
    conn.send({ type: 'ready', last_id: 0 });
    await w.sub.ready;
    conn.send({ type: 'session_revoked' });
    conn.close(4401, 'session revoked');
    const error = await w.sub.closed;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(w.sub.state).toBe('closed');
    expect(w.events.map((e) => e.type)).toEqual(['ready', 'session_revoked']);
    expect(w.states.at(-1)).toMatchObject({ state: 'closed', code: 4401, error });
    const before = fake.connectionCount();
    await new Promise((resolve) => setTimeout(resolve, 400)); // 5× the longest backoff
    expect(fake.connectionCount()).toBe(before);

    // A refused token on the first connection: ready rejects.
    const refused = await watch({ afterId: 0 });
    (await connected()).conn.close(4401);
    await expect(refused.sub.ready).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('4429 waits between half the ceiling and the ceiling; 4408 and 1001 reconnect normally', async () => {
    const w = await watch({ afterId: 0, random: () => 0, minDelayMs: 10, maxDelayMs: 200 });
    (await connected()).conn.close(4429, 'too many connections');
    (await connected()).conn.close(4408, 'too slow');
    (await connected()).conn.close(1001);
    await connected();
    expect(w.states.map((s) => [s.code, s.delayMs])).toEqual([
      [4429, 100], [4408, 0], [1001, 0],
    ]);
    const high = await watch({ afterId: 0, random: () => 0.999, minDelayMs: 10, maxDelayMs: 200 });
    (await connected()).conn.close(4429);
    await connected();
    expect(high.states[0]!.delayMs).toBe(200);
  });

  it('a message that cannot be decrypted arrives unreadable; junk frames and a throwing handler stop nothing', async () => {
    let calls = 0;
    const messages: LiveMessage[] = [];
    const errors: unknown[] = [];
    const sub = (await bob()).subscribe({
      afterId: 0,
      onMessage: (m) => {
        messages.push(m);
        if (++calls === 1) throw new Error('handler bug');
      },
      onError: (e) => void errors.push(e),
    });
    subscriptions.push(sub);
    const { conn } = await connected();
    conn.send(messageEvent(await mail(1, 'first')));
    const garbage = { ...(await mail(2, 'x')), encrypted_symmetric_key: encodeBase64(new Uint8Array(256)) };
    conn.send(messageEvent(garbage));
    conn.sendRaw('not json');
    conn.sendRaw(Buffer.from([1, 2, 3]));
    conn.send([1, 2]);
    conn.send({ type: 'surprise', x: 1 });
    conn.send(messageEvent({ ...(await mail(3, 'y')), key_id: 'one' }));
    conn.send(messageEvent(await mail(4, 'for a key version bob lacks', { keyId: 2 })));
    conn.send(messageEvent(await mail(5, 'still alive')));
    await vi.waitFor(() => expect(messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5]));
    expect(messages.map((m) => m.readable)).toEqual([true, false, false, false, true]);
    expect(messages[1]).toMatchObject({ readable: false, text: null, reason: 'its wrapped key does not open with your key version 1' });
    expect(messages[2]).toMatchObject({ reason: 'the server sent it malformed (key_id)' });
    expect(messages[3]).toMatchObject({ reason: 'it is for your key version 2, which you do not have' });
    expect(errors).toEqual([new Error('handler bug')]);
    expect(sub.state).toBe('connecting'); // no ready yet, and still the first connection
    expect(fake.connectionCount()).toBe(1);
  });

  it('key_rotated: the new key version is unlocked with the password asked for, then messages for it decrypt', async () => {
    const asked: number[] = [];
    const w = await watch({ afterId: 0, passwordForNewKey: (keyId) => (asked.push(keyId), PASSWORD) });
    const { conn } = await connected();
    const plain = await watch({ afterId: 0 }); // no password source
    const other = await connected();
    conn.send({ type: 'ready', last_id: 0 });
    fake.envelopes.unshift(bobEnvelopes[1]!); // rotated on another device
    conn.send({ type: 'key_rotated', key_id: 2 });
    conn.send(messageEvent(await mail(7, 'to key two', { keyId: 2 })));
    conn.send({ type: 'key_rotated', key_id: 2 }); // e.g. a password change: the current version, already held
    await vi.waitFor(() => expect(w.events).toHaveLength(3));
    expect(w.events).toEqual([{ type: 'ready', last_id: 0 }, { type: 'key_rotated', key_id: 2, unlocked: true }, { type: 'key_rotated', key_id: 2, unlocked: true }]);
    expect(asked).toEqual([2]);
    expect(w.messages[0]).toMatchObject({ id: 7, readable: true, text: 'to key two' });

    // Without a password source the event still arrives, marked not unlocked.
    other.conn.send({ type: 'key_rotated', key_id: 2 });
    await vi.waitFor(() => expect(plain.events).toEqual([{ type: 'key_rotated', key_id: 2, unlocked: false }]));
  });

  it('pings after a silence and replaces a connection that stays silent', async () => {
    const w = await watch({ afterId: 0, heartbeatMs: 400 });
    const { conn } = await connected();
    conn.send({ type: 'ready', last_id: 0 });
    await vi.waitFor(() => expect(conn.frames).toContainEqual({ type: 'ping' }));
    conn.send({ type: 'pong' }); // an answer keeps it
    await vi.waitFor(() => expect(conn.frames.filter((f) => JSON.stringify(f) === '{"type":"ping"}')).toHaveLength(2));
    // No answer to the second ping: a new connection, resuming.
    const next = await connected();
    expect(next.auth.after_id).toBe(0);
    expect(await conn.closed).toBe(4000);
    expect(w.events).toEqual([{ type: 'ready', last_id: 0 }]); // pong is not forwarded
  });

  it("on Node, the server's protocol pings keep the connection without application pings", async () => {
    await watch({ afterId: 0, heartbeatMs: 400 });
    const { conn } = await connected();
    conn.send({ type: 'ready', last_id: 0 });
    const pinging = setInterval(() => conn.ping(), 100);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      clearInterval(pinging);
    }
    expect(conn.frames).toEqual([{ type: 'auth', token: 'bob-token', after_id: 0 }]);
    expect(fake.connectionCount()).toBe(1);
  });

  it('close() during a backoff cancels the reconnection', async () => {
    const w = await watch({ afterId: 0, minDelayMs: 300, maxDelayMs: 300, random: () => 0.999 });
    (await connected()).conn.close(1011);
    await vi.waitFor(() => expect(w.sub.state).toBe('reconnecting'));
    const before = fake.connectionCount();
    w.sub.close();
    expect(await w.sub.closed).toBeNull();
    await expect(w.sub.ready).rejects.toThrow(/closed before it was ready/);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(fake.connectionCount()).toBe(before);
    expect(w.states.map((s) => s.state)).toEqual(['reconnecting', 'closed']);
  });

  it('needs a logged-in client with unlocked keys', async () => {
    const locked = new SecureChatClient({ baseUrl: fake.url, session: { token: 't', user: BOB } });
    expect(() => locked.subscribe({ onMessage: () => {} })).toThrow(/locked/);
    expect(() => new SecureChatClient({ baseUrl: fake.url }).subscribe({ onMessage: () => {} })).toThrow(/Not logged in/);
  });
});

describe('subscribe() against the real server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-subscribe-'));
  const env = { DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` };
  let server: LiveServer;
  let n = 0;

  beforeAll(async () => {
    server = await startLiveServer(env);
  });
  afterEach(() => {
    for (const sub of subscriptions.splice(0)) sub.close();
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function user(): Promise<SecureChatClient> {
    const c = new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 });
    await c.register(`live${++n}`, 'pass-phrase-1');
    return c;
  }

  function collect(client: SecureChatClient, options: Partial<SubscribeOptions> = {}) {
    const messages: LiveMessage[] = [];
    const states: StateChange[] = [];
    const sub = client.subscribe({ onMessage: (m) => void messages.push(m), onStateChange: (s) => void states.push(s), ...options });
    subscriptions.push(sub);
    return { sub, messages, states };
  }

  it('a message from another user arrives decrypted, byte-exact, its attachment on demand; sent copies arrive as sent', async () => {
    const [alice, bob] = await Promise.all([user(), user()]);
    const toBob = collect(bob);
    const fromAlice = collect(alice);
    await Promise.all([toBob.sub.ready, fromAlice.sub.ready]);
    const text = 'héllo 👋 \u0000\u001b[2J\r\n\u202e — exact bytes';
    const bytes = new Uint8Array(randomBytes(100_000));
    const sent = await alice.send(bob.user!.username, { text, attachment: { data: bytes, name: 'data.bin', mime: 'application/octet-stream' } });
    await vi.waitFor(() => expect(toBob.messages).toHaveLength(1), { timeout: 30_000 });
    const got = toBob.messages[0]!;
    expect(got).toMatchObject({ id: sent.id, mailbox: 'inbox', readable: true, text, sender: alice.user, recipient: bob.user, attachment: null });
    expect(got.attachmentInfo).toEqual({ name: 'data.bin', mime: 'application/octet-stream' });
    expect(Object.keys(got.raw)).not.toContain('encrypted_attachment');
    const attachment = await got.fetchAttachment();
    expect(Buffer.from(attachment!.data).equals(Buffer.from(bytes))).toBe(true);

    await vi.waitFor(() => expect(fromAlice.messages).toHaveLength(1), { timeout: 30_000 });
    expect(fromAlice.messages[0]).toMatchObject({ id: sent.id, mailbox: 'sent', readable: true, text });

    // To oneself: once, as inbox.
    const self = await bob.send(bob.user!.username, { text: 'note to self' });
    await vi.waitFor(() => expect(toBob.messages.map((m) => m.id)).toEqual([sent.id, self.id]), { timeout: 30_000 });
    expect(toBob.messages[1]).toMatchObject({ mailbox: 'inbox', text: 'note to self' });

    // afterId catches up, oldest first.
    const later = collect(bob, { afterId: 0 });
    await later.sub.ready;
    expect(later.messages.map((m) => [m.id, m.text])).toEqual([[sent.id, text], [self.id, 'note to self']]);
  });

  it('survives a server restart (same port, same database): what was sent meanwhile is caught up, then live again, none twice', async () => {
    // Reconnections fail while the gate is shut, so what alice sends after the restart is caught up, not live.
    const { WebSocket: NodeWebSocket } = await import('ws');
    let gateOpen = true;
    function GatedWebSocket(url: string): WebSocketLike {
      if (gateOpen) return new NodeWebSocket(url) as unknown as WebSocketLike;
      const refused: WebSocketLike = { readyState: 3, send() {}, close() {}, onopen: null, onmessage: null, onerror: null, onclose: null };
      setTimeout(() => refused.onclose?.({ code: 1006, reason: '' }), 5);
      return refused;
    }
    const [alice, bob] = await Promise.all([user(), user()]);
    const w = collect(bob, { WebSocket: GatedWebSocket as unknown as WebSocketConstructor, minDelayMs: 50, maxDelayMs: 200 });
    await w.sub.ready;
    const sent = [await alice.send(bob.user!.username, { text: 'before the restart' })];
    await vi.waitFor(() => expect(w.messages).toHaveLength(1), { timeout: 30_000 });

    const port = Number(new URL(server.url).port);
    gateOpen = false;
    await server.close();
    await vi.waitFor(() => expect(w.sub.state).toBe('reconnecting'), { timeout: 30_000 });
    server = await startLiveServer(env, { port });
    for (let i = 1; i <= 3; i++) sent.push(await alice.send(bob.user!.username, { text: `while bob was away ${i}` }));
    const lives = w.states.filter((s) => s.state === 'live').length;
    gateOpen = true;
    await vi.waitFor(() => expect(w.states.filter((s) => s.state === 'live')).toHaveLength(lives + 1), { timeout: 60_000 });
    for (let i = 1; i <= 2; i++) sent.push(await alice.send(bob.user!.username, { text: `live again ${i}` }));
    await vi.waitFor(() => expect(w.messages.length).toBeGreaterThanOrEqual(6), { timeout: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up
    expect(w.messages.map((m) => m.id)).toEqual(sent.map((m) => m.id));
    expect(w.messages.map((m) => m.text)).toEqual(['before the restart', 'while bob was away 1', 'while bob was away 2', 'while bob was away 3', 'live again 1', 'live again 2']);
    expect(w.messages.every((m) => m.readable)).toBe(true);
    expect(w.sub.lastId).toBe(sent.at(-1)!.id);
  });

  it('a rotation on another device: key_rotated unlocks the new version, and messages to it arrive readable', async () => {
    const [alice, bob] = await Promise.all([user(), user()]);
    const laptop = new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 });
    await laptop.login(bob.user!.username, 'pass-phrase-1');
    const events: SubscriptionEvent[] = [];
    const w = collect(bob, { onEvent: (e) => void events.push(e), passwordForNewKey: () => 'pass-phrase-1' });
    await w.sub.ready;
    const rotated = await laptop.rotateKeys('pass-phrase-1');
    await vi.waitFor(() => expect(events.at(-1)).toEqual({ type: 'key_rotated', key_id: rotated.key_id, unlocked: true }), { timeout: 30_000 });
    const sent = await alice.send(bob.user!.username, { text: 'for the new key' });
    expect(sent.key_id).toBe(rotated.key_id);
    await vi.waitFor(() => expect(w.messages).toHaveLength(1), { timeout: 30_000 });
    expect(w.messages[0]).toMatchObject({ id: sent.id, readable: true, text: 'for the new key' });
  });

  it('application pings are answered: a quiet connection stays up', async () => {
    const bob = await user();
    const w = collect(bob, { heartbeatMs: 200 });
    await w.sub.ready;
    await new Promise((resolve) => setTimeout(resolve, 1500)); // several ping rounds
    expect(w.states.map((s) => s.state)).toEqual(['live']);
  });

  it('over the per-user connection cap: 4429, then a longer wait before trying again', async () => {
    const capped = await startLiveServer({ REALTIME_MAX_CONNECTIONS_PER_USER: '1' });
    try {
      const bob = new SecureChatClient({ baseUrl: capped.url, kdfIterations: 100_000 });
      await bob.register('capped-bob', 'pass-phrase-1');
      const first = collect(bob);
      await first.sub.ready;
      const second = collect(bob, { minDelayMs: 10, maxDelayMs: 60_000 });
      await vi.waitFor(() => expect(second.states[0]).toMatchObject({ state: 'reconnecting', code: 4429 }), { timeout: 30_000 });
      expect(second.states[0]!.delayMs).toBeGreaterThanOrEqual(30_000);
      second.sub.close();
      expect(first.sub.state).toBe('live');
    } finally {
      await capped.close();
    }
  });

  it('a logout ends the subscription with an AuthenticationError and no reconnection', async () => {
    const bob = await user();
    const other = new SecureChatClient({ baseUrl: server.url, session: { token: bob.token!, user: bob.user! }, kdfIterations: 100_000 });
    await other.unlock('pass-phrase-1');
    const w = collect(other);
    await w.sub.ready;
    await bob.logout(); // the same token
    expect(await w.sub.closed).toBeInstanceOf(AuthenticationError);
    expect(w.states.at(-1)).toMatchObject({ state: 'closed', code: 4401 });
  });
});
