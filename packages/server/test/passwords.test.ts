/** Common passwords are refused at register and password change, before any expensive work. */
import { COMMON_PASSWORD_DETAIL } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, register, startApp, uniqueName, type Account, type TestApp } from './helpers.ts';

let t: TestApp;
let alice: Account;

beforeAll(async () => {
  t = await startApp();
  alice = await register(t.app);
});
afterAll(() => t.close());

describe('register', () => {
  it.each(['password1234', 'Password1234', 'iloveyou', 'qwertyuiop'])('refuses the common password %s with 400 on password', async (password) => {
    const username = uniqueName();
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: COMMON_PASSWORD_DETAIL, errors: { password: [COMMON_PASSWORD_DETAIL] } });
    expect((await call(t.app, 'POST', '/api/auth/login/', { body: { username, password } })).statusCode).toBe(401);
  });

  it('checks the password before anything else, even a taken username', async () => {
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username: alice.username, password: 'password1234' } });
    expect(res.json().errors).toEqual({ password: [COMMON_PASSWORD_DETAIL] });
  });

  it('accepts an uncommon password', async () => {
    expect((await call(t.app, 'POST', '/api/auth/register/', { body: { username: uniqueName(), password: 'plum-orbit-cactus' } })).statusCode).toBe(201);
  });
});

describe('password change', () => {
  it('refuses a common new_password with 400 on new_password, and changes nothing', async () => {
    const res = await call(t.app, 'POST', '/api/auth/password/', { token: alice.token, body: { old_password: alice.password, new_password: 'Password1234' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ detail: COMMON_PASSWORD_DETAIL, errors: { new_password: [COMMON_PASSWORD_DETAIL] } });
    expect((await call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username, password: alice.password } })).statusCode).toBe(200);
  });

  it('checks new_password before verifying old_password', async () => {
    const res = await call(t.app, 'POST', '/api/auth/password/', { token: alice.token, body: { old_password: 'not the password', new_password: 'iloveyou' } });
    expect(res.json().errors).toEqual({ new_password: [COMMON_PASSWORD_DETAIL] });
  });
});
