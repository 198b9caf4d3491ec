/**
 * What an attacker without an account can make the server hold or do:
 * bodies are bounded per route and refused before they are read, large
 * bodies draw on a memory budget, slow bodies time out, and every body —
 * whatever its size or nesting — is parsed with one strictness.
 */
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyBudget } from '../src/http/body-budget.ts';
import { LINGER_MS } from '../src/http/linger.ts';
import { bodyDeadlineMs, BODY_IDLE_MS, sweepBodies, watchBody, type WatchedBody } from '../src/http/body-deadlines.ts';
import { b64, call, register, startApp, uniqueName, type Account, type TestApp } from './helpers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
let t: TestApp;
let port: number;
let alice: Account;
let bob: Account;

beforeAll(async () => {
  // A 4 MiB memory budget holds one 2 MiB attachment's send body (2.8 MB of JSON) and not two.
  t = await startApp({ MAX_ATTACHMENT_BYTES: String(3 * MiB), LARGE_BODY_MEMORY_BYTES: String(4 * MiB) });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as AddressInfo).port;
  [alice, bob] = [await register(t.app), await register(t.app)];
});
afterAll(() => t.close());

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
  /** Milliseconds from sending the headers to the first byte of the answer. */
  afterMs: number;
}

/** Sends `head` (and optionally the start of a body) on a raw socket and reads the answer without sending the rest. */
function rawRequest(head: string, bodyStart: Buffer = Buffer.alloc(0)): Promise<RawAnswer & { socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    let text = '';
    let firstByteAt = 0;
    socket.on('data', (chunk) => {
      firstByteAt ||= Date.now();
      text += chunk.toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      if (split !== -1 && length !== undefined && text.length >= split + 4 + Number(length)) {
        resolve({ status: Number(text.slice(9, 12)), headers: text.slice(0, split), body: text.slice(split + 4), afterMs: firstByteAt - started, socket });
      }
    });
    socket.on('error', reject);
    socket.write(head);
    if (bodyStart.length > 0) socket.write(bodyStart);
  });
}

const jsonHead = (path: string, length: number, extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe('body limits', () => {
  it('answers an announced 30 MB login body with 413 at once, without waiting for it, and closes the connection when the body stops', async () => {
    const answer = await rawRequest(jsonHead('/api/auth/login/', 30_000_000));
    const answeredAt = Date.now();
    const closedAt = new Promise<number>((resolve) => answer.socket.on('close', () => resolve(Date.now())));
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).detail).toMatch(/larger than/);
    expect(answer.afterMs).toBeLessThan(1000);
    const lingered = (await closedAt) - answeredAt;
    expect(lingered).toBeGreaterThanOrEqual(LINGER_MS - 100);
    expect(lingered).toBeLessThan(LINGER_MS + 3000);
  });

  it('reads on and drops the rest of a refused body, so a client still sending gets its 413, not a reset', async () => {
    const body = Buffer.alloc(3 * MiB, 0x20);
    const answer = await rawRequest(jsonHead('/api/auth/login/', body.length));
    expect(answer.status).toBe(413);
    answer.socket.write(body);
    let next = '';
    const health = new Promise<string>((resolve) =>
      answer.socket.on('data', (chunk) => {
        next += chunk.toString('latin1');
        if (next.includes('"status"')) resolve(next);
      }),
    );
    answer.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect((await health).slice(9, 12)).toBe('200'); // the same connection, still usable
    answer.socket.destroy();
  });

  it('refuses register and login bodies over 64 KiB, and creates no account', async () => {
    const username = uniqueName();
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password: 'uncommon-Pass-9', padding: 'x'.repeat(65 * KiB) } });
    expect(res.statusCode).toBe(413);
    const login = await call(t.app, 'POST', '/api/auth/login/', { body: { username, password: 'uncommon-Pass-9' } });
    expect(login.statusCode).toBe(401);
  });

  it('refuses a chunked body once it passes the route limit', async () => {
    const head = 'POST /api/auth/login/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const chunk = ' '.repeat(70 * KiB);
    const answer = await rawRequest(head, Buffer.from(`${chunk.length.toString(16)}\r\n${chunk}\r\n`));
    answer.socket.destroy();
    expect(answer.status).toBe(413);
  });

  it('checks the token before reading a send body: 401 without a valid one, however large the body', async () => {
    const answer = await rawRequest(jsonHead('/api/messages/send/', 4 * MiB, 'X-Auth-Token: not-a-token\r\n'));
    answer.socket.destroy();
    expect(answer.status).toBe(401);
  });

  it('still takes an attachment at the limit on the send route', async () => {
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: { recipient: bob.username, attachment_data: b64(Buffer.alloc(3 * MiB, 7)) } });
    expect(res.statusCode, res.body).toBe(201);
  });
});

