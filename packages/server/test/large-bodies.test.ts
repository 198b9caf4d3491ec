/**
 * Bodies of a megabyte and more: their base64 attachment is kept as bytes
 * (http/large-json.ts), decoded and encrypted a slice at a time, committed on
 * the writer thread and spliced into responses. Everything a client can see
 * must be exactly as for small bodies.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptMessage, importPublicKey } from '@securechat/protocol';
import { b64, call, decryptAs, envelopesOf, register, send, startApp, type Account, type TestApp } from './helpers.ts';

const MiB = 1024 * 1024;
let dir: string;
let t: TestApp;
let alice: Account;
let bob: Account;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'large-'));
  // A database file, so inserts take the writer thread as in production.
  t = await startApp({ DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` });
  [alice, bob] = [await register(t.app), await register(t.app)];
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

function storedMessageCount(): number {
  const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function expectRefused(body: unknown, status: number, field?: string) {
  const before = storedMessageCount();
  const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body });
  expect(res.statusCode, res.body).toBe(status);
  if (field) expect(res.json().errors).toHaveProperty(field);
  expect(storedMessageCount()).toBe(before);
}

describe('a 3 MiB attachment', () => {
  const bytes = randomBytes(3 * MiB + 1); // not a multiple of 3: the base64 ends in padding

  it('arrives byte-exact by id and in a page, and is stored as base64 text', async () => {
    const sent = await send(t.app, alice, { recipient: bob.username, message: 'big one', attachment_data: b64(bytes), attachment_name: 'a.bin' });
    const byId = (await call(t.app, 'GET', `/api/messages/${sent.id}/`, { token: bob.token })).json();
    const page = (await call(t.app, 'GET', '/api/messages/?limit=1', { token: bob.token })).json();
    expect(byId).toEqual(sent);
    expect(page).toEqual([sent]);
    const plain = await decryptAs(bob, await envelopesOf(t.app, bob), byId);
    expect(plain.text).toBe('big one');
    expect(Buffer.from(plain.attachment!).equals(bytes)).toBe(true);

    const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
    const row = db.prepare('SELECT typeof(encrypted_attachment) AS type, encrypted_attachment FROM messages WHERE id = ?').get(sent.id) as { type: string; encrypted_attachment: string };
    db.close();
    expect(row).toEqual({ type: 'text', encrypted_attachment: sent.encrypted_attachment });
  });

  it('is accepted with JSON-escaped slashes, as some encoders write them', async () => {
    const body = JSON.stringify({ recipient: bob.username, attachment_data: b64(bytes) }).replaceAll('/', '\\/');
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body });
    expect(res.statusCode, res.body).toBe(201);
    const plain = await decryptAs(bob, await envelopesOf(t.app, bob), res.json());
    expect(Buffer.from(plain.attachment!).equals(bytes)).toBe(true);
  });

  it.each([
    ['a character outside the alphabet', (text: string) => text.slice(0, MiB) + '!' + text.slice(MiB + 1)],
    ['padding in the middle', (text: string) => text.slice(0, MiB) + '====' + text.slice(MiB + 4)],
    ['the URL-safe alphabet', (text: string) => text.replaceAll('+', '-')],
    ['a length that is not a multiple of 4', (text: string) => text.slice(0, -5)],
  ])('with %s is refused with 400 and stores nothing', async (_, corrupt) => {
    await expectRefused({ recipient: bob.username, attachment_data: corrupt(b64(bytes)) }, 400, 'attachment_data');
  });

  it('is end-to-end ciphertext stored exactly as sent, and the recipient decrypts it', async () => {
    const recipientKey = (await call(t.app, 'GET', `/api/users/${bob.username}/public-key/`, { token: alice.token })).json();
    const own = (await envelopesOf(t.app, alice))[0]!;
    const fields = await encryptMessage({ attachment: bytes }, { recipient: await importPublicKey(recipientKey.public_key), sender: await importPublicKey(own.public_key) });
    const sent = await send(t.app, alice, { recipient: bob.username, key_id: recipientKey.key_id, sender_key_id: own.key_id, ...fields });
    expect(sent.encrypted_attachment).toBe(fields.encrypted_attachment);
    const fetched = (await call(t.app, 'GET', `/api/messages/${sent.id}/`, { token: bob.token })).json();
    const plain = await decryptAs(bob, await envelopesOf(t.app, bob), fetched);
    expect(Buffer.from(plain.attachment!).equals(bytes)).toBe(true);

    const broken = fields.encrypted_attachment.slice(0, MiB) + '*' + fields.encrypted_attachment.slice(MiB + 1);
    await expectRefused({ recipient: bob.username, key_id: recipientKey.key_id, sender_key_id: own.key_id, ...fields, encrypted_attachment: broken }, 400, 'encrypted_attachment');
  });
});

describe('other large strings in a large body', () => {
  it('a message over its length limit is a 400 for that field, as in a small body', async () => {
    await expectRefused({ recipient: bob.username, message: 'QUJD'.repeat(MiB / 2) }, 400, 'message');
  });

  it('a large value nested elsewhere does not count as an attachment', async () => {
    await expectRefused({ recipient: bob.username, extra: { attachment_data: b64(randomBytes(MiB)) } }, 400, 'message');
  });

  it('a __proto__ key is still refused', async () => {
    const body = `{"recipient":"${bob.username}","attachment_data":"${b64(randomBytes(MiB))}","__proto__":{"x":1}}`;
    await expectRefused(body, 400);
  });

  it('malformed JSON around a large value is a 400', async () => {
    await expectRefused(`{"recipient":"${bob.username}","attachment_data":"${b64(randomBytes(MiB))}",}`, 400);
    await expectRefused(`{"recipient":"${bob.username}","attachment_data":"${b64(randomBytes(MiB))}`, 400);
  });
});

describe('over a real connection', () => {
  it('takes a large body sent chunked, without Content-Length', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const bytes = randomBytes(2 * MiB);
    const body = Buffer.from(JSON.stringify({ recipient: bob.username, attachment_data: b64(bytes) }));
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ port, method: 'POST', path: '/api/messages/send/', headers: { 'content-type': 'application/json', 'x-auth-token': alice.token } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024));
      req.end();
    });
    expect(answer.status, answer.body).toBe(201);
    const plain = await decryptAs(bob, await envelopesOf(t.app, bob), JSON.parse(answer.body));
    expect(Buffer.from(plain.attachment!).equals(bytes)).toBe(true);
  });
});

describe('parseLargeJson', () => {
  it('keeps a large top-level attachment as a view of the body bytes, not as a string', async () => {
    const { parseLargeJson, largeFieldsOf } = await import('../src/http/large-json.ts');
    const data = b64(randomBytes(MiB));
    const body = Buffer.from(JSON.stringify({ recipient: 'bob', attachment_data: data }));
    const parsed = parseLargeJson(body, JSON.parse).parsed as Record<string, unknown>;
    const kept = largeFieldsOf(parsed)!.attachment_data!;
    expect(kept.buffer).toBe(body.buffer); // a view: no copy
    expect(kept.toString('latin1')).toBe(data);
    expect(typeof parsed.attachment_data).toBe('string');
    expect((parsed.attachment_data as string).length).toBeLessThan(100);
  });
});
