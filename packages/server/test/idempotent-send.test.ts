/**
 * Idempotent send (API B10): a sender's client_id names one message. A retry
 * with the same body is answered 200 with the original and stores nothing;
 * another body is a 409; concurrent duplicates are decided by the database
 * (one 201), on the writer thread (database file) as on :memory:.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveLoginSecret, encryptMessage, generateKeyPair, importPublicKey, sealPrivateKey, type Message } from '@securechat/protocol';
import { openStore, type NewMessage } from '../src/store/index.ts';
import { b64, call, decryptAs, envelopesOf, register, startApp, uniqueName, type Account, type TestApp } from './helpers.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function databaseFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-idempotent-'));
  dirs.push(dir);
  return `sqlite:${join(dir, 'db.sqlite')}`;
}

const sendAs = (t: TestApp, from: Account, body: Record<string, unknown>) => call(t.app, 'POST', '/api/messages/send/', { token: from.token, body });

async function mailbox(t: TestApp, account: Account, direction: 'inbox' | 'sent'): Promise<Message[]> {
  const res = await call(t.app, 'GET', `/api/messages/?direction=${direction}&limit=200`, { token: account.token });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function rowCount(t: TestApp): Promise<number> {
  const { count } = await t.store.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
  return Number(count);
}

/** An end-to-end account (client-made keys) and what it sends to `to`. */
async function registerE2e(t: TestApp): Promise<Account> {
  const username = uniqueName('e2e');
  const password = 'e2e-password';
  const pair = await generateKeyPair();
  const sealed = await sealPrivateKey(pair.privateKey, password, { iterations: 100_000 });
  const res = await call(t.app, 'POST', '/api/auth/register/', {
    body: { username, password: await deriveLoginSecret(username, password), public_key: pair.publicKey, ...sealed },
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  return { id: body.user.id, username, password, token: body.token, profile: body.profile };
}

async function encryptFor(t: TestApp, from: Account, to: Account, plain: { text?: string; attachment?: Uint8Array }) {
  const recipient = (await call(t.app, 'GET', `/api/users/${to.username}/public-key/`, { token: from.token })).json();
  const own = (await envelopesOf(t.app, from))[0]!;
  const fields = await encryptMessage(plain, { recipient: await importPublicKey(recipient.public_key), sender: await importPublicKey(own.public_key) });
  return { recipient: to.username, key_id: recipient.key_id as number, sender_key_id: own.key_id, ...fields };
}

describe('idempotent send on :memory:', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let carol: Account;
  beforeAll(async () => {
    t = await startApp();
    [alice, bob, carol] = await Promise.all([register(t.app), register(t.app), register(t.app)]);
  });
  afterAll(() => t.close());

  it('a message sent without client_id carries client_id null, in every answer', async () => {
    const sent = await sendAs(t, alice, { recipient: bob.username, message: 'no id' });
    expect(sent.statusCode).toBe(201);
    expect(sent.json().client_id).toBeNull();
    const again = await sendAs(t, alice, { recipient: bob.username, message: 'no id' });
    expect(again.statusCode).toBe(201); // without client_id every send is a new message
    expect(again.json().id).not.toBe(sent.json().id);
    const byId = await call(t.app, 'GET', `/api/messages/${sent.json().id}/`, { token: bob.token });
    expect(byId.json().client_id).toBeNull();
    expect((await mailbox(t, bob, 'inbox')).find((m) => m.id === sent.json().id)?.client_id).toBeNull();
  });

  it('a retry is answered 200 with the original message (same id, same ciphertext); nothing new is stored', async () => {
    const client_id = randomUUID();
    const body = { recipient: bob.username, message: 'exactly once', client_id };
    const first = await sendAs(t, alice, body);
    expect(first.statusCode).toBe(201);
    const original = first.json();
    expect(original.client_id).toBe(client_id);
    const [inboxBefore, sentBefore, rowsBefore] = [await mailbox(t, bob, 'inbox'), await mailbox(t, alice, 'sent'), await rowCount(t)];

    for (let i = 0; i < 2; i++) {
      const retry = await sendAs(t, alice, body);
      expect(retry.statusCode).toBe(200);
      expect(retry.json()).toEqual(original);
    }
    expect(await rowCount(t)).toBe(rowsBefore);
    expect(await mailbox(t, bob, 'inbox')).toEqual(inboxBefore);
    expect(await mailbox(t, alice, 'sent')).toEqual(sentBefore);
    expect(inboxBefore.filter((m) => m.client_id === client_id)).toHaveLength(1);
    // The original decrypts as before.
    expect((await decryptAs(bob, await envelopesOf(t.app, bob), original)).text).toBe('exactly once');
    const byId = await call(t.app, 'GET', `/api/messages/${original.id}/`, { token: alice.token });
    expect(byId.json()).toEqual(original);
  });

  type Body = Record<string, unknown>;
  it.each<[string, (b: Body) => Body]>([
    ['another recipient', (b) => ({ ...b, recipient: 'CAROL' })],
    ['a text of another length', (b) => ({ ...b, message: 'hello world!' })],
    ['another attachment name', (b) => ({ ...b, attachment_name: 'other.txt' })],
    ['another attachment type', (b) => ({ ...b, attachment_mime: 'text/html' })],
    ['an attachment of another length', (b) => ({ ...b, attachment_data: b64('abcd') })],
    ['no attachment', ({ attachment_data: _, attachment_name: __, attachment_mime: ___, ...b }) => b],
  ])('plaintext: the same client_id with %s is a 409, and nothing is stored', async (_, change) => {
    const client_id = randomUUID();
    const body = { recipient: bob.username, message: 'hello world', attachment_data: b64('abc'), attachment_name: 'a.txt', attachment_mime: 'text/plain', client_id };
    expect((await sendAs(t, alice, body)).statusCode).toBe(201);
    const rows = await rowCount(t);
    const changed = change(body);
    if (changed.recipient === 'CAROL') changed.recipient = carol.username;
    const res = await sendAs(t, alice, changed);
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().detail).toMatch(/client_id was already used for a different message/);
    expect(await rowCount(t)).toBe(rows);
  });

  it('plaintext: a retry whose text changed but kept its length gets the original (the digest holds nothing secret)', async () => {
    const client_id = randomUUID();
    const first = await sendAs(t, alice, { recipient: bob.username, message: 'attack at dawn', client_id });
    const retry = await sendAs(t, alice, { recipient: bob.username.toUpperCase(), message: 'attack at dusk', client_id });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(first.json());
    expect((await decryptAs(bob, await envelopesOf(t.app, bob), retry.json())).text).toBe('attack at dawn');
  });

  it('the database holds no digest of a plaintext: it is the same for any text of that length', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await sendAs(t, alice, { recipient: bob.username, message: 'yes', client_id: a });
    await sendAs(t, alice, { recipient: bob.username, message: 'no!', client_id: b });
    const digests = await t.store.db.selectFrom('messages').select(['client_id', 'request_digest']).where('client_id', 'in', [a, b]).execute();
    expect(digests).toHaveLength(2);
    expect(digests[0]!.request_digest).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(digests[0]!.request_digest).toBe(digests[1]!.request_digest);
  });

  it('client_id is scoped to its sender: another sender may use the same value', async () => {
    const client_id = randomUUID();
    const fromAlice = await sendAs(t, alice, { recipient: bob.username, message: 'from alice', client_id });
    const fromCarol = await sendAs(t, carol, { recipient: bob.username, message: 'from carol', client_id });
    expect([fromAlice.statusCode, fromCarol.statusCode]).toEqual([201, 201]);
    expect(fromCarol.json().id).not.toBe(fromAlice.json().id);
    expect(fromCarol.json().client_id).toBe(client_id);
    // And each one's retry finds its own.
    const retry = await sendAs(t, carol, { recipient: bob.username, message: 'from carol', client_id });
    expect([retry.statusCode, retry.json().id]).toEqual([200, fromCarol.json().id]);
  });

  it.each([
    ['upper case', randomUUID().toUpperCase()],
    ['no hyphens', randomUUID().replaceAll('-', '')],
    ['braces', `{${randomUUID()}}`],
    ['35 characters', randomUUID().slice(1)],
    ['37 characters', randomUUID() + '0'],
    ['a non-hex digit', 'g' + randomUUID().slice(1)],
    ['hyphens out of place', '1234567-81234-1234-1234-123456789abc'],
    ['surrounding space', ` ${randomUUID()}`],
    ['a trailing newline', `${randomUUID()}\n`],
    ['an empty string', ''],
    ['a number', 12345],
    ['null', null],
    ['an object', { id: randomUUID() }],
  ])('client_id with %s is a 400 with a clear sentence, and nothing is stored', async (_, client_id) => {
    const rows = await rowCount(t);
    const res = await sendAs(t, alice, { recipient: bob.username, message: 'hi', client_id });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/client_id/);
    expect(await rowCount(t)).toBe(rows);
  });

  it('a refused send (400) leaves its client_id unused', async () => {
    const client_id = randomUUID();
    expect((await sendAs(t, alice, { recipient: 'nobody-here', message: 'hi', client_id })).statusCode).toBe(400);
    expect((await sendAs(t, alice, { recipient: bob.username, message: '', client_id })).statusCode).toBe(400);
    expect((await sendAs(t, alice, { recipient: bob.username, message: 'now', client_id })).statusCode).toBe(201);
  });

  it('10 concurrent sends with one client_id: one 201, nine 200 with the same message, one row', async () => {
    const client_id = randomUUID();
    const rows = await rowCount(t);
    const results = await Promise.all(Array.from({ length: 10 }, () => sendAs(t, alice, { recipient: bob.username, message: 'racing', client_id })));
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(await rowCount(t)).toBe(rows + 1);
  });

  it('concurrent sends with one client_id and different bodies: one 201, the others 409', async () => {
    const client_id = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => sendAs(t, alice, { recipient: bob.username, message: 'x'.repeat(i + 1), client_id })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it('documents 200 and 409 for the send route in OpenAPI, and client_id on Message', async () => {
    const doc = (await call(t.app, 'GET', '/api/openapi.json')).json();
    const send = doc.paths['/api/messages/send/'].post;
    expect(Object.keys(send.responses)).toEqual(expect.arrayContaining(['200', '201', '409']));
    expect(send.requestBody.content['application/json'].schema.properties.client_id).toBeDefined();
    expect(doc.components.schemas.Message.properties.client_id).toBeDefined();
    expect(doc.components.schemas.Message.required).toContain('client_id');
  });
});

