/** GET /metrics (B 12): Prometheus text, what operators need, never a username or a token. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, register, send, startApp, type TestApp } from './helpers.ts';

describe('GET /metrics with METRICS=on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ METRICS: 'on' });
  });
  afterAll(() => t.close());

  it('counts requests by route template, commits and cache lookups, and names no user, token or id', async () => {
    const alice = await register(t.app, 'metrics_alice_zq');
    const bob = await register(t.app, 'metrics_bob_zq');
    await send(t.app, alice, { recipient: bob.username, message: 'counted, never shown' });
    await call(t.app, 'GET', `/api/users/${bob.username}/public-key/`, { token: alice.token });

    const res = await call(t.app, 'GET', '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/^securechat_http_requests_total\{route="\/api\/messages\/send\/",method="POST",status="201"\} 1$/m);
    expect(text).toMatch(/^securechat_http_requests_total\{route="\/api\/users\/:username\/public-key\/",method="GET",status="200"\} 1$/m);
    expect(text).toMatch(/^securechat_messages_committed_total 1$/m);
    expect(text).toMatch(/^securechat_commit_batch_messages_count 1$/m);
    expect(text).toMatch(/^securechat_cache_lookups_total\{cache="sessions",result="hit"\} [1-9]/m);
    expect(text).toMatch(/^securechat_realtime_connections 0$/m);
    expect(text).toMatch(/^securechat_http_request_duration_seconds_bucket\{le="\+Inf",route="\/api\/messages\/send\/",method="POST"\} 1$/m);
    for (const secret of [alice.username, bob.username, alice.token, bob.token, 'counted, never shown']) expect(text).not.toContain(secret);
  });
});

describe('GET /metrics by default', () => {
  it('is a JSON 404, not the web page', async () => {
    const t = await startApp();
    try {
      const res = await call(t.app, 'GET', '/metrics');
      expect(res.statusCode).toBe(404);
      expect(res.json()).toHaveProperty('detail');
    } finally {
      await t.close();
    }
  });
});