describe('large bodies in flight share a memory budget', () => {
  it('answers 503 with Retry-After while the budget is held, and accepts again once it is free', async () => {
    const body = Buffer.from(JSON.stringify({ recipient: bob.username, attachment_data: b64(Buffer.alloc(2 * MiB, 1)) }));
    const held = connect(port, '127.0.0.1');
    held.write(jsonHead('/api/messages/send/', body.length, `X-Auth-Token: ${alice.token}\r\n`));
    held.write(body.subarray(0, body.length - 1)); // all but the last byte: its memory stays reserved
    await new Promise((resolve) => setTimeout(resolve, 200));

    const busy = await rawRequest(jsonHead('/api/messages/send/', body.length, `X-Auth-Token: ${bob.token}\r\n`));
    busy.socket.destroy();
    expect(busy.status).toBe(503);
    expect(busy.headers).toMatch(/retry-after: \d+/i);
    expect(JSON.parse(busy.body).detail).toMatch(/try again/i);
    // Small requests are not affected.
    expect((await call(t.app, 'GET', '/api/messages/', { token: bob.token })).statusCode).toBe(200);

    const finished = new Promise<string>((resolve) => held.on('data', (chunk) => resolve(chunk.toString('latin1'))));
    held.write(body.subarray(body.length - 1));
    expect((await finished).slice(9, 12)).toBe('201');
    held.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await call(t.app, 'POST', '/api/messages/send/', { token: bob.token, body: { recipient: alice.username, attachment_data: b64(Buffer.alloc(2 * MiB, 2)) } });
    expect(again.statusCode, again.body).toBe(201);
  });

  it('never reserves more than its capacity, and gives back what was taken', () => {
    const budget = new BodyBudget(10);
    expect(budget.tryReserve(6)).toBe(true);
    expect(budget.tryReserve(6)).toBe(false);
    budget.release(6);
    expect(budget.tryReserve(50)).toBe(true); // one body over the capacity takes all of it
    expect(budget.availableBytes).toBe(0);
    budget.release(50);
    expect(budget.availableBytes).toBe(10);
  });
});

describe('a body must keep arriving', () => {
  function fakeBody(startedAgoMs: number, idleMs: number, expectedBytes: number): WatchedBody & { settled: boolean; failure?: Error & { statusCode?: number } } {
    const now = Date.now();
    const body = {
      startedAt: now - startedAgoMs,
      lastChunkAt: now - idleMs,
      expectedBytes,
      settled: false,
      failure: undefined as (Error & { statusCode?: number }) | undefined,
      fail(error: Error) {
        body.failure = error;
        body.settled = true;
      },
    };
    return body;
  }

  it('fails a body with 408 when nothing arrived for the idle time, or when it is too slow overall', () => {
    const idle = fakeBody(BODY_IDLE_MS + 2000, BODY_IDLE_MS + 1000, 1000);
    const slow = fakeBody(bodyDeadlineMs(64 * KiB) + 1000, 10, 64 * KiB);
    const fine = fakeBody(5000, 10, 30 * MiB);
    for (const body of [idle, slow, fine]) watchBody(body);
    sweepBodies();
    expect(idle.failure?.statusCode).toBe(408);
    expect(idle.failure?.message).toMatch(/send it again/);
    expect(slow.failure?.statusCode).toBe(408);
    expect(fine.failure).toBeUndefined();
    fine.settled = true;
  });

  it('gives a 64 KiB body about 11 s and a 35 MB attachment minutes', () => {
    expect(bodyDeadlineMs(64 * KiB)).toBe(11_000);
    expect(bodyDeadlineMs(35_000_000) / 60_000).toBeGreaterThan(5);
  });
});

describe('one strictness for every body', () => {
  const deep = (levels: number, inner: string) => '['.repeat(levels) + inner + ']'.repeat(levels);

  it.each(['/api/auth/login/', '/api/auth/register/'])('answers 400, not 500, to deep nesting with a 16 KiB string on %s', async (path) => {
    const body = `{"username":"x","password":"y","a":${deep(5000, JSON.stringify('z'.repeat(17 * KiB)))}}`;
    const res = await call(t.app, 'POST', path, { body });
    expect(res.statusCode).toBeLessThan(500);
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(typeof res.json().detail).toBe('string');
  });

  it.each([
    ['small', 10],
    ['large', 20 * KiB],
  ])('refuses a raw control character inside a string of a %s body', async (_size, length) => {
    const username = uniqueName();
    const body = `{"username":"${username}","password":"uncommon-Pass-9","note":"${'a'.repeat(length)}\u0001"}`;
    const res = await call(t.app, 'POST', '/api/auth/register/', { body });
    expect(res.statusCode).toBe(400);
    expect((await call(t.app, 'POST', '/api/auth/login/', { body: { username, password: 'uncommon-Pass-9' } })).statusCode).toBe(401);
  });

  it.each([
    ['small', 10],
    ['large', 20 * KiB],
  ])('refuses invalid UTF-8 in a %s body instead of replacing it', async (_size, length) => {
    const username = uniqueName();
    const text = `{"username":"${username}","password":"uncommon-Pass-\u00ff","note":"${'a'.repeat(length)}"}`;
    const bytes = Buffer.from(text, 'utf8');
    const at = bytes.indexOf(0xc3); // the first byte of ÿ: a lone continuation byte follows instead of a valid pair
    bytes[at] = 0xff;
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/register/', headers: { 'content-type': 'application/json' }, payload: bytes });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/UTF-8/);
  });

  it('refuses a body whose JSON outside long strings is over 2 MiB, before parsing it', async () => {
    const keys = Array.from({ length: 250_000 }, (_, i) => `"k${i}":0`).join(',');
    const body = `{"recipient":"${bob.username}","message":"hi",${keys}}`;
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body });
    expect(res.statusCode).toBe(413);
  });
});

describe('headers on every answer', () => {
  it.each([
    ['GET', '/healthz', undefined],
    ['GET', '/api/messages/', 'token'],
    ['GET', '/api/messages/', undefined],
    ['GET', '/api/no-such-thing/', undefined],
  ])('%s %s (token: %s) carries nosniff and no-store', async (method, url, token) => {
    const res = await call(t.app, method, url, { token: token ? alice.token : undefined });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('marks the login answer, which carries a token and a key envelope, no-store', async () => {
    const res = await call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username, password: alice.password } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
