/**
 * The server side of end-to-end mode (B4) and password change (B6), driven
 * the way an end-to-end client drives it: keys, envelopes and ciphertext are
 * made here with @securechat/protocol (WebCrypto).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveLoginSecret, encodeBase64, encryptMessage, generateKeyPair, importPrivateKey, importPublicKey, openEnvelope, sealPrivateKey,
  type Envelope, type Message,
} from '@securechat/protocol';
import { call, decryptAs, envelopesOf, register, send, startApp, uniqueName, type Account, type TestApp } from './helpers.ts';

const ITERATIONS = 100_000;

interface E2eAccount extends Account {
  secret: string;
  privateKeys: Map<number, string>;
}

async function clientKey(password: string) {
  const pair = await generateKeyPair();
  return { pair, fields: { public_key: pair.publicKey, ...(await sealPrivateKey(pair.privateKey, password, { iterations: ITERATIONS })) } };
}

async function registerE2e(t: TestApp, username = uniqueName('e2e'), password = 'e2e-password'): Promise<E2eAccount> {
  const secret = await deriveLoginSecret(username, password);
  const { pair, fields } = await clientKey(password);
  const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password: secret, ...fields } });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  expect(body.profile).toMatchObject(fields); // stored byte for byte
  return { id: body.user.id, username, password, secret, token: body.token, profile: body.profile, privateKeys: new Map([[1, pair.privateKey]]) };
}

/** What an end-to-end client sends for `text` from `from` to `to`. */
async function encryptFor(t: TestApp, from: Account, to: Account, plain: { text?: string; attachment?: Uint8Array }) {
  const recipient = (await call(t.app, 'GET', `/api/users/${to.username}/public-key/`, { token: from.token })).json();
  const own = (await envelopesOf(t.app, from))[0]!;
  const fields = await encryptMessage(plain, { recipient: await importPublicKey(recipient.public_key), sender: await importPublicKey(own.public_key) });
  return { recipient: to.username, key_id: recipient.key_id, sender_key_id: own.key_id, ...fields };
}

let t: TestApp;
let alice: E2eAccount;
let bob: E2eAccount;
let carol: Account; // a server-mode account

beforeAll(async () => {
  t = await startApp({ MAX_ATTACHMENT_BYTES: '4096' });
  [alice, bob, carol] = await Promise.all([registerE2e(t), registerE2e(t), register(t.app)]);
});
afterAll(() => t.close());

describe('end-to-end register and login', () => {
  it('logs in with the login secret only; the raw password is just a wrong password', async () => {
    const ok = await call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username, password: alice.secret } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().profile).toEqual(alice.profile);
    const raw = await call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username, password: alice.password } });
    expect(raw.statusCode).toBe(401);
  });

  it('the envelope opens with the raw password on the client side', async () => {
    expect(await openEnvelope(alice.profile, alice.password)).toBe(alice.privateKeys.get(1));
  });

  const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).publicKey;
  const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).publicKey;
  const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'pkcs1', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).publicKey;
  const b = (n: number) => encodeBase64(new Uint8Array(n));

  it.each([
    ['an EC public key', { public_key: ecKey }, 'public_key'],
    ['a 1024-bit RSA key', { public_key: smallRsa }, 'public_key'],
    ['a PKCS#1 public key', { public_key: pkcs1 }, 'public_key'],
    ['garbage for a public key', { public_key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }, 'public_key'],
    ['a 15-byte salt', { private_key_salt: b(15) }, 'private_key_salt'],
    ['a 13-byte nonce', { private_key_nonce: b(13) }, 'private_key_nonce'],
    ['99,999 iterations', { private_key_iterations: 99_999 }, 'private_key_iterations'],
    ['iterations as a string', { private_key_iterations: '600000' }, 'private_key_iterations'],
    ['invalid base64 in the sealed key', { encrypted_private_key: 'QUJD$$$$' }, 'encrypted_private_key'],
    ['a sealed key shorter than a tag', { encrypted_private_key: b(16) }, 'encrypted_private_key'],
    ['no envelope at all', { encrypted_private_key: undefined, private_key_nonce: undefined, private_key_salt: undefined, private_key_iterations: undefined }, 'encrypted_private_key'],
  ])('refuses %s with 400, creating nobody', async (_, change, field) => {
    const { fields } = await keyFields;
    const username = uniqueName('bad');
    const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password: 'login-secret-xyz', ...fields, ...change } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toHaveProperty(field);
    expect(await t.store.users.findByUsername(username)).toBeUndefined();
  });
});
const keyFields = clientKey('whatever-password');

