/**
 * Property-based fuzzing of /api/auth/: register, login, logout, logout-all,
 * password change, sessions list and delete. See fuzz-arbitraries.ts for the
 * properties every answer keeps; here, what "nothing stored" means per route.
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  base64OfSize, checkAnswer, decodedPath, checkBodyRoute, clientKeyFields, expectStatus, fail, keyPairFieldArbs, LONE_SURROGATES, longString, materialize, queryCase,
  queryString, Rep, runs, tableCounts, timeoutFor, tokenIssuer, weirdString, type BodyCase,
} from './fuzz-arbitraries.ts';
import { call, register, startApp, uniqueName, type TestApp } from './helpers.ts';

interface Client {
  id: number;
  username: string;
  password: string;
  token: string;
}

let t: TestApp;
let issue: (userId: number) => Promise<string>;
let observer: Client;

let passwordCounter = 0;
/** A password no common-password list holds. */
const freshPassword = () => `Fz-${process.pid}-${(passwordCounter += 1)}-qv7Lw`;

/** Registers with a client-made key pair: no RSA key generation. */
async function registerClient(username = uniqueName('fz'), password = freshPassword()): Promise<Client> {
  const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password, ...clientKeyFields() } });
  if (res.statusCode !== 201) throw new Error(`register ${username}: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.user.id, username, password, token: body.token };
}

const tokenWorks = async (token: string) => (await call(t.app, 'GET', '/api/auth/sessions/', { token })).statusCode === 200;

/** Logs in through the API: the strongest "the password is still this one". */
const logsIn = async (username: string, password: string) => (await call(t.app, 'POST', '/api/auth/login/', { body: { username, password } })).statusCode === 200;

const isString = (value: unknown): value is string => typeof value === 'string';
const codePoints = (value: string) => [...value].length;

beforeAll(async () => {
  t = await startApp();
  issue = tokenIssuer(t);
  observer = await registerClient(uniqueName('observer'));
});
afterAll(() => t.close());

describe('POST /api/auth/register/', () => {
  const numRuns = runs(30);
  it(
    'never a 5xx; errors are JSON; a refused registration creates no user, key or session',
    async () => {
      const kelvin = await registerClient(`kelvin_${process.pid}`);
      const usernames = fc.oneof(
        fc.constantFrom<unknown>(
          'a', 'x'.repeat(150), new Rep('x', 151), observer.username, observer.username.toUpperCase(), kelvin.username.replace('k', '\u212A'),
          `${observer.username} `, ` ${observer.username}`, `${observer.username}\u0000`, 'al\u0456ce', 'ａｌｉｃｅ', 'user name', 'a/b', 'a:b', 'a%b',
          '@', '.', '..', '+', '-', '_', '@.+-_',
        ),
        fc.stringMatching(/^[A-Za-z0-9@.+_-]{1,12}$/),
        fc.constantFrom(...LONE_SURROGATES).map((s) => `u${s}`),
      );
      const passwords = fc.oneof(
        fc.constantFrom<unknown>('', 'short', 'sEven7!', 'Zq8#kL2m', '        ', new Rep('p', 1024), new Rep('p', 1025), new Rep('é', 1024), new Rep('😀', 600), 'password123', 'Password123', '密码密码密码密码', 'pässwörd-ünïcödé'),
        fc.constantFrom(...LONE_SURROGATES).map((s) => `Zq8#kL2m${s}`),
        fc.string({ minLength: 8, maxLength: 40 }),
      );
      await checkBodyRoute(
        t.app,
        {
          method: 'POST',
          url: '/api/auth/register/',
          valid: () => ({ username: uniqueName('fz'), password: freshPassword(), ...clientKeyFields() }),
          fields: { username: usernames, password: passwords, ...keyPairFieldArbs },
          objectBody: true,
          examples: [{ mutations: ['public_key', 'encrypted_private_key', 'private_key_nonce', 'private_key_salt', 'private_key_iterations'].map((field) => ({ op: 'delete' as const, field })) }],
          mustBe: (body) => {
            const username = materialize(body.username);
            const password = materialize(body.password);
            if (!isString(username) || !isString(password)) return 400;
            if (!/^[A-Za-z0-9@.+_-]{1,150}$/.test(username)) return 400;
            if (codePoints(password) < 8 || codePoints(password) > 1024) return 400;
            return undefined;
          },
          snapshot: async (body) => {
            const username = materialize(body.username);
            return { counts: await tableCounts(t), existed: isString(username) && (await t.store.users.findByUsername(username)) !== undefined };
          },
          refused: async (before, body, res, input) => {
            const after = await tableCounts(t);
            if (JSON.stringify(after) !== JSON.stringify(before.counts)) fail(`refused register changed the tables ${JSON.stringify(before.counts)} → ${JSON.stringify(after)}`, input, res);
            const username = materialize(body.username);
            if (!isString(username) || before.existed) return;
            if (await t.store.users.findByUsername(username)) fail('refused register left the user in the database', input, res);
            if (username.isWellFormed() && username.length <= 150) {
              const listed = await call(t.app, 'GET', `/api/users/?search=${encodeURIComponent(username)}&limit=500`, { token: observer.token });
              if (listed.statusCode === 200 && (listed.json() as Array<{ user: { username: string } }>).some((e) => e.user.username === username)) {
                fail('refused register: the user is listed', input, res);
              }
            }
          },
          accepted: async (before, body, res, input) => {
            expectStatus(res, 201, input, 'register answers 201');
            if (before.existed) fail('a taken username was registered again', input, res);
            if (res.json().user.username !== materialize(body.username)) fail('registered under another name', input, res);
          },
        },
        numRuns,
      );
    },
    timeoutFor(numRuns, 250),
  );
});

