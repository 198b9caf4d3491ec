/**
 * Everything the server encrypts is decrypted here with @securechat/protocol
 * (WebCrypto), a code path independent of the server's node:crypto.
 */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importPrivateKey, openEnvelope } from '@securechat/protocol';
import { randomSlice } from '../src/crypto/random.ts';
import { b64, call, decryptAs, envelopesOf, register, send, startApp, type Account, type TestApp } from './helpers.ts';

let t: TestApp;
let alice: Account;
let bob: Account;

beforeAll(async () => {
  t = await startApp();
  [alice, bob] = await Promise.all([register(t.app), register(t.app)]);
});
afterAll(() => t.close());

describe('key envelope from register', () => {
  it('is an RSA-2048 key pair sealed with the password in the documented format', async () => {
    const profile = alice.profile;
    expect(profile.key_id).toBe(1);
    expect(profile.private_key_iterations).toBe(100_000);
    expect(Buffer.from(profile.private_key_salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(profile.private_key_nonce, 'base64')).toHaveLength(12);
    expect(createPublicKey(profile.public_key).asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    const pem = await openEnvelope(profile, alice.password);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    await importPrivateKey(pem);
    await expect(openEnvelope(profile, 'not the password')).rejects.toThrow();
  });

  it('login returns the same current envelope', async () => {
    const res = await call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username, password: alice.password } });
    expect(res.statusCode).toBe(200);
    expect(res.json().profile).toEqual(alice.profile);
  });
});

describe('messages', () => {
  it('the recipient decrypts text and attachment byte for byte', async () => {
    const attachment = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) % 256));
    const sent = await send(t.app, alice, {
      recipient: bob.username,
      message: 'Grüße, Bob 👋',
      attachment_data: b64(attachment),
      attachment_name: 'data.bin',
      attachment_mime: 'application/octet-stream',
    });
    expect(sent).toMatchObject({ has_attachment: true, attachment_name: 'data.bin', key_id: 1, sender_key_id: 1 });
    expect(sent.encrypted_message).not.toContain('Bob');
    const inbox = (await call(t.app, 'GET', '/api/messages/', { token: bob.token })).json();
    const received = inbox.find((m: { id: number }) => m.id === sent.id);
    const plain = await decryptAs(bob, await envelopesOf(t.app, bob), received);
    expect(plain.text).toBe('Grüße, Bob 👋');
    expect(Buffer.from(plain.attachment!).equals(attachment)).toBe(true);
  });

  it('uses a fresh key and fresh nonces for every message', async () => {
    const one = await send(t.app, alice, { recipient: bob.username, message: 'same' });
    const two = await send(t.app, alice, { recipient: bob.username, message: 'same' });
    expect(one.encrypted_message).not.toBe(two.encrypted_message);
    expect(one.message_nonce).not.toBe(two.message_nonce);
    const bobKeys = await envelopesOf(t.app, bob);
    const unwrapped = await Promise.all([one, two].map(async (m) => (await decryptAs(bob, bobKeys, m)).text));
    expect(unwrapped).toEqual(['same', 'same']);
  });

  it('text and attachment use their own nonces under one key', async () => {
    const m = await send(t.app, alice, { recipient: bob.username, message: 'x', attachment_data: b64('y') });
    expect(m.message_nonce).not.toBe(m.attachment_nonce);
    expect(Buffer.from(m.attachment_nonce, 'base64')).toHaveLength(12);
  });

  it('an attachment-only message has empty text fields and has_attachment true', async () => {
    const m = await send(t.app, alice, { recipient: bob.username, attachment_data: b64('file') });
    expect(m).toMatchObject({ encrypted_message: '', message_nonce: '', has_attachment: true });
    expect((await decryptAs(bob, await envelopesOf(t.app, bob), m)).text).toBe('');
  });

  it('a text-only message has empty attachment fields and has_attachment false', async () => {
    const m = await send(t.app, alice, { recipient: bob.username, message: 'hi', attachment_name: 'ignored.txt' });
    expect(m).toMatchObject({ encrypted_attachment: '', attachment_nonce: '', attachment_name: '', attachment_mime: '', has_attachment: false });
  });

  it('the sender decrypts its own sent copy (B2)', async () => {
    const m = await send(t.app, alice, { recipient: bob.username, message: 'note to self too', attachment_data: b64('abc') });
    const sent = (await call(t.app, 'GET', '/api/messages/?direction=sent', { token: alice.token })).json();
    const mine = sent.find((x: { id: number }) => x.id === m.id);
    const plain = await decryptAs(alice, await envelopesOf(t.app, alice), mine, 'sender');
    expect(plain.text).toBe('note to self too');
    expect(Buffer.from(plain.attachment!).toString()).toBe('abc');
  });

  it('sending to yourself works and both copies decrypt', async () => {
    const m = await send(t.app, alice, { recipient: alice.username, message: 'me' });
    const keys = await envelopesOf(t.app, alice);
    expect((await decryptAs(alice, keys, m)).text).toBe('me');
    expect((await decryptAs(alice, keys, m, 'sender')).text).toBe('me');
  });
});

