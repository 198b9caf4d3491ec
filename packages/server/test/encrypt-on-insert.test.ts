/**
 * On a database file, a text-only plaintext send is encrypted on the
 * messages writer thread as it is inserted (store/sqlite/encrypt-on-insert.ts),
 * not on the cipher pool: what a user sees must not change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cipherPoolCounts } from '../src/crypto/cipher-pool.ts';
import { b64, call, decryptAs, envelopesOf, register, startApp, type Account, type TestApp } from './helpers.ts';

describe('plaintext sends on a database file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-encrypt-on-insert-'));
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  let carol: Account;
  beforeAll(async () => {
    t = await startApp({ DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` });
    [alice, bob, carol] = await Promise.all([register(t.app), register(t.app), register(t.app)]);
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sendAs = (from: Account, body: Record<string, unknown>) => call(t.app, 'POST', '/api/messages/send/', { token: from.token, body });
  const storedRow = (id: number) => t.store.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const read = async (as: Account, id: number): Promise<Message> => (await call(t.app, 'GET', `/api/messages/${id}/`, { token: as.token })).json();

  it('a text send is encrypted by the writer thread, not the cipher pool: stored as ciphertext, answered as stored, readable by both parties', async () => {
    expect(t.store.messages.insertEncrypting).toBeTypeOf('function');
    const onPool = cipherPoolCounts.onThread + cipherPoolCounts.onEventLoop;
    const res = await sendAs(alice, { recipient: bob.username, message: 'sealed on the writer thread' });
    expect(res.statusCode).toBe(201);
    expect(cipherPoolCounts.onThread + cipherPoolCounts.onEventLoop).toBe(onPool);

    const sent: Message = res.json();
    const row = await storedRow(sent.id);
    expect(row.encrypted_message).not.toContain('sealed');
    expect(Buffer.from(row.encrypted_message, 'base64').toString('latin1')).not.toContain('sealed');
    expect(row.encrypted_message).toBe(sent.encrypted_message);
    expect(row.encrypted_symmetric_key).toBe(sent.encrypted_symmetric_key);
    expect(row.sender_encrypted_symmetric_key).toBe(sent.sender_encrypted_symmetric_key);
    expect(row.message_nonce).toBe(sent.message_nonce);
    expect(await read(bob, sent.id)).toEqual(sent);
    expect((await decryptAs(bob, await envelopesOf(t.app, bob), sent)).text).toBe('sealed on the writer thread');
    expect((await decryptAs(alice, await envelopesOf(t.app, alice), sent, 'sender')).text).toBe('sealed on the writer thread');
  });

  it('concurrent text sends in one batch each get their own ciphertext, and each 201 is what its recipient reads', async () => {
    const senders = [alice, bob, carol];
    const sends = Array.from({ length: 30 }, (_, i) => ({ from: senders[i % 3]!, to: senders[(i + 1) % 3]!, text: `message ${i} ${'é'.repeat(i)}` }));
    const answers = await Promise.all(sends.map(({ from, to, text }) => sendAs(from, { recipient: to.username, message: text })));
    expect(answers.map((a) => a.statusCode)).toEqual(sends.map(() => 201));
    const messages: Message[] = answers.map((a) => a.json());
    expect(new Set(messages.map((m) => m.encrypted_symmetric_key)).size).toBe(30);
    for (const [i, { to, text }] of sends.entries()) {
      expect(await read(to, messages[i]!.id)).toEqual(messages[i]);
      expect((await decryptAs(to, await envelopesOf(t.app, to), messages[i]!)).text).toBe(text);
    }
  });

  it('a send with an attachment still goes through the cipher pool, and decrypts', async () => {
    const onPool = cipherPoolCounts.onThread + cipherPoolCounts.onEventLoop;
    const attachment = Buffer.from('attached bytes');
    const res = await sendAs(alice, { recipient: bob.username, message: 'see file', attachment_data: b64(attachment), attachment_name: 'a.txt' });
    expect(res.statusCode).toBe(201);
    expect(cipherPoolCounts.onThread + cipherPoolCounts.onEventLoop).toBe(onPool + 1);
    const plain = await decryptAs(bob, await envelopesOf(t.app, bob), res.json());
    expect(plain.text).toBe('see file');
    expect(Buffer.from(plain.attachment!).equals(attachment)).toBe(true);
  });
});
