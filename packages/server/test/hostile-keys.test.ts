/**
 * Client-made public keys: only one shape is stored (one canonical SPKI PEM
 * RSA key that can be encrypted for), and a send to a stored key that cannot
 * be used — planted in the database, as one from before these checks — is a
 * clean 400, never a 500.
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, register, startApp, uniqueName, type Account, type TestApp } from './helpers.ts';

const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString('base64');
const envelope = { encrypted_private_key: b64(64), private_key_nonce: b64(12), private_key_salt: b64(16), private_key_iterations: 100_000 };

const pem = (der: Buffer) => `-----BEGIN PUBLIC KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PUBLIC KEY-----\n`;
const rsa = (modulusLength: number, publicExponent = 65537) =>
  generateKeyPairSync('rsa', { modulusLength, publicExponent }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
/** An SPKI PEM with this modulus, which node:crypto parses whatever it is. */
const forged = (modulus: bigint) => {
  const hex = modulus.toString(16);
  const n = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
  return createPublicKey({ key: { kty: 'RSA', n, e: 'AQAB' }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
};
/** Odd, top bit set, no factor below 1000: what a real modulus looks like from outside (generating a real 8192-bit key takes minutes). */
function plausibleModulus(bits: number): bigint {
  for (;;) {
    const bytes = randomBytes(bits / 8);
    bytes[0]! |= 0x80;
    bytes[bytes.length - 1]! |= 1;
    const n = BigInt(`0x${bytes.toString('hex')}`);
    let clean = true;
    for (let p = 3n; p < 1000n && clean; p += 2n) clean = n % p !== 0n;
    if (clean) return n;
  }
}
const derOf = (text: string) => createPublicKey(text).export({ type: 'spki', format: 'der' });

const good = rsa(2048);
const other = rsa(2048);
const evenModulus = forged((1n << 2047n) + 2n * 0x1234567n);

let t: TestApp;
let alice: Account;

beforeAll(async () => {
  t = await startApp();
  alice = await register(t.app);
});
afterAll(() => t.close());

async function registerWithKey(publicKey: string) {
  const username = uniqueName('k');
  const res = await call(t.app, 'POST', '/api/auth/register/', { body: { username, password: 'login-secret-xyz', public_key: publicKey, ...envelope } });
  return { res, username };
}

describe('a client-made public key at register', () => {
  it.each([
    ['a junk prefix', `junk\n${good}`],
    ['text after the block', `${good}junk`],
    ['two PEM blocks', `${good}${other}`],
    ['a PKCS#1 block', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'pkcs1', format: 'pem' }) as string],
    ['an EC key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string],
    ['an RSA-PSS key', generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }) as string],
    ['a 1024-bit key', rsa(1024)],
    ['a 2052-bit key (top bit of its first byte clear)', rsa(2052)],
    ['exponent 3', rsa(2048, 3)],
    ['an even modulus', evenModulus],
    ['the modulus 2^2047', forged(1n << 2047n)],
    ['the modulus 2^2048 − 1', forged((1n << 2048n) - 1n)],
    ['the modulus 2^2047 + 1', forged((1n << 2047n) + 1n)],
    ['bytes after the key inside the block', pem(Buffer.concat([derOf(good), Buffer.from([0, 0])]))],
    ['a body that is not base64', good.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!')],
    ['an empty block', '-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----\n'],
  ])('refuses %s with 400 on public_key, creating nobody', async (_, publicKey) => {
    const { res, username } = await registerWithKey(publicKey);
    expect(res.statusCode, res.body).toBe(400);
    const [sentence] = res.json().errors.public_key;
    expect(sentence).toMatch(/^public_key (must|is not|cannot)\b.*\.$/);
    expect(await t.store.users.findByUsername(username)).toBeUndefined();
  });

  it('accepts whitespace around the block, CRLF lines and other line widths, and stores the key in canonical form', async () => {
    const der = derOf(good);
    const wide = `-----BEGIN PUBLIC KEY-----\r\n${der.toString('base64').replace(/.{1,76}/g, '$&\r\n')}-----END PUBLIC KEY-----`;
    const { res, username } = await registerWithKey(`\n  \t${wide}\r\n\n`);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().profile.public_key).toBe(good);
    const entry = (await call(t.app, 'GET', `/api/users/${username}/public-key/`, { token: alice.token })).json();
    expect(entry.public_key).toBe(good);
  });

  it('accepts 2048 to 8192 bits', async () => {
    expect((await registerWithKey(rsa(3072))).res.statusCode).toBe(201);
    expect((await registerWithKey(forged(plausibleModulus(8192)))).res.statusCode).toBe(201);
    const tooBig = await registerWithKey(forged(plausibleModulus(8200)));
    expect(tooBig.res.json().errors.public_key[0]).toMatch(/2048 to 8192 bits/);
  });
});

describe('a client-made public key at rotate', () => {
  it('is held to the same rule, and stored canonically when accepted', async () => {
    const { res } = await registerWithKey(good);
    const token = res.json().token;
    const rotate = (publicKey: string) => call(t.app, 'POST', '/api/keys/rotate/', { token, body: { password: 'login-secret-xyz', public_key: publicKey, ...envelope } });
    const refused = await rotate(`${other}${good}`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toHaveProperty('public_key');
    const accepted = await rotate(`  ${other.replace(/\n/g, '\r\n')}  `);
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({ key_id: 2, public_key: other });
    expect((await call(t.app, 'GET', '/api/keys/', { token })).json().map((k: { key_id: number }) => k.key_id)).toEqual([2, 1]);
  });
});

describe('a send to a stored key that cannot be used', () => {
  /** Makes `publicKey` the account's current key straight in the database, past every check. */
  async function plant(account: Account, publicKey: string) {
    await t.store.users.addKeyVersionAs(account.id, { public_key: publicKey, ...envelope, sealed_by: 'client' }, new Date().toISOString());
  }

  it.each([
    ['an even modulus', evenModulus],
    ['the modulus 2^2047', forged(1n << 2047n)],
    ['text that is no key', 'not a key at all'],
    ['an EC key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string],
  ])('is a 400 naming the recipient’s unusable key, for %s', async (_, publicKey) => {
    const bob = await register(t.app);
    await plant(bob, publicKey);
    const plain = await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: { recipient: bob.username, message: 'hi', attachment_data: b64(10) } });
    expect(plain.statusCode, plain.body).toBe(400);
    expect(plain.json().errors.recipient[0]).toMatch(/recipient's public key is unusable/);
    const encrypted = await call(t.app, 'POST', '/api/messages/send/', {
      token: alice.token,
      body: { recipient: bob.username, key_id: 2, encrypted_symmetric_key: b64(256), encrypted_message: b64(20), message_nonce: b64(12) },
    });
    expect(encrypted.statusCode).toBe(400);
    expect(encrypted.json().errors.recipient[0]).toMatch(/unusable/);
    // the sender with such a key is told to rotate
    const fromBob = await call(t.app, 'POST', '/api/messages/send/', { token: bob.token, body: { recipient: alice.username, message: 'hi' } });
    expect(fromBob.statusCode).toBe(400);
    expect(fromBob.json().detail).toMatch(/Your public key is unusable/);
    // and rotating makes it usable again
    expect((await call(t.app, 'POST', '/api/keys/rotate/', { token: bob.token, body: { password: bob.password } })).statusCode).toBe(200);
    expect((await call(t.app, 'POST', '/api/messages/send/', { token: alice.token, body: { recipient: bob.username, message: 'hi' } })).statusCode).toBe(201);
  });
});