describe('key rotation keeps history (B1)', () => {
  it('a message received before a rotation still decrypts with the envelope its key_id names', async () => {
    const carol = await register(t.app);
    const before = await send(t.app, alice, { recipient: carol.username, message: 'before rotation' });
    expect(before.key_id).toBe(1);

    const rotated = await call(t.app, 'POST', '/api/keys/rotate/', { token: carol.token, body: { password: carol.password } });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json()).toMatchObject({ key_id: 2 });
    expect(rotated.json().public_key).not.toBe(carol.profile.public_key);

    const after = await send(t.app, alice, { recipient: carol.username, message: 'after rotation' });
    expect(after.key_id).toBe(2);

    const keys = await envelopesOf(t.app, carol);
    expect(keys.map((k) => k.key_id)).toEqual([2, 1]);
    expect(keys[1]).toEqual(carol.profile);

    const inbox = (await call(t.app, 'GET', '/api/messages/', { token: carol.token })).json();
    const texts = await Promise.all(inbox.map(async (m: never) => (await decryptAs(carol, keys, m)).text));
    expect(texts).toEqual(['after rotation', 'before rotation']);

    // The public key endpoint and the directory now advertise version 2.
    const pk = (await call(t.app, 'GET', `/api/users/${carol.username}/public-key/`, { token: alice.token })).json();
    expect(pk).toMatchObject({ key_id: 2, public_key: rotated.json().public_key });
  });

  it('the sender copy names the sender key version at the time of sending', async () => {
    const dave = await register(t.app);
    const m1 = await send(t.app, dave, { recipient: bob.username, message: 'v1' });
    await call(t.app, 'POST', '/api/keys/rotate/', { token: dave.token, body: { password: dave.password } });
    const m2 = await send(t.app, dave, { recipient: bob.username, message: 'v2' });
    expect([m1.sender_key_id, m2.sender_key_id]).toEqual([1, 2]);
    const keys = await envelopesOf(t.app, dave);
    expect((await decryptAs(dave, keys, m1, 'sender')).text).toBe('v1');
    expect((await decryptAs(dave, keys, m2, 'sender')).text).toBe('v2');
  });

  it('rotation with a wrong or missing password is 400 and adds no key', async () => {
    const wrong = await call(t.app, 'POST', '/api/keys/rotate/', { token: bob.token, body: { password: 'wrong-password' } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().detail).toMatch(/password/i);
    const missing = await call(t.app, 'POST', '/api/keys/rotate/', { token: bob.token, body: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toHaveProperty('password');
    expect((await envelopesOf(t.app, bob)).map((k) => k.key_id)).toEqual([1]);
  });
});

describe('RSA_BITS', () => {
  it('sets the size of new keys', async () => {
    const big = await startApp({ RSA_BITS: '3072' });
    try {
      const account = await register(big.app);
      expect(createPublicKey(account.profile.public_key).asymmetricKeyDetails?.modulusLength).toBe(3072);
      const m = await send(big.app, account, { recipient: account.username, message: '3072' });
      expect(Buffer.from(m.encrypted_symmetric_key, 'base64')).toHaveLength(384);
      expect((await decryptAs(account, [account.profile], m)).text).toBe('3072');
    } finally {
      await big.close();
    }
  });
});

describe('random slices for message keys and nonces', () => {
  it('never hand out the same bytes twice, and keep their value after their block is used up', () => {
    const first = randomSlice(32);
    const kept = Buffer.from(first);
    const seen = new Set<string>([kept.toString('hex')]);
    for (let i = 0; i < 2_000; i++) seen.add(randomSlice(i % 2 === 0 ? 32 : 12).toString('hex')); // spans many blocks
    expect(seen.size).toBe(2_001);
    expect(first.equals(kept)).toBe(true);
  });
});