describe('idempotent send, end-to-end ciphertext', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let carol: Account;
  beforeAll(async () => {
    t = await startApp();
    [alice, bob, carol] = await Promise.all([registerE2e(t), registerE2e(t), registerE2e(t)]);
  });
  afterAll(() => t.close());

  it('a retry gets the original; another ciphertext or recipient is a 409 with nothing stored', async () => {
    const client_id = randomUUID();
    const body = { ...(await encryptFor(t, alice, bob, { text: 'sealed' })), client_id };
    const first = await sendAs(t, alice, body);
    expect(first.statusCode, first.body).toBe(201);
    const retry = await sendAs(t, alice, body);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(first.json());

    const rows = await rowCount(t);
    const reencrypted = { ...(await encryptFor(t, alice, bob, { text: 'sealed' })), client_id };
    expect((await sendAs(t, alice, reencrypted)).statusCode).toBe(409);
    const toCarol = { ...(await encryptFor(t, alice, carol, { text: 'sealed' })), client_id };
    expect((await sendAs(t, alice, toCarol)).statusCode).toBe(409);
    const renamed = { ...body, message_nonce: b64(randomBytes(12)) };
    expect((await sendAs(t, alice, renamed)).statusCode).toBe(409);
    expect(await rowCount(t)).toBe(rows);
  });

  it('a retry after the recipient rotated its key still gets the original (checked before the keys)', async () => {
    const client_id = randomUUID();
    const body = { ...(await encryptFor(t, alice, carol, { text: 'before the rotation' })), client_id };
    const first = await sendAs(t, alice, body);
    expect(first.statusCode).toBe(201);
    const pair = await generateKeyPair();
    const rotated = await call(t.app, 'POST', '/api/keys/rotate/', {
      token: carol.token,
      body: { password: await deriveLoginSecret(carol.username, carol.password), public_key: pair.publicKey, ...(await sealPrivateKey(pair.privateKey, carol.password, { iterations: 100_000 })) },
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const retry = await sendAs(t, alice, body);
    expect(retry.statusCode).toBe(200);
    expect(retry.json().id).toBe(first.json().id);
    // Without a client_id the same body is refused: its key_id is no longer current.
    const { client_id: _, ...plain } = body;
    expect((await sendAs(t, alice, plain)).statusCode).toBe(400);
  });

  it('a large (≥ 1 MiB) attachment with client_id: retry 200 with the same bytes, concurrent duplicates one row', async () => {
    const client_id = randomUUID();
    const body = { ...(await encryptFor(t, alice, bob, { attachment: randomBytes(1536 * 1024) })), attachment_name: 'big.bin', attachment_mime: 'application/octet-stream', client_id };
    const rows = await rowCount(t);
    const results = await Promise.all([sendAs(t, alice, body), sendAs(t, alice, body), sendAs(t, alice, body)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 201]);
    const original = results.find((r) => r.statusCode === 201)!.json();
    expect(original.encrypted_attachment).toBe(body.encrypted_attachment);
    for (const r of results) expect(r.json()).toEqual(original);
    const retry = await sendAs(t, alice, body);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(original);
    expect(await rowCount(t)).toBe(rows + 1);
    const changed = { ...body, encrypted_attachment: (body.encrypted_attachment as string).replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) };
    expect((await sendAs(t, alice, changed)).statusCode).toBe(409);
  });
});

