/** Attachment and body limits (413) and auth rate limits (429) — Part B7. */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, call, decryptAs, envelopesOf, register, send, startApp, type Account, type TestApp } from './helpers.ts';

describe('attachment limit (MAX_ATTACHMENT_BYTES=1000)', () => {
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    t = await startApp({ MAX_ATTACHMENT_BYTES: '1000' });
    alice = await register(t.app);
  });
  afterAll(() => t.close());

  it('accepts an attachment of exactly the limit', async () => {
    const m = await send(t.app, alice, { recipient: alice.username, attachment_data: b64(randomBytes(1000)) });
    expect(m.has_attachment).toBe(true);
  });

  it.each([1001, 1002, 1003, 5000])('refuses %i bytes with 413 and stores nothing', async (size) => {
    const before = (await call(t.app, 'GET', '/api/messages/', { token: alice.token })).json().length;
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: { recipient: alice.username, attachment_data: b64(randomBytes(size)) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().detail).toMatch(/1000 bytes/);
    expect((await call(t.app, 'GET', '/api/messages/', { token: alice.token })).json()).toHaveLength(before);
  });

  it('refuses a body over the body limit with 413', async () => {
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: { recipient: alice.username, message: 'x'.repeat(3 * 1024 * 1024) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().detail).toEqual(expect.any(String));
  });

  it('refuses a declared oversized Content-Length before the body is sent', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ port, method: 'POST', path: '/api/messages/send/', headers: { 'content-type': 'application/json', 'content-length': 500 * 1024 * 1024, 'x-auth-token': alice.token } });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, body });
        });
      });
      req.on('error', reject);
      req.write('{"recipient":'); // headers and a first chunk only; the rest never comes
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).detail).toEqual(expect.any(String));
  });

  it('refuses a chunked body (no Content-Length) once it passes the body limit', async () => {
    const { port } = t.app.server.address() as AddressInfo; // listening since the test above
    const before = (await call(t.app, 'GET', '/api/messages/', { token: alice.token })).json().length;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ port, method: 'POST', path: '/api/messages/send/', headers: { 'content-type': 'application/json', 'x-auth-token': alice.token } });
      req.on('response', (res) => {
        res.resume();
        req.destroy();
        resolve(res.statusCode!);
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.write(`{"recipient":"${alice.username}","attachment_data":"`);
      // 4 MiB in all, past the body limit (2 MiB + the attachment's base64).
      const chunk = 'A'.repeat(256 * 1024);
      for (let i = 0; i < 16; i++) req.write(chunk);
      req.end('"}');
    });
    expect(status).toBe(413);
    expect((await call(t.app, 'GET', '/api/messages/', { token: alice.token })).json()).toHaveLength(before);
  });
});

describe('a 25 MiB attachment with the default limit', () => {
  let t: TestApp;
  afterAll(() => t.close());

  it('works end to end, byte-exact, and one byte more is 413', async () => {
    t = await startApp();
    const alice = await register(t.app);
    const bytes = randomBytes(25 * 1024 * 1024);
    const sent = await send(t.app, alice, { recipient: alice.username, attachment_data: b64(bytes), attachment_name: 'big.bin' });
    const fetched = (await call(t.app, 'GET', `/api/messages/${sent.id}/`, { token: alice.token })).json();
    const plain = await decryptAs(alice, await envelopesOf(t.app, alice), fetched);
    expect(Buffer.from(plain.attachment!).equals(bytes)).toBe(true);

    const over = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: { recipient: alice.username, attachment_data: b64(Buffer.concat([bytes, Buffer.from([1])])) } });
    expect(over.statusCode).toBe(413);
  });
});

describe('auth rate limit (RATE_LIMIT_AUTH_PER_MIN=3)', () => {
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    t = await startApp({ RATE_LIMIT_AUTH_PER_MIN: '3' });
    alice = await register(t.app); // 1 of 3
  });
  afterAll(() => t.close());

  it('shares one budget per IP across register, login and rotate; then 429 with Retry-After', async () => {
    const login = () => call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username, password: 'wrong-password' } });
    expect((await login()).statusCode).toBe(401); // 2 of 3
    expect((await call(t.app, 'POST', '/api/keys/rotate/', { token: alice.token, body: { password: 'wrong-password' } })).statusCode).toBe(400); // 3 of 3

    const limited = await login();
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json().detail).toMatch(/Too many/);
    const registerLimited = await call(t.app, 'POST', '/api/auth/register/', { body: { username: 'late', password: 'password-123' } });
    expect(registerLimited.statusCode).toBe(429);
    expect(await t.store.users.findByUsername('late')).toBeUndefined();
  });

  it('does not limit other endpoints, nor other client IPs', async () => {
    for (let i = 0; i < 5; i++) expect((await call(t.app, 'GET', '/api/messages/', { token: alice.token })).statusCode).toBe(200);
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login/',
      remoteAddress: '10.1.2.3',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username: alice.username, password: alice.password }),
    });
    expect(elsewhere.statusCode).toBe(200);
  });
});

describe('TRUST_PROXY', () => {
  it('keys the rate limit on X-Forwarded-For only when the proxy is trusted', async () => {
    const attempts = async (t: TestApp) => {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/auth/login/',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i}` },
          payload: JSON.stringify({ username: 'nobody', password: 'password-123' }),
        });
        statuses.push(res.statusCode);
      }
      return statuses;
    };
    const direct = await startApp({ RATE_LIMIT_AUTH_PER_MIN: '2' });
    const proxied = await startApp({ RATE_LIMIT_AUTH_PER_MIN: '2', TRUST_PROXY: 'true' });
    try {
      expect(await attempts(direct)).toEqual([401, 401, 429]); // one client: the proxy
      expect(await attempts(proxied)).toEqual([401, 401, 401]); // three clients behind it
    } finally {
      await Promise.all([direct.close(), proxied.close()]);
    }
  });
});

describe('RATE_LIMIT_AUTH_PER_MIN=0', () => {
  it('turns rate limiting off', async () => {
    const t = await startApp({ RATE_LIMIT_AUTH_PER_MIN: '0' });
    try {
      const statuses = [];
      for (let i = 0; i < 25; i++) statuses.push((await call(t.app, 'POST', '/api/auth/login/', { body: { username: 'nobody', password: 'password-123' } })).statusCode);
      expect(new Set(statuses)).toEqual(new Set([401]));
    } finally {
      await t.close();
    }
  });
});
