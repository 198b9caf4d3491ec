/**
 * Property-based fuzzing of what every route shares: /healthz and /readyz,
 * unknown paths and methods, and the token headers. See fuzz-arbitraries.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAnswer, clientKeyFields, expectStatus, fail, queryCase, queryString, runs, timeoutFor } from './fuzz-arbitraries.ts';
import { call, startApp, type TestApp } from './helpers.ts';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await startApp();
  const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username: `paths_${process.pid}`, password: `Fz-${process.pid}-paths-qv7Lw`, ...clientKeyFields() } });
  expect(res.statusCode, res.body).toBe(201);
  token = res.json().token;
});
afterAll(() => t.close());

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;

/** [method, path] of every route; any other method on these paths is unknown. */
const ROUTES: Array<[string, string]> = [
  ['POST', '/api/auth/register/'], ['POST', '/api/auth/login/'], ['POST', '/api/auth/logout/'], ['POST', '/api/auth/logout-all/'], ['POST', '/api/auth/password/'],
  ['GET', '/api/auth/sessions/'], ['DELETE', '/api/auth/sessions/1/'], ['GET', '/api/users/'], ['GET', '/api/users/x/public-key/'], ['GET', '/api/keys/'],
  ['POST', '/api/keys/rotate/'], ['POST', '/api/messages/send/'], ['GET', '/api/messages/'], ['GET', '/api/messages/1/'], ['GET', '/healthz'], ['GET', '/readyz'],
];

describe('/healthz and /readyz', () => {
  const numRuns = runs(40);
  it(
    'answer 200 with a status whatever the query, headers or body',
    async () => {
      const headerCase = fc.dictionary(
        fc.constantFrom('x-auth-token', 'authorization', 'content-type', 'accept', 'x-forwarded-for', 'cookie', 'origin'),
        fc.constantFrom('', 'junk', 'f'.repeat(64), 'Bearer x', 'application/json', 'text/plain', '*/*', '1.2.3.4, ::1', 'x'.repeat(4000)),
        { maxKeys: 3 },
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('/healthz', '/readyz', '/healthz/', '/readyz/'), queryCase(['verbose', 'full', 'check']), headerCase, async (path, pairs, headers) => {
          const url = `${path}${queryString(pairs)}`;
          const res = await t.app.inject({ method: 'GET', url, headers });
          const input = { url, headers };
          checkAnswer(res, input);
          expectStatus(res, 200, input, 'health checks always answer');
          if (typeof res.json().status !== 'string') fail('no status in the health answer', input, res);
        }),
        { numRuns },
      );
    },
    timeoutFor(numRuns),
  );
});

/** GET/HEAD outside /api, /healthz, /readyz and /assets answered with the web client's page. */
function isWebPage(method: string, url: string, res: { statusCode: number; headers: Record<string, unknown> }): boolean {
  const pagePath = !/^\/(api(\/|$)|healthz|readyz|assets\/)/.test(url);
  return (method === 'GET' || method === 'HEAD') && pagePath && res.statusCode === 200 && String(res.headers['content-type']).startsWith('text/html');
}

describe('unknown paths and methods', () => {
  const numRuns = runs(80);
  it(
    'answer a JSON 4xx with a detail (404 for an unknown path), never a 5xx',
    async () => {
      const segment = fc.oneof(
        fc.constantFrom(
          'api', 'auth', 'users', 'messages', 'keys', 'sessions', 'send', 'docs', 'openapi.json', 'healthz', '..', '.', '', '%2e%2e', '%2F', '%00', '%ZZ', '%', '%ED%A0%80',
          '%C0%AF', '%E2%84%AA', '__proto__', 'constructor', 'x'.repeat(120), '1', '99999999999999999999', 'public-key', 'rotate', 'index.html', 'static',
        ),
        fc.string({ maxLength: 8 }).map(encodeURIComponent),
      );
      const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((segments) => `/${segments.join('/')}`);
      const prefixed = fc.tuple(fc.constantFrom('', '/api', '/api/auth', '/api/users', '/api/messages', '/api/docs', '/api/keys'), path).map(([prefix, rest]) => `${prefix}${rest}`);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...METHODS), prefixed, fc.boolean(), async (method, url, withBody) => {
          const known = ROUTES.some(([m, p]) => (m === method || (method === 'HEAD' && m === 'GET')) && (url === p || `${url}/` === p));
          if (known) return;
          const res = await t.app.inject({
            method,
            url,
            headers: { 'x-auth-token': token, ...(withBody ? { 'content-type': 'application/json' } : {}) },
            ...(withBody && method !== 'GET' && method !== 'HEAD' ? { payload: '{"a":1}' } : {}),
          });
          const input = { method, url, withBody };
          checkAnswer(res, input, method);
          // The docs UI and the OpenAPI document live under /api/docs and /api/openapi.json; everything else is unknown.
          if (url.startsWith('/api/docs') || url.startsWith('/api/openapi.json')) return;
          // Dot segments are resolved before routing (/api/auth/../users is /api/users): only the answer's shape is checked.
          if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(url)) return;
          // Any other page path is the web client's (when it is built): its index.html, never an API answer.
          if (isWebPage(method, url, res)) return;
          if (res.statusCode < 400) fail(`an unknown path answered ${res.statusCode}`, input, res);
          if (method !== 'HEAD' && !/%(?![0-9A-Fa-f]{2})|%ED%A0|%C0|x{120}/.test(url)) expectStatus(res, 404, input, 'an unknown path or method');
        }),
        { numRuns, examples: [['GET', '/api/nothing-here/', false], ['PUT', '/api/messages/send/', true]] },
      );
    },
    timeoutFor(numRuns),
  );
});