describe('idempotent send on a database file (writer thread)', () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  beforeAll(async () => {
    t = await startApp({ DATABASE_URL: databaseFile() });
    [alice, bob] = await Promise.all([register(t.app), register(t.app)]);
  });
  afterAll(() => t.close());

  it('10 concurrent sends with one client_id: one 201, nine 200 with the same message, one row', async () => {
    const client_id = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => sendAs(t, alice, { recipient: bob.username, message: 'racing on disk', client_id })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const original = results.find((r) => r.statusCode === 201)!.json();
    for (const r of results) expect(r.json()).toEqual(original);
    expect((await mailbox(t, bob, 'inbox')).filter((m) => m.client_id === client_id)).toHaveLength(1);
    expect(await rowCount(t)).toBe(1);
  });

  it('a large plaintext attachment with client_id: one row; a retry of another size is a 409', async () => {
    const client_id = randomUUID();
    const data = b64(randomBytes(1024 * 1024 + 5));
    const body = { recipient: bob.username, attachment_data: data, attachment_name: 'big.bin', client_id };
    const results = await Promise.all([sendAs(t, alice, body), sendAs(t, alice, body)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 201]);
    expect(results[0]!.json()).toEqual(results[1]!.json());
    const retry = await sendAs(t, alice, body);
    expect([retry.statusCode, retry.json().id]).toEqual([200, results[0]!.json().id]);
    expect((await sendAs(t, alice, { ...body, attachment_data: b64(randomBytes(1024 * 1024 + 6)) })).statusCode).toBe(409);
  });
});

