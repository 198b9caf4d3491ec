/** Listing and reading messages, pagination and the user directory (Part A + B3). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, register, send, startApp, uniqueName, type Account, type TestApp } from './helpers.ts';

let t: TestApp;
let alice: Account;
let bob: Account;
let eve: Account;
const ids: number[] = [];

/** Follows a Link: <…>; rel="next" header to its relative URL. */
function nextOf(headers: Record<string, unknown>): string | undefined {
  const link = headers.link;
  return typeof link === 'string' ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
}

beforeAll(async () => {
  t = await startApp();
  [alice, bob, eve] = await Promise.all([register(t.app), register(t.app), register(t.app)]);
  for (let i = 0; i < 7; i++) ids.push((await send(t.app, alice, { recipient: bob.username, message: `m${i}` })).id);
});
afterAll(() => t.close());

describe('GET /api/messages/', () => {
  it('inbox (the default) lists received messages newest first, with the full message shape', async () => {
    const res = await call(t.app, 'GET', '/api/messages/', { token: bob.token });
    expect(res.statusCode).toBe(200);
    const list = res.json();
    expect(list.map((m: { id: number }) => m.id)).toEqual([...ids].reverse());
    expect(Object.keys(list[0]).sort()).toEqual(
      [
        'attachment_mime', 'attachment_name', 'attachment_nonce', 'encrypted_attachment', 'encrypted_message', 'encrypted_symmetric_key',
        'has_attachment', 'id', 'key_id', 'message_nonce', 'recipient', 'sender', 'sender_encrypted_symmetric_key', 'sender_key_id', 'sent_at',
        'client_id', 'signature',
      ].sort(),
    );
    expect(list[0].sender).toEqual({ id: alice.id, username: alice.username });
    expect(list[0].sent_at).toMatch(/Z$/);
    expect(res.headers.link).toBeUndefined();
  });

  it('direction=sent lists what the caller sent; other users see nothing of it', async () => {
    expect((await call(t.app, 'GET', '/api/messages/?direction=sent', { token: alice.token })).json()).toHaveLength(7);
    expect((await call(t.app, 'GET', '/api/messages/?direction=sent', { token: bob.token })).json()).toEqual([]);
    expect((await call(t.app, 'GET', '/api/messages/', { token: eve.token })).json()).toEqual([]);
  });

  it('pages back through history with limit, before_id and the Link header', async () => {
    const seen: number[] = [];
    let url: string | undefined = '/api/messages/?limit=3';
    let pages = 0;
    while (url) {
      const res = await call(t.app, 'GET', url, { token: bob.token });
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().map((m: { id: number }) => m.id));
      url = nextOf(res.headers);
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('catches up oldest first with after_id', async () => {
    const res = await call(t.app, 'GET', `/api/messages/?after_id=${ids[2]}&limit=2`, { token: bob.token });
    expect(res.json().map((m: { id: number }) => m.id)).toEqual([ids[3], ids[4]]);
    const next = nextOf(res.headers)!;
    expect(next).toContain(`after_id=${ids[4]}`);
    expect(next).not.toContain('before_id');
    const rest = await call(t.app, 'GET', next, { token: bob.token });
    expect(rest.json().map((m: { id: number }) => m.id)).toEqual([ids[5], ids[6]]);
    expect(rest.headers.link).toBeUndefined();
  });

  it('before_id gives messages below the cursor', async () => {
    const res = await call(t.app, 'GET', `/api/messages/?before_id=${ids[3]}`, { token: bob.token });
    expect(res.json().map((m: { id: number }) => m.id)).toEqual([ids[2], ids[1], ids[0]]);
  });

  it('clamps limit to 200', async () => {
    const res = await call(t.app, 'GET', '/api/messages/?limit=100000', { token: bob.token });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toHaveLength(7);
  });

  it.each(['0', '-1', 'abc', '1.5', ''])('refuses limit=%j with 400', async (limit) => {
    const res = await call(t.app, 'GET', `/api/messages/?limit=${limit}`, { token: bob.token });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toHaveProperty('limit');
  });

  it.each(['outbox', 'INBOX', 'all'])('refuses direction=%s with 400', async (direction) => {
    expect((await call(t.app, 'GET', `/api/messages/?direction=${direction}`, { token: bob.token })).statusCode).toBe(400);
  });

  it.each(['x', '0', '99999999999999999999999'])('refuses before_id=%s with 400', async (cursor) => {
    expect((await call(t.app, 'GET', `/api/messages/?before_id=${cursor}`, { token: bob.token })).statusCode).toBe(400);
  });
});

describe('pages asked for again', () => {
  it('show a new message at once, to both parties, whatever page was asked for before', async () => {
    const own = await startApp();
    const [carol, dave] = await Promise.all([register(own.app), register(own.app)]);
    const page = async (who: Account, query: string) =>
      (await call(own.app, 'GET', `/api/messages/${query}`, { token: who.token })).json().map((m: { id: number }) => m.id);
    const first = (await send(own.app, carol, { recipient: dave.username, message: 'one' })).id;
    const queries = ['', '?limit=1', `?after_id=${first}`, '?direction=sent'];
    const before = await Promise.all(queries.map((q) => page(dave, q)).concat(queries.map((q) => page(carol, q))));
    expect(before).toEqual([[first], [first], [], [], [], [], [], [first]]);

    const second = (await send(own.app, carol, { recipient: dave.username, message: 'two' })).id;
    const after = await Promise.all(queries.map((q) => page(dave, q)).concat(queries.map((q) => page(carol, q))));
    expect(after).toEqual([[second, first], [second], [second], [], [], [], [], [second, first]]);
    await own.close();
  });
});

describe('recipients', () => {
  it('a name unknown at one send is found once registered, in any case', async () => {
    const own = await startApp();
    const sender = await register(own.app);
    const name = uniqueName('late');
    const before = await call(own.app, 'POST', '/api/messages/send/', { token: sender.token, body: { recipient: name, message: 'hi' } });
    expect(before.statusCode).toBe(400);
    expect(before.json().errors).toHaveProperty('recipient');
    const late = await register(own.app, name);
    const sent = await send(own.app, sender, { recipient: name.toUpperCase(), message: 'hi' });
    expect(sent.recipient).toEqual({ id: late.id, username: name });
    await own.close();
  });
});

describe('GET /api/messages/{id}/', () => {
  it('shows a message to its recipient and its sender', async () => {
    for (const who of [alice, bob]) {
      const res = await call(t.app, 'GET', `/api/messages/${ids[0]}/`, { token: who.token });
      expect(res.statusCode).toBe(200);
      expect(res.json().id).toBe(ids[0]);
    }
  });

  it('is 403 for somebody else’s message and 404 for absent or non-numeric ids', async () => {
    expect((await call(t.app, 'GET', `/api/messages/${ids[0]}/`, { token: eve.token })).statusCode).toBe(403);
    for (const id of ['999999', 'abc', '1e3', '-1', '0', '99999999999999999999999999']) {
      const res = await call(t.app, 'GET', `/api/messages/${id}/`, { token: eve.token });
      expect(res.statusCode, id).toBe(404);
      expect(res.json().detail).toEqual(expect.any(String));
    }
  });
});

describe('the user directory', () => {
  it('lists every other user with public key and current key_id, not the caller', async () => {
    const res = await call(t.app, 'GET', '/api/users/', { token: alice.token });
    expect(res.statusCode).toBe(200);
    const users = res.json();
    expect(users.map((u: { user: { id: number } }) => u.user.id)).toEqual([bob.id, eve.id].sort((a, b) => a - b));
    expect(users.find((u: { user: { id: number } }) => u.user.id === bob.id)).toEqual({ user: { id: bob.id, username: bob.username }, public_key: bob.profile.public_key, key_id: 1, signing_public_key: null, key_signature: null });
  });

  it('pages with limit and offset and searches by case-insensitive prefix', async () => {
    const dir = await startApp();
    try {
      const prefix = uniqueName('Zed');
      const viewer = await register(dir.app);
      const names = [`${prefix}a`, `${prefix}b`, `${prefix}c`, uniqueName('other')];
      for (const name of names) await register(dir.app, name);

      const first = await call(dir.app, 'GET', '/api/users/?limit=2', { token: viewer.token });
      expect(first.json()).toHaveLength(2);
      const second = await call(dir.app, 'GET', nextOf(first.headers)!, { token: viewer.token });
      expect(second.json().map((u: { user: { username: string } }) => u.user.username)).toEqual(names.slice(2));
      expect(second.headers.link).toBeUndefined();

      const found = await call(dir.app, 'GET', `/api/users/?search=${prefix.toUpperCase()}`, { token: viewer.token });
      expect(found.json().map((u: { user: { username: string } }) => u.user.username)).toEqual(names.slice(0, 3));
      const none = await call(dir.app, 'GET', '/api/users/?search=%25', { token: viewer.token });
      expect(none.json()).toEqual([]);
    } finally {
      await dir.close();
    }
  });

  it('public-key endpoint: case-insensitive lookup, 404 for unknown users', async () => {
    const res = await call(t.app, 'GET', `/api/users/${bob.username.toUpperCase()}/public-key`, { token: alice.token });
    expect(res.json()).toEqual({ user: { id: bob.id, username: bob.username }, public_key: bob.profile.public_key, key_id: 1, signing_public_key: null, key_signature: null });
    const missing = await call(t.app, 'GET', '/api/users/nobody/public-key/', { token: alice.token });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ detail: 'User not found.' });
  });
});

describe('paths', () => {
  it.each([
    ['GET', '/api/messages'],
    ['GET', '/api/users'],
    ['GET', '/api/keys'],
    ['GET', '/api/auth/sessions'],
  ])('%s %s is answered directly without the trailing slash', async (method, url) => {
    const res = await call(t.app, method, url, { token: alice.token });
    expect(res.statusCode).toBe(200);
  });

  it('unknown paths are a JSON 404', async () => {
    const res = await call(t.app, 'GET', '/api/nothing/', { token: alice.token });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ detail: 'Not found.' });
  });
});