describe('POST /api/auth/login/', () => {
  const numRuns = runs(40);
  it(
    'never a 5xx; errors are JSON; only the exact password logs in; a refused login issues no session',
    async () => {
      const account = await registerClient(uniqueName('klogin'));
      const p = account.password;
      const usernames = fc.constantFrom<unknown>(
        account.username, account.username.toUpperCase(), account.username.replace('k', '\u212A'), `${account.username} `, `${account.username}\u0000`,
        account.username.slice(0, -1), 'nobody-at-all', '', new Rep('x', 151), observer.username,
      );
      const passwords = fc.oneof(
        fc.constantFrom<unknown>(p, `${p} `, ` ${p}`, p.toUpperCase(), p.slice(0, -1), `${p}\u0000`, `${p}\ud800`, '', new Rep('p', 1024), new Rep('p', 1025), observer.password),
        fc.string({ maxLength: 30 }),
      );
      // The observer's name and password are in the pools to be mixed with the account's; together they are the observer's own login.
      const whoseLogin = (username: string, password: string) =>
        [account, observer].find((client) => password === client.password && username.toLowerCase() === client.username.toLowerCase());
      await checkBodyRoute(
        t.app,
        {
          method: 'POST',
          url: '/api/auth/login/',
          valid: () => ({ username: account.username, password: p }),
          fields: { username: usernames, password: passwords },
          objectBody: true,
          mustBe: (body) => {
            const username = materialize(body.username);
            const password = materialize(body.password);
            if (!isString(username) || !isString(password)) return 400;
            if (username.length > 150 || password.length > 1024) return 400;
            if (username.isWellFormed() && password.isWellFormed() && !whoseLogin(username, password)) return [400, 401];
            return undefined;
          },
          snapshot: async () => tableCounts(t),
          refused: async (before, _body, res, input) => {
            const after = await tableCounts(t);
            if (after.sessions !== before.sessions) fail('a refused login issued a session', input, res);
          },
          accepted: async (_before, body, res, input) => {
            const client = whoseLogin(String(materialize(body.username)), String(materialize(body.password)));
            if (!client) fail('logged in with credentials that are no account’s', input, res);
            else if (res.json().user.id !== client.id) fail('logged in as someone else', input, res);
          },
        },
        numRuns,
      );
    },
    timeoutFor(numRuns, 250),
  );
});

/** Bodies for routes that take none: anything, as extra fields. */
const noFields = { reason: weirdString, all: fc.constantFrom<unknown>(true, 'true', 1, null), token: base64OfSize(32) };