describe('the store decides between duplicates inside one group commit', () => {
  const row = (senderId: number, recipientId: number, clientId: string | null, digest: string | null, text: string): NewMessage => ({
    sender_id: senderId, recipient_id: recipientId, key_id: 1, sender_key_id: 1, encrypted_symmetric_key: 'k', sender_encrypted_symmetric_key: 'k',
    encrypted_message: text, message_nonce: 'n', encrypted_attachment: '', attachment_nonce: '', attachment_name: '', attachment_mime: '',
    has_attachment: 0, sent_at: new Date().toISOString(), client_id: clientId, request_digest: digest,
  });

  it.each([['sqlite::memory:'], ['a database file']])('on %s: one row per (sender, client_id); the others of the batch still commit', async (which) => {
    const store = await openStore(which === 'sqlite::memory:' ? which : databaseFile());
    try {
      const users = await Promise.all(['s1', 's2'].map((name, i) =>
        store.db.insertInto('users').values({ username: name, username_lower: name, password_hash: 'x', current_key_id: 1, created_at: `t${i}` }).returning('id').executeTakeFirstOrThrow(),
      ));
      const [a, b] = users.map((u) => u.id) as [number, number];
      const id = randomUUID();
      // One batch: all submitted in the same turn.
      const outcomes = await Promise.all([
        store.messages.insert(row(a, b, id, 'd1', 'first')),
        store.messages.insert(row(a, b, null, null, 'no id')),
        store.messages.insert(row(a, b, id, 'd1', 'same again')),
        store.messages.insert(row(a, b, id, 'd2', 'other body')),
        store.messages.insert(row(b, a, id, 'd3', 'another sender')),
        store.messages.insert(row(a, b, null, null, 'no id again')),
      ]);
      const [first, none, same, other, elsewhere, none2] = outcomes;
      expect(typeof first).toBe('number');
      expect(typeof none).toBe('number');
      expect(same).toEqual({ existingId: first, sameRequest: true });
      expect(other).toEqual({ existingId: first, sameRequest: false });
      expect(typeof elsewhere).toBe('number');
      expect(typeof none2).toBe('number');
      const texts = (await store.db.selectFrom('messages').select('encrypted_message').orderBy('id').execute()).map((r) => r.encrypted_message);
      expect(texts).toEqual(['first', 'no id', 'another sender', 'no id again']);
      expect(await store.messages.findByClientId(a, id)).toEqual({ id: first, request_digest: 'd1' });
      expect(await store.messages.findByClientId(a, randomUUID())).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