describe('end-to-end send', () => {
  it('stores the ciphertext as given; recipient and sender decrypt it', async () => {
    const attachment = new Uint8Array([0, 1, 2, 250, 255]);
    const body = await encryptFor(t, alice, bob, { text: 'only we can read this', attachment });
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: { ...body, attachment_name: 'x.bin', attachment_mime: 'application/octet-stream' } });
    expect(res.statusCode, res.body).toBe(201);
    const message: Message = res.json();
    expect(message).toMatchObject({ ...body, recipient: { id: bob.id, username: bob.username }, has_attachment: true, attachment_name: 'x.bin' });
    const asBob = await decryptAs(bob, await envelopesOf(t.app, bob), message);
    expect(asBob.text).toBe('only we can read this');
    expect([...asBob.attachment!]).toEqual([...attachment]);
    expect((await decryptAs(alice, await envelopesOf(t.app, alice), message, 'sender')).text).toBe('only we can read this');
  });

  it('works without a sender copy (sender_encrypted_symmetric_key "" and sender_key_id null)', async () => {
    const { sender_encrypted_symmetric_key: _, sender_key_id: __, ...body } = await encryptFor(t, alice, bob, { text: 'no copy' });
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ sender_encrypted_symmetric_key: '', sender_key_id: null, has_attachment: false });
  });

  it('a server-mode user can send end-to-end to an end-to-end user and vice versa', async () => {
    const toCarol = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: await encryptFor(t, alice, carol, { text: 'to carol' }) });
    expect(toCarol.statusCode).toBe(201);
    expect((await decryptAs(carol, await envelopesOf(t.app, carol), toCarol.json())).text).toBe('to carol');
    const toAlice = await send(t.app, carol, { recipient: alice.username, message: 'server-encrypted for alice' });
    expect((await decryptAs(alice, await envelopesOf(t.app, alice), toAlice)).text).toBe('server-encrypted for alice');
  });

  const b = (n: number) => encodeBase64(new Uint8Array(n));
  it.each<[string, (m: Record<string, unknown>) => Record<string, unknown>, string]>([
    ['plaintext mixed in', (m) => ({ ...m, message: 'plain too' }), 'non_field_errors'],
    ['attachment_data mixed in', (m) => ({ ...m, attachment_data: 'QUJD' }), 'non_field_errors'],
    ['no key_id', ({ key_id: _, ...m }) => m, 'key_id'],
    ['a stale key_id', (m) => ({ ...m, key_id: 7 }), 'key_id'],
    ['key_id as a string', (m) => ({ ...m, key_id: '1' }), 'key_id'],
    ['a wrapped key of the wrong length', (m) => ({ ...m, encrypted_symmetric_key: b(255) }), 'encrypted_symmetric_key'],
    ['no wrapped key', ({ encrypted_symmetric_key: _, ...m }) => m, 'encrypted_symmetric_key'],
    ['an 11-byte message nonce', (m) => ({ ...m, message_nonce: b(11) }), 'message_nonce'],
    ['a nonce without ciphertext', (m) => ({ ...m, encrypted_message: '' }), 'encrypted_message'],
    ['ciphertext without its nonce', (m) => ({ ...m, message_nonce: '' }), 'message_nonce'],
    ['a ciphertext shorter than the tag', (m) => ({ ...m, encrypted_message: b(10) }), 'encrypted_message'],
    ['invalid base64 ciphertext', (m) => ({ ...m, encrypted_message: '-_-_' }), 'encrypted_message'],
    ['a sender copy without sender_key_id', ({ sender_key_id: _, ...m }) => m, 'sender_key_id'],
    ['sender_key_id that is not the sender’s current key', (m) => ({ ...m, sender_key_id: 2 }), 'sender_key_id'],
    ['a sender copy of the wrong length', (m) => ({ ...m, sender_encrypted_symmetric_key: b(100) }), 'sender_encrypted_symmetric_key'],
    ['nothing encrypted', ({ encrypted_message: _, message_nonce: __, ...m }) => m, 'encrypted_message'],
  ])('refuses %s with 400 and stores nothing', async (_, mutate, field) => {
    const good = await encryptFor(t, alice, bob, { text: 'x' });
    const before = (await call(t.app, 'GET', '/api/messages/?limit=200', { token: bob.token })).json().length;
    const res = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: mutate(good) });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors).toHaveProperty(field);
    expect((await call(t.app, 'GET', '/api/messages/?limit=200', { token: bob.token })).json()).toHaveLength(before);
  });

  it('applies the attachment limit to the ciphertext: the limit passes, one byte more is 413', async () => {
    const atLimit = await encryptFor(t, alice, bob, { attachment: new Uint8Array(4096) });
    expect((await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: atLimit })).statusCode).toBe(201);
    const over = await encryptFor(t, alice, bob, { attachment: new Uint8Array(4097) });
    expect((await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: over })).statusCode).toBe(413);
  });
});