describe('POST /api/auth/logout/', () => {
  const numRuns = runs(40);
  it(
    'never a 5xx; errors are JSON; a refused logout leaves the token valid, an accepted one revokes it',
    async () => {
      const account = await registerClient(uniqueName('logout'));
      let token = '';
      await checkBodyRoute(
        t.app,
        {
          method: 'POST',
          url: '/api/auth/logout/',
          token: () => token,
          valid: () => ({}),
          fields: noFields,
          objectBody: false,
          snapshot: async () => {
            token = await issue(account.id);
          },
          refused: async (_before, _body, res, input) => {
            if (!(await tokenWorks(token))) fail('a refused logout revoked the token', input, res);
          },
          accepted: async (_before, _body, res, input) => {
            expectStatus(res, 204, input, 'logout answers 204');
            if (await tokenWorks(token)) fail('an accepted logout left the token valid', input, res);
          },
        },
        numRuns,
      );
      expect(await tokenWorks(observer.token)).toBe(true);
    },
    timeoutFor(numRuns),
  );
});

describe('POST /api/auth/logout-all/', () => {
  const numRuns = runs(40);
  it(
    'never a 5xx; errors are JSON; a refused logout-all leaves every token valid, an accepted one revokes them all',
    async () => {
      const account = await registerClient(uniqueName('logoutall'));
      let token = '';
      let other = '';
      await checkBodyRoute(
        t.app,
        {
          method: 'POST',
          url: '/api/auth/logout-all/',
          token: () => token,
          valid: () => ({}),
          fields: noFields,
          objectBody: false,
          snapshot: async () => {
            [token, other] = await Promise.all([issue(account.id), issue(account.id)]);
          },
          refused: async (_before, _body, res, input) => {
            if (!(await tokenWorks(token)) || !(await tokenWorks(other))) fail('a refused logout-all revoked a token', input, res);
          },
          accepted: async (_before, _body, res, input) => {
            expectStatus(res, 204, input, 'logout-all answers 204');
            if ((await tokenWorks(token)) || (await tokenWorks(other))) fail('an accepted logout-all left a token valid', input, res);
          },
        },
        numRuns,
      );
      expect(await tokenWorks(observer.token)).toBe(true);
    },
    timeoutFor(numRuns),
  );
});

