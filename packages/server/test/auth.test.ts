/** Register, login, logout, tokens and sessions (Part A + B5). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/crypto/secrets.ts';
import { call, register, startApp, uniqueName, type Account, type TestApp } from './helpers.ts';

let t: TestApp;
let alice: Account;

beforeAll(async () => {
  t = await startApp();
  alice = await register(t.app);
});
afterAll(() => t.close());

describe('register', () => {
  it('returns 201 with user, a 64-hex token and the envelope, and logs the user in', async () => {
    const username = uniqueName('New.User+tag@x-y_');
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password: 'long enough' } });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.user).toEqual({ id: expect.any(Number), username });
    expect(body.token).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(body.profile).sort()).toEqual(
      [
        'created_at', 'encrypted_private_key', 'key_id', 'private_key_iterations', 'private_key_nonce', 'private_key_salt', 'public_key',
        // Part B 11, null for server-made keys
        'signing_public_key', 'key_signature', 'encrypted_signing_key', 'signing_key_nonce',
      ].sort(),
    );
    expect(body.profile).toMatchObject({ signing_public_key: null, key_signature: null, encrypted_signing_key: null, signing_key_nonce: null });
    expect(body.profile.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await call(t.app, 'GET', '/api/keys/', { token: body.token })).statusCode).toBe(200);
  });

  it('refuses a taken username, ignoring case', async () => {
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username: alice.username.toUpperCase(), password: 'password-123' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.username[0]).toMatch(/already exists/);
  });

  it('two racing registrations of one name: one 201, the other 400', async () => {
    const username = uniqueName('race');
    const results = await Promise.all(
      [username, username.toUpperCase(), username].map((name) => call(t.app, 'POST', '/api/auth/register/', { body: { username: name, password: 'password-123' } })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 400, 400]);
  });

  it.each([
    ['empty', ''],
    ['too long', 'a'.repeat(151)],
    ['a space', 'two words'],
    ['non-ASCII', 'аlice'],
    ['a slash', 'a/b'],
  ])('refuses a username with %s', async (_, username) => {
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password: 'password-123' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toHaveProperty('username');
  });

  it('accepts a 150-character username', async () => {
    const username = uniqueName('u').padEnd(150, 'x');
    expect((await call(t.app, 'POST', '/api/auth/register/', { body: { username, password: 'password-123' } })).statusCode).toBe(201);
  });

  it.each([
    ['7 characters', 'a'.repeat(7)],
    ['1025 characters', 'a'.repeat(1025)],
  ])('refuses a password of %s', async (_, password) => {
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username: uniqueName(), password } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toHaveProperty('password');
  });
});

describe('login', () => {
  it('uses passwords exactly as typed, long ones included', async () => {
    const password = ' Pässwörd with spaces and 🔑 ' + 'x'.repeat(80);
    const account = await register(t.app, uniqueName(), password);
    const ok = await call(t.app, 'POST', '/api/auth/login/', { body: { username: account.username, password } });
    expect(ok.statusCode).toBe(200);
    for (const variant of [password.trim(), password.slice(0, 72), password.normalize('NFD'), password + ' ']) {
      const res = await call(t.app, 'POST', '/api/auth/login/', { body: { username: account.username, password: variant } });
      expect(res.statusCode).toBe(401);
    }
  });

  it('accepts the username in any case and issues a distinct new token', async () => {
    const res = await call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username.toUpperCase(), password: alice.password } });
    expect(res.statusCode).toBe(200);
    expect(res.json().user.username).toBe(alice.username);
    expect(res.json().token).not.toBe(alice.token);
  });

  it('answers an unknown user and a wrong password identically with 401', async () => {
    const wrong = await call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username, password: 'wrong-password' } });
    const unknown = await call(t.app, 'POST', '/api/auth/login/', { body: { username: 'nobody-here', password: 'wrong-password' } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.body).toBe(wrong.body);
  });
});

describe('tokens', () => {
  it('are accepted as X-Auth-Token and as Authorization: Bearer', async () => {
    expect((await call(t.app, 'GET', '/api/keys/', { token: alice.token })).statusCode).toBe(200);
    const bearer = await call(t.app, 'GET', '/api/keys/', { headers: { authorization: `Bearer ${alice.token}` } });
    expect(bearer.statusCode).toBe(200);
  });

  it.each([
    ['no token', {}],
    ['an unknown token', { 'x-auth-token': 'a'.repeat(64) }],
    ['a malformed token', { 'x-auth-token': 'not-a-token' }],
    ['a non-bearer scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
  ])('answer 401 JSON for %s', async (_, headers) => {
    const res = await call(t.app, 'GET', '/api/messages/', { headers });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json().detail).toEqual(expect.any(String));
  });

  it('are stored only as SHA-256', async () => {
    const rows = await t.store.db.selectFrom('sessions').select('token_hash').execute();
    expect(rows.map((r) => r.token_hash)).toContain(hashToken(alice.token));
    expect(JSON.stringify(rows)).not.toContain(alice.token);
  });

  it('expire after TOKEN_TTL_DAYS', async () => {
    const short = await startApp({ TOKEN_TTL_DAYS: '1' });
    try {
      const account = await register(short.app);
      const session = await short.store.db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow();
      const ttl = Date.parse(session.expires_at) - Date.parse(session.created_at);
      expect(ttl).toBe(24 * 60 * 60 * 1000);
      await short.store.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
      const res = await call(short.app, 'GET', '/api/keys/', { token: account.token });
      expect(res.statusCode).toBe(401);
      expect(res.json().detail).toMatch(/expired/);
    } finally {
      await short.close();
    }
  });
});

describe('logout and sessions', () => {
  async function login(account: Account, userAgent: string): Promise<string> {
    const res = await call(t.app, 'POST', '/api/auth/login/', { body: { username: account.username, password: account.password }, headers: { 'user-agent': userAgent } });
    return res.json().token;
  }

  it('logout revokes only the token used, with 204 and no body', async () => {
    const account = await register(t.app);
    const other = await login(account, 'other-device');
    const res = await call(t.app, 'POST', '/api/auth/logout/', { token: account.token });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await call(t.app, 'GET', '/api/keys/', { token: account.token })).statusCode).toBe(401);
    expect((await call(t.app, 'GET', '/api/keys/', { token: other })).statusCode).toBe(200);
  });

  it('logout works with an empty JSON body and without the trailing slash', async () => {
    const account = await register(t.app);
    const res = await call(t.app, 'POST', '/api/auth/logout', { token: account.token, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(204);
  });

  it('lists sessions without tokens, marks the current one, revokes one, and logout-all revokes all', async () => {
    const account = await register(t.app);
    const phone = await login(account, 'phone/1.0');
    const list = await call(t.app, 'GET', '/api/auth/sessions/', { token: phone });
    expect(list.statusCode).toBe(200);
    const sessions = list.json();
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s: { current: boolean }) => s.current)).toMatchObject([{ user_agent: 'phone/1.0' }]);
    expect(Object.keys(sessions[0]).sort()).toEqual(['created_at', 'current', 'expires_at', 'id', 'last_used_at', 'user_agent']);
    expect(list.body).not.toContain(phone);
    expect(list.body).not.toContain(account.token);

    const registerSession = sessions.find((s: { current: boolean }) => !s.current);
    expect((await call(t.app, 'DELETE', `/api/auth/sessions/${registerSession.id}/`, { token: phone })).statusCode).toBe(204);
    expect((await call(t.app, 'GET', '/api/keys/', { token: account.token })).statusCode).toBe(401);
    expect((await call(t.app, 'DELETE', `/api/auth/sessions/${registerSession.id}/`, { token: phone })).statusCode).toBe(404);

    const laptop = await login(account, 'laptop');
    expect((await call(t.app, 'POST', '/api/auth/logout-all/', { token: laptop })).statusCode).toBe(204);
    for (const token of [phone, laptop]) expect((await call(t.app, 'GET', '/api/keys/', { token })).statusCode).toBe(401);
  });

  it("cannot revoke someone else's session (404), and non-numeric ids are 404", async () => {
    const [mallory, victim] = await Promise.all([register(t.app), register(t.app)]);
    const victimSession = (await call(t.app, 'GET', '/api/auth/sessions/', { token: victim.token })).json()[0];
    expect((await call(t.app, 'DELETE', `/api/auth/sessions/${victimSession.id}/`, { token: mallory.token })).statusCode).toBe(404);
    expect((await call(t.app, 'DELETE', '/api/auth/sessions/abc/', { token: mallory.token })).statusCode).toBe(404);
    expect((await call(t.app, 'GET', '/api/keys/', { token: victim.token })).statusCode).toBe(200);
  });
});