describe('end-to-end rotation', () => {
  it('stores the client key as the next version; old mail still decrypts', async () => {
    const dan = await registerE2e(t);
    const before = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: await encryptFor(t, alice, dan, { text: 'before' }) });
    const { fields } = await clientKey(dan.password);
    const rotated = await call(t.app, 'POST', '/api/keys/rotate/', { token: dan.token, body: { password: dan.secret, ...fields } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json()).toMatchObject({ ...fields, key_id: 2 });
    const after = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: await encryptFor(t, alice, dan, { text: 'after' }) });
    expect(after.json().key_id).toBe(2);
    const keys = await envelopesOf(t.app, dan);
    expect((await decryptAs(dan, keys, before.json())).text).toBe('before');
    expect((await decryptAs(dan, keys, after.json())).text).toBe('after');
  });

  it('refuses a rotation with the raw password instead of the login secret', async () => {
    const { fields } = await keyFields;
    const res = await call(t.app, 'POST', '/api/keys/rotate/', { token: bob.token, body: { password: bob.password, ...fields } });
    expect(res.statusCode).toBe(400);
  });
});

describe('password change (B6)', () => {
  async function loginToken(account: Account, password: string) {
    return (await call(t.app, 'POST', '/api/auth/login/', { body: { username: account.username, password } })).json().token as string;
  }

  it('server-mode: re-seals every version under the new password, revokes the other sessions only', async () => {
    const erin = await register(t.app, uniqueName('erin'), 'old-password-1');
    await call(t.app, 'POST', '/api/keys/rotate/', { token: erin.token, body: { password: erin.password } });
    const other = await loginToken(erin, erin.password);
    const res = await call(t.app, 'POST', '/api/auth/password/', { token: erin.token, body: { old_password: 'old-password-1', new_password: 'new-password-2' } });
    expect(res.statusCode, res.body).toBe(200);
    const envelopes: Envelope[] = res.json();
    expect(envelopes.map((e) => e.key_id)).toEqual([2, 1]);
    for (const envelope of envelopes) {
      await importPrivateKey(await openEnvelope(envelope, 'new-password-2'));
      await expect(openEnvelope(envelope, 'old-password-1')).rejects.toThrow();
    }
    expect((await call(t.app, 'GET', '/api/keys/', { token: erin.token })).statusCode).toBe(200);
    expect((await call(t.app, 'GET', '/api/keys/', { token: other })).statusCode).toBe(401);
    expect((await call(t.app, 'POST', '/api/auth/login/', { body: { username: erin.username, password: 'old-password-1' } })).statusCode).toBe(401);
    expect((await call(t.app, 'POST', '/api/auth/login/', { body: { username: erin.username, password: 'new-password-2' } })).statusCode).toBe(200);
  });

  it('a wrong old password is 400 and changes nothing', async () => {
    const res = await call(t.app, 'POST', '/api/auth/password/', { token: carol.token, body: { old_password: 'not-it-at-all', new_password: 'new-password-2' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toHaveProperty('old_password');
    expect((await call(t.app, 'POST', '/api/auth/login/', { body: { username: carol.username, password: carol.password } })).statusCode).toBe(200);
  });

  it('end-to-end without envelopes: 400 saying envelopes are required', async () => {
    const res = await call(t.app, 'POST', '/api/auth/password/', { token: bob.token, body: { old_password: bob.secret, new_password: 'whatever-new-secret' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toMatch(/envelopes are required/);
  });

  it('end-to-end: stores the client’s re-sealed envelopes, one per version, exactly', async () => {
    const fay = await registerE2e(t, uniqueName('fay'), 'fay-old-password');
    const { pair, fields } = await clientKey(fay.password);
    await call(t.app, 'POST', '/api/keys/rotate/', { token: fay.token, body: { password: fay.secret, ...fields } });
    const newSecret = await deriveLoginSecret(fay.username, 'fay-new-password');
    const resealed = [
      { key_id: 1, ...(await sealPrivateKey(fay.privateKeys.get(1)!, 'fay-new-password', { iterations: ITERATIONS })) },
      { key_id: 2, ...(await sealPrivateKey(pair.privateKey, 'fay-new-password', { iterations: ITERATIONS })) },
    ];
    const change = (envelopes: unknown) => call(t.app, 'POST', '/api/auth/password/', { token: fay.token, body: { old_password: fay.secret, new_password: newSecret, envelopes } });

    expect((await change(resealed.slice(0, 1))).statusCode).toBe(400); // a version missing
    expect((await change([resealed[0], resealed[0], resealed[1]])).statusCode).toBe(400); // a duplicate
    expect((await change([resealed[0], { ...resealed[1], key_id: 3 }])).statusCode).toBe(400); // an unknown version
    expect((await change([resealed[0], { ...resealed[1], private_key_salt: 'AAAA' }])).statusCode).toBe(400); // a bad shape

    const res = await change(resealed);
    expect(res.statusCode, res.body).toBe(200);
    const stored: Envelope[] = res.json();
    for (const envelope of resealed) expect(stored.find((e) => e.key_id === envelope.key_id)).toMatchObject(envelope);
    expect((await call(t.app, 'POST', '/api/auth/login/', { body: { username: fay.username, password: newSecret } })).statusCode).toBe(200);
  });
});