describe('POST /api/auth/password/', () => {
  /** Password-change fields around the account's current password. */
  function passwordFields(current: () => string) {
    return {
      old_password: fc.oneof(
        fc.constantFrom<unknown>('', 'Zq8#kL2m', new Rep('p', 1025)),
        fc.constantFrom((p: string) => `${p} `, (p: string) => p.toUpperCase(), (p: string) => p.slice(0, -1), (p: string) => `${p}\u0000`, (p: string) => `${p}\ud800`).map((f) => new Derived(f, current)),
      ),
      new_password: fc.oneof(
        fc.constantFrom<unknown>('', 'short', 'sEven7!', 'Zq8#kL2m', '        ', new Rep('n', 1024), new Rep('n', 1025), 'password123', '密码密码密码密码'),
        fc.constantFrom(...LONE_SURROGATES).map((s) => `Zq8#kL2m${s}`),
      ),
    };
  }

  /** Mutations keep the current password current: a value computed from it when the body is built. */
  class Derived {
    constructor(
      readonly f: (p: string) => string,
      readonly current: () => string,
    ) {}
    toJSON() {
      return this.f(this.current());
    }
    [fc.toStringMethod]() {
      return `derived(${this.f.toString()})`;
    }
  }

  const derive = (value: unknown) => (value instanceof Derived ? value.toJSON() : materialize(value));

  function passwordRoute(account: Client, withEnvelopes: () => Promise<unknown[] | undefined>, extraFields: Record<string, fc.Arbitrary<unknown>>) {
    let envelopes: unknown[] | undefined;
    return {
      method: 'POST' as const,
      url: '/api/auth/password/',
      token: () => account.token,
      valid: () => ({ old_password: account.password, new_password: freshPassword(), ...(envelopes ? { envelopes } : {}) }),
      fields: { ...passwordFields(() => account.password), ...extraFields },
      objectBody: true,
      mustBe: (body: Record<string, unknown>) => {
        const old = derive(body.old_password);
        const next = derive(body.new_password);
        if (!isString(old) || !isString(next)) return 400;
        if (!next.isWellFormed() || codePoints(next) < 8 || codePoints(next) > 1024) return 400;
        if (old !== account.password) return 400;
        return undefined;
      },
      snapshot: async () => {
        envelopes = await withEnvelopes();
        const row = await t.store.users.findByUsername(account.username);
        const keys = (await call(t.app, 'GET', '/api/keys/', { token: account.token })).body;
        return { hash: row?.password_hash, keys };
      },
      refused: async (before: { hash?: string; keys: string }, _body: Record<string, unknown>, res: LightMyRequestResponse, input: unknown) => {
        const row = await t.store.users.findByUsername(account.username);
        if (row?.password_hash !== before.hash) fail('a refused password change replaced the password hash', input, res);
        if ((await call(t.app, 'GET', '/api/keys/', { token: account.token })).body !== before.keys) fail('a refused password change changed the envelopes', input, res);
        if (!(await logsIn(account.username, account.password))) fail('after a refused password change the old password no longer logs in', input, res);
      },
      accepted: async (_before: unknown, body: Record<string, unknown>, res: LightMyRequestResponse, input: unknown) => {
        expectStatus(res, 200, input, 'password change answers 200');
        if (derive(body.old_password) !== account.password) fail('a password change with a wrong old_password was accepted', input, res);
        const next = derive(body.new_password);
        if (typeof next !== 'string') fail('a password change without a plain string new_password was accepted', input, res);
        account.password = next;
        if (!(await tokenWorks(account.token))) fail('the calling session was revoked by its own password change', input, res);
      },
    };
  }

  const numRuns = runs(20);
  it(
    'server-sealed keys: never a 5xx; errors are JSON; after a refused change the old password still logs in',
    async () => {
      const made = await register(t.app, uniqueName('pwserver'), freshPassword());
      const account: Client = { id: made.id, username: made.username, password: made.password, token: made.token };
      const route = passwordRoute(account, async () => undefined, {
        envelopes: fc.constantFrom<unknown>([], null, 'all', [{}], [null]),
      });
      await checkBodyRoute(t.app, route, numRuns);
    },
    timeoutFor(numRuns, 400),
  );

  it(
    'client-made keys with envelopes: never a 5xx; errors are JSON; after a refused change the old password still logs in',
    async () => {
      const account = await registerClient(uniqueName('pwclient'));
      const envelopeFor = (keyId: unknown) => {
        const { public_key: _, ...sealed } = clientKeyFields();
        return { key_id: keyId, ...sealed };
      };
      const envelopeVariants = fc.oneof(
        fc.constantFrom<unknown>([], null, {}, 'all', [null], [{}], [1]),
        fc.array(nearEnvelope(), { minLength: 1, maxLength: 3 }),
      );
      function nearEnvelope(): fc.Arbitrary<unknown> {
        return fc
          .record({ keyId: fc.constantFrom<unknown>(1, 1, 1, 2, 0, -1, 1.5, '1', null, 2 ** 53, 99999999999999999999), field: fc.constantFrom(...Object.keys(keyPairFieldArbs).filter((f) => f !== 'public_key'), 'none') })
          .chain(({ keyId, field }) =>
            (field === 'none' ? fc.constant(undefined) : keyPairFieldArbs[field]!).map((value) => {
              const envelope: Record<string, unknown> = envelopeFor(keyId);
              if (field !== 'none') envelope[field] = value;
              return envelope;
            }),
          );
      }
      const route = passwordRoute(account, async () => [envelopeFor(1)], { envelopes: envelopeVariants });
      // valid() is built before each case's snapshot: take one first, so the very first valid body has its envelopes too.
      await route.snapshot();
      const withoutEnvelopes: BodyCase = { mutations: [{ op: 'delete', field: 'envelopes' }] };
      await checkBodyRoute(t.app, { ...route, examples: [withoutEnvelopes] }, numRuns);
    },
    timeoutFor(numRuns, 400),
  );
});

