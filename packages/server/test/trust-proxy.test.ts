/**
 * TRUST_PROXY with the proxies' addresses: the client IP is the nearest
 * address that is not a trusted proxy, so a client cannot dodge the auth
 * rate limit by forging X-Forwarded-For (with `true` it could, unless the
 * proxy replaces the header).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startApp, type TestApp } from './helpers.ts';

describe('TRUST_PROXY', () => {
  it('takes true, false, a hop count or the proxies addresses, and says what it wants otherwise', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,loopback' }).trustProxy).toBe('127.0.0.1,10.0.0.0/8,loopback');
    expect(() => loadConfig({ TRUST_PROXY: 'nginx.internal' })).toThrow(/TRUST_PROXY must be true, false, a number of proxy hops, or the proxies' addresses/);
  });

  describe.each([['the proxy address listed', '127.0.0.1'], ['one proxy hop', '1']])('with %s', (_name, trustProxy) => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ TRUST_PROXY: trustProxy, RATE_LIMIT_AUTH_PER_MIN: '2' });
    });
    afterAll(() => t.close());

    it('counts a client that forges X-Forwarded-For by the address the proxy saw', async () => {
      const statuses: number[] = [];
      for (const forged of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/auth/login/',
          remoteAddress: '127.0.0.1',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `${forged}, 203.0.113.9` },
          payload: JSON.stringify({ username: 'nobody', password: 'not-a-real-password-9' }),
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([401, 401, 429]);
      // Another real client (another address in front of the proxy) has its own budget.
      const other = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login/',
        remoteAddress: '127.0.0.1',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.10' },
        payload: JSON.stringify({ username: 'nobody', password: 'not-a-real-password-9' }),
      });
      expect(other.statusCode).toBe(401);
    });
  });
});
