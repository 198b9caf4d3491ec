/**
 * Realtime delivery (API B 9) against a real listening server: messages sent
 * through REST arrive on WebSocket and SSE, as inbox and sent, byte-exact;
 * catch-up delivers exactly the missed messages in id order, also while a
 * burst of sends is running; key_rotated after rotation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, decryptAs, envelopesOf, register, type Account } from './helpers.ts';
import { SseClient, startLiveServer, WsClient, type Frame, type LiveServer } from './realtime-helpers.ts';

let server: LiveServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function sendVia(s: LiveServer, from: Account, body: Record<string, unknown>) {
  const res = await call(s.app, 'POST', '/api/messages/send/', { token: from.token, body });
  if (res.statusCode !== 201) throw new Error(`send: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Messages sent over real HTTP, so sends really are concurrent on the server. */
async function sendHttp(s: LiveServer, from: Account, recipient: string, text: string): Promise<number> {
  const res = await fetch(`${s.url}/api/messages/send/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': from.token },
    body: JSON.stringify({ recipient, message: text }),
  });
  if (res.status !== 201) throw new Error(`send: ${res.status} ${await res.text()}`);
  return (await res.json()).id;
}

const ids = (frames: Frame[]) => frames.filter((f) => f.type === 'message').map((f) => f.message.id as number);

describe('live delivery', () => {
  it('a REST send reaches the recipient (WebSocket and SSE) as inbox and the sender’s other connection as sent, decryptable byte-exact', async () => {
    server = await startLiveServer();
    const alice = await register(server.app);
    const bob = await register(server.app);
    const bobWs = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': bob.token });
    const bobSse = new SseClient(`${server.url}/api/events/`, { Authorization: `Bearer ${bob.token}` });
    const aliceWs = await WsClient.open(server, '/api/ws/', { Authorization: `Bearer ${alice.token}` });
    await Promise.all([bobWs.ready(), aliceWs.ready(), bobSse.until((e) => e.some((x) => x.event === 'ready'))]);
    expect(bobSse.status).toBe(200);
    expect(bobSse.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(bobWs.frames).toEqual([{ type: 'ready', last_id: 0 }]);

    const attachment = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
    const sent = await sendVia(server, alice, {
      recipient: bob.username,
      message: 'hello in real time ✓',
      attachment_data: attachment.toString('base64'),
      attachment_name: 'a.bin',
      attachment_mime: 'application/octet-stream',
    });

    const [inbox] = (await bobWs.until((f) => f.length === 2)).slice(1);
    expect(inbox).toMatchObject({ type: 'message', mailbox: 'inbox' });
    const [sentEvent] = (await aliceWs.until((f) => f.length === 2)).slice(1);
    expect(sentEvent).toMatchObject({ type: 'message', mailbox: 'sent' });
    const sseEvents = await bobSse.until((e) => e.length === 2);
    expect(sseEvents[1]).toEqual({ event: 'message', id: String(sent.id), data: inbox });
    expect(sseEvents[0]).toEqual({ event: 'ready', id: undefined, data: { type: 'ready', last_id: 0 } });

    // Exactly the keys of GET /api/messages/{id}/ without encrypted_attachment, with the same values.
    const fetched = (await call(server.app, 'GET', `/api/messages/${sent.id}/`, { token: bob.token })).json();
    const { encrypted_attachment, ...withoutAttachment } = fetched;
    expect(encrypted_attachment).not.toBe('');
    expect(inbox!.message).toEqual(withoutAttachment);
    expect(Object.keys(inbox!.message).sort()).toEqual(Object.keys(withoutAttachment).sort());
    expect(sentEvent!.message).toEqual(withoutAttachment);

    // Decrypts: the event's text, and the attachment fetched by id, both byte-exact.
    const bobView = await decryptAs(bob, await envelopesOf(server.app, bob), { ...inbox!.message, encrypted_attachment: fetched.encrypted_attachment });
    expect(bobView.text).toBe('hello in real time ✓');
    expect(Buffer.from(bobView.attachment!)).toEqual(attachment);
    const aliceView = await decryptAs(alice, await envelopesOf(server.app, alice), { ...sentEvent!.message, encrypted_attachment: '' }, 'sender');
    expect(aliceView.text).toBe('hello in real time ✓');

    bobWs.close();
    aliceWs.close();
    bobSse.close();
  });

  it('a message to oneself arrives once, as inbox, on every connection of that user', async () => {
    server = await startLiveServer();
    const carol = await register(server.app);
    const one = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': carol.token });
    const two = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': carol.token });
    await Promise.all([one.ready(), two.ready()]);
    const first = await sendVia(server, carol, { recipient: carol.username, message: 'note to self' });
    const marker = await sendVia(server, carol, { recipient: carol.username, message: 'second' });
    for (const client of [one, two]) {
      await client.until((f) => ids(f).includes(marker.id));
      expect(client.messages().map((f) => [f.message.id, f.mailbox])).toEqual([
        [first.id, 'inbox'],
        [marker.id, 'inbox'],
      ]);
    }
    one.close();
    two.close();
  });

  it('an idempotent send (B 10) is announced once, with its client_id; a retry (200) announces nothing', async () => {
    server = await startLiveServer();
    const alice = await register(server.app);
    const bob = await register(server.app);
    const ws = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': bob.token });
    await ws.ready();
    const clientId = '6f1c2b8e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';
    const body = { recipient: bob.username, message: 'once', client_id: clientId };
    const first = await call(server.app, 'POST', '/api/messages/send/', { token: alice.token, body });
    expect(first.statusCode).toBe(201);
    const retry = await call(server.app, 'POST', '/api/messages/send/', { token: alice.token, body });
    expect(retry.statusCode).toBe(200);
    const marker = await sendVia(server, alice, { recipient: bob.username, message: 'marker' });
    await ws.until((f) => ids(f).includes(marker.id));
    expect(ids(ws.frames)).toEqual([first.json().id, marker.id]);
    expect(ws.messages()[0]!.message.client_id).toBe(clientId);
    expect(ws.messages()[1]!.message.client_id).toBeNull();
    ws.close();
  });

  it('key_rotated reaches the owner’s connections after a rotation, and after a password change (the unchanged current version)', async () => {
    server = await startLiveServer();
    const dave = await register(server.app);
    const other = await register(server.app);
    const ws = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': dave.token });
    const watcher = await WsClient.open(server, '/api/ws/', { 'X-Auth-Token': other.token });
    await Promise.all([ws.ready(), watcher.ready()]);
    const rotated = await call(server.app, 'POST', '/api/keys/rotate/', { token: dave.token, body: { password: dave.password } });
    expect(rotated.statusCode).toBe(200);
    await ws.until((f) => f.some((x) => x.type === 'key_rotated'));
    expect(ws.frames.filter((f) => f.type === 'key_rotated')).toEqual([{ type: 'key_rotated', key_id: 2 }]);

    const changed = await call(server.app, 'POST', '/api/auth/password/', {
      token: dave.token,
      body: { old_password: dave.password, new_password: 'a-brand-new-password-7' },
    });
    expect(changed.statusCode).toBe(200);
    await ws.until((f) => f.filter((x) => x.type === 'key_rotated').length === 2);
    expect(ws.frames.filter((f) => f.type === 'key_rotated')).toEqual([
      { type: 'key_rotated', key_id: 2 },
      { type: 'key_rotated', key_id: 2 },
    ]);
    expect(ws.socket.readyState).toBe(ws.socket.OPEN); // the calling session stays valid
    // Another user's connection hears nothing of it.
    await sendVia(server, other, { recipient: other.username, message: 'marker' });
    await watcher.until((f) => f.some((x) => x.type === 'message'));
    expect(watcher.frames.map((f) => f.type)).toEqual(['ready', 'message']);
    ws.close();
    watcher.close();
  });
});

describe('catch-up', () => {
  it('after a disconnect, 500 messages from 5 concurrent senders arrive exactly once, in id order, then ready and live', async () => {
    server = await startLiveServer({ file: true });
    const s = server;
    const bob = await register(s.app);
    const senders = await Promise.all([1, 2, 3, 4, 5].map(() => register(s.app)));
    const before = await sendVia(s, senders[0]!, { recipient: bob.username, message: 'seen before' });
    const first = await WsClient.open(s, `/api/ws/?after_id=0`, { 'X-Auth-Token': bob.token });
    await first.ready();
    expect(ids(first.frames)).toEqual([before.id]);
    expect(first.frames.at(-1)).toEqual({ type: 'ready', last_id: before.id });
    first.close();
    await first.closed;

    const sent = (await Promise.all(senders.map(async (sender, n) => {
      const mine: number[] = [];
      for (let i = 0; i < 100; i++) mine.push(await sendHttp(s, sender, bob.username, `s${n} #${i}`));
      return mine;
    }))).flat().sort((a, b) => a - b);
    expect(sent).toHaveLength(500);

    const again = await WsClient.open(s, `/api/ws/?after_id=${before.id}`, { 'X-Auth-Token': bob.token });
    const frames = await again.ready();
    expect(ids(frames)).toEqual(sent);
    expect(frames.at(-1)).toEqual({ type: 'ready', last_id: sent.at(-1) });
    const live = await sendVia(s, senders[1]!, { recipient: bob.username, message: 'live after catch-up' });
    await again.until((f) => ids(f).includes(live.id));
    expect(ids(again.frames)).toEqual([...sent, live.id]);
    again.close();
  });

  it('reconnecting during a burst misses nothing and repeats nothing within a connection (auth frame with after_id)', async () => {
    server = await startLiveServer({ file: true });
    const s = server;
    const bob = await register(s.app);
    const senders = await Promise.all([1, 2, 3, 4, 5].map(() => register(s.app)));
    // Bob also sends (sent mailbox) during the burst.
    const friend = senders[0]!;

    const seen: number[] = [];
    let connection = await WsClient.open(s, '/api/ws/', { 'X-Auth-Token': bob.token });
    await connection.ready();
    let burstDone = false;
    let disconnectsDuringBurst = 0;
    const burst = Promise.all([
      ...senders.map(async (sender, n) => {
        const mine: number[] = [];
        for (let i = 0; i < 60; i++) mine.push(await sendHttp(s, sender, bob.username, `burst ${n}/${i}`));
        return mine;
      }),
      (async () => {
        const mine: number[] = [];
        for (let i = 0; i < 40; i++) mine.push(await sendHttp(s, bob, friend.username, `bob ${i}`));
        return mine;
      })(),
    ]).finally(() => (burstDone = true));

    // Drop and replace the connection three times while the burst runs, resuming from the largest id seen.
    for (let round = 0; round < 3; round++) {
      await connection.until((f) => ids(f).length > 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (!burstDone) disconnectsDuringBurst += 1;
      const got = ids(connection.frames);
      expect(new Set(got).size).toBe(got.length); // never twice on one connection
      expect(got).toEqual([...got].sort((a, b) => a - b)); // increasing
      connection.socket.terminate();
      await connection.closed;
      seen.push(...got);
      const resumeFrom = Math.max(0, ...seen);
      connection = new WsClient(`${s.wsUrl}/api/ws/`);
      await connection.opened;
      connection.send({ type: 'auth', token: bob.token, after_id: resumeFrom });
      await connection.ready();
    }
    const all = (await burst).flat().sort((a, b) => a - b);
    expect(disconnectsDuringBurst).toBeGreaterThan(0);
    await connection.until((f) => ids(f).includes(all.at(-1)!));
    const last = ids(connection.frames);
    expect(new Set(last).size).toBe(last.length);
    expect(last).toEqual([...last].sort((a, b) => a - b));
    seen.push(...last);
    // Nothing missed: every message of the burst (inbox and sent) was seen; repeats only across connections.
    expect([...new Set(seen)].sort((a, b) => a - b)).toEqual(all);
    const mailboxes = new Map(connection.messages().map((f) => [f.message.id, f.mailbox]));
    for (const frame of connection.messages()) {
      expect(frame.mailbox).toBe(frame.message.sender.id === bob.id ? 'sent' : 'inbox');
    }
    expect(mailboxes.size).toBe(last.length);
    connection.close();
  });

  it('a long absence (6,000 messages in the store: inbox, sent, to oneself, and others’ mail in between) comes back exactly, page by page', async () => {
    server = await startLiveServer({ file: true });
    const s = server;
    const bob = await register(s.app);
    const alice = await register(s.app);
    const carol = await register(s.app);
    const row = (senderId: number, recipientId: number, n: number) => ({
      sender_id: senderId,
      recipient_id: recipientId,
      key_id: 1,
      sender_key_id: 1,
      encrypted_symmetric_key: 'AAAA',
      sender_encrypted_symmetric_key: 'AAAA',
      encrypted_message: Buffer.from(`m${n}`).toString('base64'),
      message_nonce: 'AAAAAAAAAAAAAAAA',
      encrypted_attachment: '',
      attachment_nonce: '',
      attachment_name: '',
      attachment_mime: '',
      has_attachment: 0,
      sent_at: new Date().toISOString(),
      client_id: null,
      request_digest: null,
    });
    const pairs: Array<[number, number]> = [[alice.id, bob.id], [bob.id, carol.id], [bob.id, bob.id], [alice.id, carol.id]];
    const results = await Promise.all(Array.from({ length: 6_000 }, (_, n) => s.store.messages.insert(row(...pairs[n % 4]!, n))));
    const mine = results
      .map((id, n) => ({ id: id as number, pair: pairs[n % 4]! }))
      .filter(({ pair }) => pair.includes(bob.id))
      .sort((a, b) => a.id - b.id);
    expect(mine).toHaveLength(4_500);
    const client = await WsClient.open(s, '/api/ws/?after_id=0', { 'X-Auth-Token': bob.token });
    const frames = await client.ready();
    expect(ids(frames)).toEqual(mine.map((m) => m.id));
    expect(client.messages().map((f) => f.mailbox)).toEqual(mine.map((m) => (m.pair[1] === bob.id ? 'inbox' : 'sent')));
    expect(frames.at(-1)).toEqual({ type: 'ready', last_id: mine.at(-1)!.id });
    client.close();
  });

  it('SSE resumes with Last-Event-ID (which wins over after_id) and with ?after_id=', async () => {
    server = await startLiveServer();
    const alice = await register(server.app);
    const bob = await register(server.app);
    const m = [];
    for (let i = 0; i < 5; i++) m.push((await sendVia(server, alice, { recipient: bob.username, message: `m${i}` })).id);

    const byQuery = new SseClient(`${server.url}/api/events/?after_id=${m[1]}`, { 'X-Auth-Token': bob.token });
    const q = await byQuery.until((e) => e.some((x) => x.event === 'ready'));
    expect(q.map((e) => e.id ?? e.event)).toEqual([String(m[2]), String(m[3]), String(m[4]), 'ready']);
    expect(q.at(-1)!.data).toEqual({ type: 'ready', last_id: m[4] });
    byQuery.close();

    const byHeader = new SseClient(`${server.url}/api/events/?after_id=${m[0]}`, { 'X-Auth-Token': bob.token, 'Last-Event-ID': String(m[3]) });
    const h = await byHeader.until((e) => e.some((x) => x.event === 'ready'));
    expect(h.map((e) => e.id ?? e.event)).toEqual([String(m[4]), 'ready']);
    byHeader.close();

    const live = new SseClient(`${server.url}/api/events/`, { 'X-Auth-Token': bob.token });
    await live.until((e) => e.length === 1);
    expect(live.events).toEqual([{ event: 'ready', id: undefined, data: { type: 'ready', last_id: m[4] } }]);
    live.close();

    const bad = new SseClient(`${server.url}/api/events/`, { 'X-Auth-Token': bob.token, 'Last-Event-ID': 'x1' });
    await bad.ended;
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).detail).toMatch(/Last-Event-ID/);
  });
});