describe('GET /api/auth/sessions/ and DELETE /api/auth/sessions/{id}/', () => {
  const numRuns = runs(60);
  it(
    'the list answers 200 with exactly one current session whatever the query',
    async () => {
      const account = await registerClient(uniqueName('sessions'));
      await fc.assert(
        fc.asyncProperty(queryCase(['limit', 'offset', 'id', 'current']), async (pairs) => {
          const url = `/api/auth/sessions/${queryString(pairs)}`;
          const res = await t.app.inject({ method: 'GET', url, headers: { 'x-auth-token': account.token } });
          checkAnswer(res, url);
          expectStatus(res, 200, url, 'the sessions list takes no parameters');
          const sessions = res.json() as Array<{ current: boolean }>;
          if (sessions.filter((s) => s.current).length !== 1) fail('not exactly one current session', url, res);
        }),
        { numRuns },
      );
    },
    timeoutFor(numRuns),
  );

  it(
    'delete: own session → 204 and revoked; someone else’s, unknown or malformed id → 404 and nothing revoked',
    async () => {
      const account = await registerClient(uniqueName('revoker'));
      const stranger = await registerClient(uniqueName('stranger'));
      type Target = { kind: 'own' | 'current' | 'foreign' } | { kind: 'raw'; id: string };
      const target: fc.Arbitrary<Target> = fc.oneof(
        fc.constantFrom<Target>({ kind: 'own' }, { kind: 'current' }, { kind: 'foreign' }),
        fc
          .oneof(
            fc.constantFrom(
              '0', '-1', '00', '01', '+1', '1.0', '1e0', '0x1', ' 1', '1 ', '%20', '%00', '%ZZ', '%', '%31%32', 'abc', 'null', 'NaN', '99999999999999999999', '9007199254740993',
              '9999999999999999', '1%2F2', '..', '%2e%2e', '\u212A', '%E2%84%AA', '%ED%A0%80', '%C0%80', 'x'.repeat(2000),
            ),
            fc.integer({ min: 1, max: 2 ** 31 }).map(String),
            fc.string({ maxLength: 10 }).map(encodeURIComponent),
          )
          .map((id): Target => ({ kind: 'raw', id })),
      );
      let ok = 0;
      await fc.assert(
        fc.asyncProperty(target, async (target) => {
          const caller = await issue(account.id);
          const victim = target.kind === 'foreign' ? await issue(stranger.id) : await issue(account.id);
          const sessionIdOf = async (token: string) => {
            const res = await call(t.app, 'GET', '/api/auth/sessions/', { token });
            return (res.json() as Array<{ id: number; current: boolean }>).find((s) => s.current)!.id;
          };
          const id = target.kind === 'raw' ? target.id : String(await sessionIdOf(target.kind === 'current' ? caller : victim));
          const url = `/api/auth/sessions/${id}/`;
          const res = await t.app.inject({ method: 'DELETE', url, headers: { 'x-auth-token': caller } });
          const input = { target, url };
          checkAnswer(res, input, 'DELETE');
          if (target.kind === 'own' || target.kind === 'current') {
            expectStatus(res, 204, input, 'revoking one of one’s own sessions');
            ok += 1;
            if (await tokenWorks(target.kind === 'own' ? victim : caller)) fail('the revoked session still works', input, res);
            if (target.kind === 'own' && !(await tokenWorks(caller))) fail('revoking another session revoked the caller', input, res);
          } else {
            if (target.kind === 'foreign') expectStatus(res, 404, input, 'someone else’s session');
            else if (!/^[1-9][0-9]*$/.test(decodedPath(id) ?? '')) expectStatus(res, [400, 404], input, 'a malformed session id');
            if (res.statusCode === 204) ok += 1;
            if (!(await tokenWorks(victim)) || !(await tokenWorks(caller))) {
              if (res.statusCode >= 400) fail('a refused session delete revoked a session', input, res);
            }
            if (!(await tokenWorks(observer.token)) || !(await tokenWorks(stranger.token))) fail('deleting a session revoked another user’s session', input, res);
          }
        }),
        { numRuns, examples: [[{ kind: 'own' }]] },
      );
      expect(ok).toBeGreaterThan(0);
    },
    timeoutFor(numRuns),
  );
});
