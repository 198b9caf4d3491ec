/** Health, readiness, OpenAPI and docs (Part B8), and what reaches the logs. */
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, call, captureStream, register, send, startApp, type TestApp } from './helpers.ts';

describe('operations endpoints', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('/healthz and /readyz answer without auth', async () => {
    expect((await call(t.app, 'GET', '/healthz')).json()).toEqual({ status: 'ok' });
    expect((await call(t.app, 'GET', '/readyz')).json()).toEqual({ status: 'ready' });
  });

  it('/readyz is 503 when the database is gone', async () => {
    const broken = await startApp();
    await broken.store.close();
    const res = await call(broken.app, 'GET', '/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json().detail).toMatch(/Database/);
    await broken.app.close();
  });

  it('/api/openapi.json is a valid OpenAPI 3 document covering every endpoint', async () => {
    const res = await call(t.app, 'GET', '/api/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    await SwaggerParser.validate(structuredClone(doc));
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/api/auth/login/', '/api/auth/logout-all/', '/api/auth/logout/', '/api/auth/password/', '/api/auth/register/', '/api/auth/sessions/',
        '/api/auth/sessions/{id}/', '/api/keys/', '/api/keys/rotate/', '/api/limits/', '/api/messages/', '/api/messages/send/',
        '/api/messages/{id}/', '/api/users/', '/api/users/{username}/public-key/', '/api/users/{username}/keys/', '/healthz', '/readyz',
        '/api/events/', '/api/ws/',
      ].sort(),
    );
    expect(doc.paths['/api/messages/send/'].post.requestBody.content['application/json'].schema.required).toEqual(['recipient']);
    expect(doc.components.schemas).toHaveProperty('Message');
    // Part B 11
    expect(doc.components.schemas.Message.properties).toHaveProperty('signature');
    expect(doc.components.schemas).toHaveProperty('KeyVersion');
    expect(Object.keys(doc.components.schemas.Envelope.properties)).toEqual(
      expect.arrayContaining(['signing_public_key', 'key_signature', 'encrypted_signing_key', 'signing_key_nonce']),
    );
    expect(doc.paths['/api/messages/send/'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('signature');
  });

  it('/api/docs/ serves the interactive docs', async () => {
    const res = await call(t.app, 'GET', '/api/docs/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/swagger/i);
  });
});

describe('logs', () => {
  it('never contain passwords, plaintext, attachments, tokens or private keys', async () => {
    const log = captureStream();
    const t = await startApp({ LOG_LEVEL: 'trace' }, log.stream);
    try {
      const password = 'hunter2-very-secret-password';
      const alice = await register(t.app, 'loggeduser', password);
      const plaintext = 'the plaintext that must not leak';
      const attachment = b64('attachment bytes that must not leak');
      await send(t.app, alice, { recipient: alice.username, message: plaintext, attachment_data: attachment });
      await call(t.app, 'GET', '/api/messages/', { headers: { authorization: `Bearer ${alice.token}` } });
      await call(t.app, 'POST', '/api/auth/login/', { body: { username: 'loggeduser', password } });
      await call(t.app, 'POST', '/api/auth/login/', { body: { username: 'loggeduser', password: `${password}-wrong` } });

      const output = log.text();
      expect(output).toContain('request completed'); // the capture works
      const completed = output.split('\n').filter((line) => line.includes('request completed')).map((line) => JSON.parse(line));
      expect(completed.length).toBeGreaterThanOrEqual(4);
      expect(completed.every((line) => typeof line.reqId === 'string' && line.reqId !== '')).toBe(true);
      for (const secret of [password, plaintext, attachment, alice.token, 'PRIVATE KEY', alice.profile.encrypted_private_key]) {
        expect(output).not.toContain(secret);
      }
    } finally {
      await t.close();
    }
  });

  it('at level warn, quiet requests log nothing and a failing one logs with its request id', async () => {
    const log = captureStream();
    const t = await startApp({ LOG_LEVEL: 'warn' }, log.stream);
    await call(t.app, 'GET', '/healthz');
    expect(log.text()).toBe('');
    await t.store.close();
    const res = await call(t.app, 'GET', '/readyz');
    expect(res.statusCode).toBe(503);
    const [line, ...rest] = log.text().trim().split('\n').map((text) => JSON.parse(text));
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ msg: 'database not reachable', reqId: expect.any(String) });
    await t.app.close();
  });
});
