import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startApp, type TestApp } from './helpers.ts';

const CSP = "default-src 'none';script-src 'self';style-src 'self';img-src 'self' blob:;connect-src 'self';frame-ancestors 'none';base-uri 'none';form-action 'self'";

describe('the web client at /', () => {
  let root: string;
  let t: TestApp;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'securechat-web-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>SecureChat</title><script type="module" src="/assets/app-1a2b.js"></script>');
    writeFileSync(join(root, 'assets', 'app-1a2b.js'), 'console.log("app")');
    t = await startApp({ WEB_ROOT: root });
  });
  afterAll(async () => {
    await t.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at / and at any page path, under the strict CSP, revalidated on every load', async () => {
    for (const url of ['/', '/chat/bob']) {
      const res = await call(t.app, 'GET', url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('<title>SecureChat</title>');
      expect(res.headers['content-security-policy']).toBe(CSP);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves hashed assets with a year-long immutable cache', async () => {
    const res = await call(t.app, 'GET', '/assets/app-1a2b.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toBe(CSP);
  });

  it('answers unknown API, operations and asset paths with the JSON 404, not the page', async () => {
    for (const url of ['/api/nothing-here/', '/api', '/assets/missing.js']) {
      const res = await call(t.app, 'GET', url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toEqual({ detail: 'Not found.' });
    }
  });

  it('leaves the API as it was: JSON, no-store, and tells clients its attachment limit', async () => {
    const res = await call(t.app, 'GET', '/api/limits/');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ max_attachment_bytes: 25 * 1024 * 1024 });
    expect(res.headers['cache-control']).toBe('no-store');
  });
});

describe('a server whose web client is not built', () => {
  it('says at / what to run, and still serves the API', async () => {
    const t = await startApp({ WEB_ROOT: join(tmpdir(), 'securechat-no-such-dir') });
    try {
      const page = await call(t.app, 'GET', '/');
      expect(page.statusCode).toBe(404);
      expect(page.json().detail).toMatch(/not built.*npm run build/);
      expect((await call(t.app, 'GET', '/healthz')).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
