/** Usernames are compared ignoring ASCII case only: no non-ASCII name finds an ASCII account. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usernameKey } from '../src/store/username-key.ts';
import { call, register, startApp, type Account, type TestApp } from './helpers.ts';

const KELVIN = '\u212A'; // "K".toLowerCase() === "k"
let t: TestApp;
let kate: Account;
let sender: Account;

beforeAll(async () => {
  t = await startApp();
  kate = await register(t.app, 'kate');
  sender = await register(t.app, 'sender');
});
afterAll(() => t.close());

describe('usernameKey', () => {
  it('lowercases ASCII letters only and keeps every other character, so no non-ASCII name has an ASCII key', () => {
    expect(usernameKey('Kate.X+1@y_Z-')).toBe('kate.x+1@y_z-');
    expect(usernameKey(`${KELVIN}ate`)).toBe(`${KELVIN}ate`); // never "kate"
    expect(usernameKey('\u0130nci')).toBe('\u0130nci'); // Turkish dotted capital I
    expect(usernameKey('KätÈ')).toBe('kätÈ'); // imported names (npm run import-original): found by their exact non-ASCII letters
    expect(usernameKey('a\u0000b')).toBeNull();
  });
});

describe('a name with a character that folds into ASCII', () => {
  it('still finds the account when only ASCII case differs', async () => {
    const login = await call(t.app, 'POST', '/api/auth/login/', { body: { username: 'KATE', password: kate.password } });
    expect(login.statusCode).toBe(200);
    expect((await call(t.app, 'GET', '/api/users/KaTe/public-key/', { token: sender.token })).statusCode).toBe(200);
  });

  it('cannot log in: 401, as for an unknown user', async () => {
    const res = await call(t.app, 'POST', '/api/auth/login/', { body: { username: `${KELVIN}ate`, password: kate.password } });
    expect(res.statusCode).toBe(401);
    expect(res.json().detail).toBe('Unable to log in with the provided credentials.');
  });

  it('is an unknown recipient', async () => {
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: sender.token, body: { recipient: `${KELVIN}ate`, message: 'hi' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.recipient).toEqual(['Unknown recipient.']);
    // and stays unknown once the ASCII name has been looked up (the identity cache)
    expect((await call(t.app, 'POST', '/api/messages/send/', { token: sender.token, body: { recipient: 'Kate', message: 'hi' } })).statusCode).toBe(201);
    expect((await call(t.app, 'POST', '/api/messages/send/', { token: sender.token, body: { recipient: `${KELVIN}ATE`, message: 'hi' } })).statusCode).toBe(400);
  });

  it('has no public key: 404', async () => {
    const res = await call(t.app, 'GET', `/api/users/${encodeURIComponent(`${KELVIN}ate`)}/public-key/`, { token: sender.token });
    expect(res.statusCode).toBe(404);
  });

  it('matches nobody in a user search', async () => {
    const search = (prefix: string) => call(t.app, 'GET', `/api/users/?search=${encodeURIComponent(prefix)}`, { token: sender.token });
    expect((await search('K')).json().map((u: { user: { username: string } }) => u.user.username)).toEqual(['kate']);
    const res = await search(KELVIN);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
  });

  it('cannot be registered', async () => {
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username: `${KELVIN}ate2`, password: 'password-123' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toHaveProperty('username');
  });
});
