/**
 * Property-based fuzzing of /api/users/ (list with limit/offset/search,
 * public-key lookup) and /api/keys/ (list, rotate). See fuzz-arbitraries.ts.
 */
import fc from 'fast-check';
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asciiLower, checkAnswer, checkBodyRoute, clientKeyFields, decoded, decodedPath, expectStatus, fail, keyPairFieldArbs, LONE_SURROGATES, materialize, positiveIntegerVerdict,
  queryCase, queryString, queryValue, Rep, runs, single, timeoutFor, type BodyCase,
} from './fuzz-arbitraries.ts';
import { call, startApp, type TestApp } from './helpers.ts';

interface Client {
  id: number;
  username: string;
  password: string;
  token: string;
}

let t: TestApp;
let viewer: Client;
const others: Client[] = [];
const pid = process.pid;

async function registerClient(username: string, password = `Fz-${pid}-${username}-qv7Lw`): Promise<Client> {
  const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password, ...clientKeyFields() } });
  if (res.statusCode !== 201) throw new Error(`register ${username}: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.user.id, username, password, token: body.token };
}

beforeAll(async () => {
  // npm run fuzz rotates one account thousands of times: the key-version cap (409) is tested in key-versions.test.ts, not here.
  t = await startApp({ MAX_KEY_VERSIONS: '10000' });
  viewer = await registerClient(`viewer_${pid}`);
  for (const name of [`kilo_${pid}`, `Kilo2_${pid}`, `_under_${pid}`, `per.cent_${pid}`, `a@b+c-d_${pid}`, `zz_${pid}`, 'K', 'k0', `${'l'.repeat(149 - String(pid).length)}_${pid}`]) others.push(await registerClient(name));
});
afterAll(() => t.close());

/** 'ok' for a plain non-negative safe integer, 'bad' for a negative one or a word, else 'either'. */
function offsetVerdictOf(raw: string): 'ok' | 'bad' | 'either' {
  const value = decoded(raw);
  if (value === null) return 'either';
  if (/^[0-9]+$/.test(value)) return Number.isSafeInteger(Number(value)) ? 'ok' : 'either';
  if (value === '' || /^-[0-9]*[1-9][0-9]*$/.test(value) || /^[A-Za-z\[\]]+$/.test(value)) return 'bad';
  return 'either';
}

type Entry = { user: { id: number; username: string }; public_key: string; key_id: number };

describe('GET /api/users/', () => {
  const numRuns = runs(60);
  it(
    'never a 5xx; errors are JSON; a page is the matching slice of the full list',
    async () => {
      const full = (await call(t.app, 'GET', '/api/users/?limit=500', { token: viewer.token })).json() as Entry[];
      expect(full.length).toBe(others.length);
      const searchValues = fc.oneof(
        queryValue,
        fc.constantFrom('k', 'K', 'ki', 'KILO', '%E2%84%AA', '%E2%84%AAilo', '_', '%25', '%', '%5F', '_u', '%5C', 'per.', 'per_', 'a%40b%2Bc', 'a@b+c', 'z', 'viewer', ''),
      );
      const pairs = fc.oneof(
        queryCase(['limit', 'offset', 'search']),
        fc.tuple(fc.constantFrom('limit', 'offset', 'search'), searchValues).map((pair) => [pair] as Array<[string, string]>),
        fc.record({ limit: queryValue, offset: queryValue, search: searchValues }).map(({ limit, offset, search }) => [['limit', limit], ['offset', offset], ['search', search]] as Array<[string, string]>),
      );
      let ok = 0;
      await fc.assert(
        fc.asyncProperty(pairs, async (pairs) => {
          const url = `/api/users/${queryString(pairs)}`;
          const res = await t.app.inject({ method: 'GET', url, headers: { 'x-auth-token': viewer.token } });
          checkAnswer(res, url);
          const limit = single(pairs, 'limit');
          const offset = single(pairs, 'offset');
          const search = single(pairs, 'search');
          const plain = (v: string | null | { repeated: true }) => v === null || typeof v === 'string';
          const limitVerdict = typeof limit === 'string' ? positiveIntegerVerdict(limit) : limit === null ? 'ok' : 'either';
          const offsetVerdict = typeof offset === 'string' ? offsetVerdictOf(offset) : offset === null ? 'ok' : 'either';
          const searchText = typeof search === 'string' ? decoded(search) : null;
          if (limitVerdict === 'bad' || offsetVerdict === 'bad') expectStatus(res, 400, url, 'limit/offset must be a positive / non-negative integer');
          if (searchText !== null && searchText.length > 150) expectStatus(res, 400, url, 'search over 150 characters');
          if (res.statusCode !== 200) return;
          ok += 1;
          const page = res.json() as Entry[];
          if (page.some((e) => e.user.id === viewer.id)) fail('the caller is listed', url, res);
          const max = typeof limit === 'string' && limitVerdict === 'ok' ? Math.min(Number(decoded(limit)), 500) : 100;
          if (page.length > max) fail(`more than ${max} users on a page`, url, res);
          if (limitVerdict === 'ok' && offsetVerdict === 'ok' && plain(search) && (search === null || searchText !== null)) {
            const prefix = asciiLower(searchText ?? '');
            const start = typeof offset === 'string' ? Number(decoded(offset)) : 0;
            const expected = full.filter((e) => asciiLower(e.user.username).startsWith(prefix)).slice(start, start + max);
            const got = page.map((e) => e.user.username);
            if (JSON.stringify(got) !== JSON.stringify(expected.map((e) => e.user.username))) {
              fail(`page is not the matching slice: expected ${JSON.stringify(expected.map((e) => e.user.username))}`, url, res);
            }
          }
          const link = res.headers.link;
          if (link !== undefined) {
            const next = /^<([^>]+)>; rel="next"$/.exec(String(link));
            if (!next) fail('malformed Link header', url, res);
            const followed = await t.app.inject({ method: 'GET', url: next[1]!, headers: { 'x-auth-token': viewer.token } });
            checkAnswer(followed, next[1]);
            expectStatus(followed, 200, { url, next: next[1] }, 'the next link answers 200');
          }
        }),
        { numRuns, examples: [[[]], [[['limit', '2'], ['offset', '1']]]] },
      );
      expect(ok).toBeGreaterThan(0);
    },
    timeoutFor(numRuns),
  );
});

describe('GET /api/users/{username}/public-key/', () => {
  const numRuns = runs(60);
  it(
    'never a 5xx; errors are JSON; 200 exactly for a registered name (ASCII case ignored), never a look-alike',
    async () => {
      const names = fc.oneof(
        fc.constantFrom(...others.map((o) => o.username)).chain((name) =>
          fc.constantFrom(
            name, name.toUpperCase(), name.toLowerCase(), encodeURIComponent(name), name.replace(/k/gi, '%E2%84%AA'), name.replace(/k/gi, '\u212A'), `${name}%00`,
            `${name}%20`, `%20${name}`, `${name}.`, name.slice(0, -1), `${name}x`, name.replace(/i/g, '%C4%B1'), name.replace(/_/g, '%5F'), name.replace(/_/g, '%'),
          ),
        ),
        fc.constantFrom('', '%', '%25', '_', '%ZZ', '%ED%A0%80', '%C0%80', '%FF', '..', '%2e%2e', '.', 'null', 'undefined', '__proto__', 'constructor', '%2F', 'a%2Fb', 'x'.repeat(101), 'x'.repeat(150)),
        fc.string({ maxLength: 12 }).map(encodeURIComponent),
        fc.constantFrom(...LONE_SURROGATES).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '')) + '%ED%A0%80'),
      );
      let ok = 0;
      await fc.assert(
        fc.asyncProperty(names, async (name) => {
          const url = `/api/users/${name}/public-key/`;
          const res = await t.app.inject({ method: 'GET', url, headers: { 'x-auth-token': viewer.token } });
          checkAnswer(res, url);
          const text = decodedPath(name);
          const owner = text === null ? undefined : [...others, viewer].find((o) => asciiLower(o.username) === asciiLower(text));
          if (owner && !/[/?#]/.test(name)) {
            expectStatus(res, 200, url, `the public key of ${owner.username}`);
            const entry = res.json() as Entry;
            if (entry.user.id !== owner.id || typeof entry.public_key !== 'string' || !Number.isInteger(entry.key_id)) fail('wrong public-key entry', url, res);
            ok += 1;
          } else if (res.statusCode === 200) {
            fail('a public key was found for a name nobody registered', url, res);
          } else if (text !== null && text.length <= 100) {
            expectStatus(res, 404, url, 'an unknown user');
          }
        }),
        { numRuns, examples: [[others[0]!.username]] },
      );
      expect(ok).toBeGreaterThan(0);
    },
    timeoutFor(numRuns),
  );
});

describe('/api/keys/', () => {
  it(
    'GET answers 200 with every version, newest first, whatever the query',
    async () => {
      const numRuns = runs(40);
      await fc.assert(
        fc.asyncProperty(queryCase(['limit', 'offset', 'key_id', 'direction']), async (pairs) => {
          const url = `/api/keys/${queryString(pairs)}`;
          const res = await t.app.inject({ method: 'GET', url, headers: { 'x-auth-token': viewer.token } });
          checkAnswer(res, url);
          expectStatus(res, 200, url, 'the key list takes no parameters');
          const ids = (res.json() as Array<{ key_id: number }>).map((k) => k.key_id);
          if (ids.length === 0 || ids.some((id, i) => i > 0 && id >= ids[i - 1]!)) fail('key versions are not newest first', url, res);
        }),
        { numRuns },
      );
    },
    timeoutFor(runs(40)),
  );

  const numRuns = runs(40);
  it(
    'POST rotate: never a 5xx; errors are JSON; a refused rotation leaves the key list unchanged, an accepted one adds exactly one version',
    async () => {
      const account = await registerClient(`rotor_${pid}`);
      const p = account.password;
      const keys = async () => (await call(t.app, 'GET', '/api/keys/', { token: account.token })).body;
      const passwords = fc.constantFrom<unknown>(p, `${p} `, p.toUpperCase(), p.slice(0, -1), `${p}\u0000`, `${p}\ud800`, '', new Rep('p', 1024), new Rep('p', 1025));
      const serverMade: BodyCase = { mutations: ['public_key', 'encrypted_private_key', 'private_key_nonce', 'private_key_salt', 'private_key_iterations'].map((field) => ({ op: 'delete' as const, field })) };
      await checkBodyRoute(
        t.app,
        {
          method: 'POST',
          url: '/api/keys/rotate/',
          token: () => account.token,
          valid: () => ({ password: p, ...clientKeyFields() }),
          fields: { password: passwords, ...keyPairFieldArbs },
          objectBody: true,
          examples: [serverMade],
          mustBe: (body) => {
            const password = materialize(body.password);
            if (typeof password !== 'string' || password !== p) return 400;
            const iterations = materialize(body.private_key_iterations);
            if (iterations !== undefined && (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < 100_000 || iterations > 10_000_000)) return 400;
            for (const field of ['public_key', 'encrypted_private_key', 'private_key_nonce', 'private_key_salt']) {
              const value = materialize(body[field]);
              if (value !== undefined && typeof value !== 'string') return 400;
            }
            return undefined;
          },
          snapshot: keys,
          refused: async (before, _body, res, input) => {
            if ((await keys()) !== before) fail('a refused rotation changed the key list', input, res);
          },
          accepted: async (before, body, res, input) => {
            expectStatus(res, 200, input, 'rotate answers 200');
            const was = JSON.parse(before) as Array<{ key_id: number }>;
            const now = JSON.parse(await keys()) as Array<{ key_id: number; public_key: string }>;
            if (now.length !== was.length + 1 || now[0]!.key_id !== was[0]!.key_id + 1) fail('an accepted rotation did not add exactly one version', input, res);
            // The server stores the canonical export of the key it was sent.
            const canonical = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
            if (typeof body.public_key === 'string' && canonical(now[0]!.public_key) !== canonical(body.public_key)) fail('the rotated key is not the one sent', input, res);
          },
        },
        numRuns,
      );
    },
    timeoutFor(numRuns),
  );
});