describe('token headers', () => {
  const numRuns = runs(60);
  it(
    'only the exact token (X-Auth-Token, or Authorization: Bearer) authenticates; everything else is a JSON 401',
    async () => {
      type Variant = { header: 'x-auth-token' | 'authorization'; value: string; valid: boolean | 'either' };
      const variants = fc.oneof(
        fc.constantFrom<Variant>(
          { header: 'x-auth-token', value: token, valid: true },
          { header: 'authorization', value: `Bearer ${token}`, valid: true },
          { header: 'authorization', value: `bearer ${token}`, valid: true },
          { header: 'x-auth-token', value: ` ${token} `, valid: 'either' },
          { header: 'authorization', value: `Bearer  ${token}  `, valid: 'either' },
          { header: 'x-auth-token', value: token.toUpperCase(), valid: false },
          { header: 'x-auth-token', value: token.slice(0, -1), valid: false },
          { header: 'x-auth-token', value: `${token}0`, valid: false },
          { header: 'x-auth-token', value: `${token.slice(0, -1)}g`, valid: false },
          { header: 'x-auth-token', value: 'f'.repeat(64), valid: false },
          { header: 'x-auth-token', value: 'x'.repeat(8000), valid: false },
          { header: 'x-auth-token', value: `Bearer ${token}`, valid: false },
          { header: 'authorization', value: token, valid: false },
          { header: 'authorization', value: `Basic ${Buffer.from(`a:${token}`).toString('base64')}`, valid: false },
          { header: 'authorization', value: 'Bearer', valid: false },
          { header: 'authorization', value: 'Bearer ', valid: false },
          { header: 'authorization', value: `Bearer ${token} extra`, valid: false },
          { header: 'authorization', value: `Token ${token}`, valid: false },
          { header: 'x-auth-token', value: '', valid: false },
          { header: 'x-auth-token', value: "' OR 1=1 --", valid: false },
        ),
        fc.string({ maxLength: 80, unit: 'binary-ascii' }).filter((s) => /^[\x20-\x7e]*$/.test(s) && s.trim() !== token).map((value): Variant => ({ header: 'x-auth-token', value, valid: false })),
      );
      const routes = fc.constantFrom(...ROUTES.filter(([m, p]) => m === 'GET' && p.startsWith('/api/')));
      let ok = 0;
      await fc.assert(
        fc.asyncProperty(variants, routes, async (variant, [method, url]) => {
          const res = await t.app.inject({ method: method as 'GET', url, headers: { [variant.header]: variant.value } });
          const input = { variant: { ...variant, value: variant.value.length > 100 ? `${variant.value.slice(0, 100)}…` : variant.value }, url };
          checkAnswer(res, input);
          if (variant.valid === true) {
            if (res.statusCode === 401) fail('the valid token was refused', input, res);
            ok += 1;
          } else if (variant.valid === false) expectStatus(res, 401, input, 'not the token');
          else expectStatus(res, [200, 401, 404], input, 'a padded token');
        }),
        { numRuns, examples: [[{ header: 'x-auth-token', value: token, valid: true }, ['GET', '/api/keys/']]] },
      );
      expect(ok).toBeGreaterThan(0);
    },
    timeoutFor(numRuns),
  );
});
