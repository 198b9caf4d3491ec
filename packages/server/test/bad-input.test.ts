/**
 * Everything a client can send wrong gets a JSON 4xx and changes nothing:
 * never a 500, never a crash, never a stored message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, call, register, startApp, type Account, type TestApp } from './helpers.ts';

let t: TestApp;
let alice: Account;
let bob: Account;

beforeAll(async () => {
  t = await startApp();
  [alice, bob] = await Promise.all([register(t.app), register(t.app)]);
});
afterAll(() => t.close());

async function counts() {
  const [users, messages, keys] = await Promise.all(
    (['users', 'messages', 'user_keys'] as const).map(async (table) => (await t.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
  );
  return { users, messages, keys };
}

function expectJsonError(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  expect(res.json()).toEqual(expect.objectContaining({ detail: expect.any(String) }));
}

const send = (body: unknown, headers?: Record<string, string>) => call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body, headers });
const registerWith = (body: unknown, headers?: Record<string, string>) => call(t.app, 'POST', '/api/auth/register/', { body, headers });

describe('malformed bodies', () => {
  it.each([
    ['truncated JSON', '{"recipient": "x"'],
    ['a bare word', 'hello'],
    ['trailing garbage', '{"recipient":"x"} x'],
    ['prototype pollution', '{"__proto__": {"admin": true}, "recipient": "x", "message": "y"}'],
  ])('%s → 400', async (_, body) => {
    expectJsonError(await send(body), 400);
  });

  it.each([
    ['an array', '[{"recipient": "x", "message": "y"}]'],
    ['a string', '"text"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('%s instead of an object → 400', async (_, body) => {
    expectJsonError(await send(body), 400);
  });

  it('deeply nested JSON → 400, and the server keeps answering', async () => {
    const deep = `{"recipient":${JSON.stringify(bob.username)},"message":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const res = await send(deep);
    expectJsonError(res, 400);
    expect(res.json().errors).toHaveProperty('message');
    expect((await call(t.app, 'GET', '/healthz')).statusCode).toBe(200);
  });

  it.each([
    ['form-encoded', 'application/x-www-form-urlencoded', 'recipient=x&message=y'],
    ['plain text', 'text/plain', '{"recipient":"x","message":"y"}'],
    ['XML', 'application/xml', '<send/>'],
  ])('%s bodies → 415', async (_, contentType, body) => {
    expectJsonError(await send(body, { 'content-type': contentType }), 415);
  });

  it('a missing body → 400', async () => {
    expectJsonError(await call(t.app, 'POST', '/api/messages/send/', { token: alice.token }), 400);
  });
});

describe('wrong fields on send', () => {
  it.each([
    ['no recipient', { message: 'hi' }, 'recipient'],
    ['recipient a number', { recipient: 5, message: 'hi' }, 'recipient'],
    ['recipient null', { recipient: null, message: 'hi' }, 'recipient'],
    ['recipient an object', { recipient: { username: 'x' }, message: 'hi' }, 'recipient'],
    ['unknown recipient', { recipient: 'nobody-at-all', message: 'hi' }, 'recipient'],
    ['message a number', { recipient: 'B', message: 123 }, 'message'],
    ['message an array', { recipient: 'B', message: ['a'] }, 'message'],
    ['nothing to send', { recipient: 'B' }, 'message'],
    ['empty message and attachment', { recipient: 'B', message: '', attachment_data: '' }, 'message'],
    ['message with a lone surrogate', { recipient: 'B', message: 'bad \ud800 text' }, 'message'],
    ['oversized message', { recipient: 'B', message: 'x'.repeat(262_145) }, 'message'],
    ['oversized attachment_name', { recipient: 'B', message: 'x', attachment_name: 'n'.repeat(256) }, 'attachment_name'],
    ['attachment_data a number', { recipient: 'B', attachment_data: 12 }, 'attachment_data'],
    ['base64 with stray characters', { recipient: 'B', attachment_data: 'QUJD$$$$' }, 'attachment_data'],
    ['URL-safe base64', { recipient: 'B', attachment_data: '-_-_' }, 'attachment_data'],
    ['base64 without padding', { recipient: 'B', attachment_data: 'QUJDRA' }, 'attachment_data'],
    ['base64 with whitespace', { recipient: 'B', attachment_data: 'QUJD\nRA==' }, 'attachment_data'],
    ['base64 with non-zero padding bits', { recipient: 'B', attachment_data: 'QUJDRB==' }, 'attachment_data'],
  ])('%s → 400 naming the field, nothing stored', async (_, body, field) => {
    const before = await counts();
    const payload = JSON.parse(JSON.stringify(body).replace('"B"', JSON.stringify(bob.username)));
    const res = await send(payload);
    expectJsonError(res, 400);
    expect(res.json().errors).toHaveProperty(field);
    expect(await counts()).toEqual(before);
  });

  it('a valid send after all that still works', async () => {
    expect((await send({ recipient: bob.username, attachment_data: b64('ok') })).statusCode).toBe(201);
  });
});

describe('wrong fields on register and login', () => {
  it.each([
    ['username a number', { username: 12345678, password: 'password-123' }],
    ['username an array', { username: ['a'], password: 'password-123' }],
    ['password a number', { username: 'numberpass', password: 12345678 }],
    ['password null', { username: 'nullpass', password: null }],
    ['missing password', { username: 'nopass' }],
    ['missing username', { password: 'password-123' }],
    ['password with a lone surrogate', { username: 'surrogate', password: 'abcdefgh\udc00' }],
  ])('register with %s → 400, no user created', async (_, body) => {
    const before = await counts();
    expectJsonError(await registerWith(body), 400);
    expect(await counts()).toEqual(before);
  });

  it.each([
    ['username a number', { username: 1, password: 'password-123' }],
    ['empty object', {}],
    ['huge username', { username: 'a'.repeat(10_000), password: 'password-123' }],
  ])('login with %s → 400', async (_, body) => {
    expectJsonError(await call(t.app, 'POST', '/api/auth/login/', { body }), 400);
  });
});

describe('tokens and ids', () => {
  it.each([
    ['GET', '/api/messages/'],
    ['GET', '/api/messages/1/'],
    ['POST', '/api/messages/send/'],
    ['GET', '/api/users/'],
    ['GET', '/api/users/x/public-key/'],
    ['GET', '/api/keys/'],
    ['POST', '/api/keys/rotate/'],
    ['POST', '/api/auth/logout/'],
    ['POST', '/api/auth/logout-all/'],
    ['GET', '/api/auth/sessions/'],
    ['DELETE', '/api/auth/sessions/1/'],
  ])('%s %s without a valid token → 401 before the body is looked at', async (method, url) => {
    const res = await call(t.app, method, url, { token: 'f'.repeat(64), body: method === 'GET' ? undefined : '{not json' });
    expectJsonError(res, 401);
  });

  it('a revoked token → 401', async () => {
    const account = await register(t.app);
    await call(t.app, 'POST', '/api/auth/logout/', { token: account.token });
    expectJsonError(await call(t.app, 'POST', '/api/messages/send/', { token: account.token, body: { recipient: bob.username, message: 'x' } }), 401);
  });
});
