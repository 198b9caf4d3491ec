/**
 * The SDK does not trust the server: hostile public keys are refused and
 * isolated, a message it cannot decrypt does not hide the rest of a mailbox,
 * common passwords are refused before anything is sent, and a next-page link
 * never leads the token to another origin. The hostile server is a proxy in
 * front of a real one that rewrites its answers.
 */
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMON_PASSWORD_DETAIL, derToPem, pemToDer, type Message } from '@securechat/protocol';
import { DecryptionError, InvalidResponseError, parsePublicKey, SecureChatClient, UnusablePublicKeyError, ValidationError, type Mode } from '../src/index.ts';
import { startHostileProxy, type HostileProxy } from './hostile-proxy.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';

let server: LiveServer;
let proxy: HostileProxy;
let n = 0;

beforeAll(async () => {
  server = await startLiveServer();
  proxy = await startHostileProxy(server.url);
});
afterAll(async () => {
  await proxy.close();
  await server.close();
});

async function signedUp(prefix: string, baseUrl = proxy.url, mode: Mode = 'e2e') {
  const client = new SecureChatClient({ baseUrl, mode, kdfIterations: 100_000 });
  await client.register(`${prefix}${++n}`, 'pass-phrase-1');
  return client;
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Applies `change` to every object (or list of objects) the proxy answers at that path. */
function tamperEach<T>(path: string, change: (item: T) => T) {
  proxy.tamper(path, (body) => (Array.isArray(body) ? body.map(change) : body && typeof body === 'object' ? change(body) : body));
}

const base64Url = (value: bigint) => Buffer.from(value.toString(16).padStart(Math.ceil(value.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url');
const rsaPem = (modulus: bigint, exponent = 65537n) =>
  createPublicKey({ key: { kty: 'RSA', n: base64Url(modulus), e: base64Url(exponent) }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
const realPem = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ type: 'spki', format: 'pem' }) as string;

describe('public keys from the server', () => {
  const good = realPem(2048);
  const goodModulus = BigInt('0x' + Buffer.from(createPublicKey(good).export({ format: 'jwk' }).n!, 'base64url').toString('hex'));

  it.each<[string, unknown, RegExp]>([
    ['junk before the PEM', `junk\n${good}`, /exactly one PEM/],
    ['two PEM blocks', good + realPem(2048), /exactly one PEM/],
    ['text after the PEM', `${good}trailing`, /exactly one PEM/],
    ['a PRIVATE KEY label', good.replaceAll('PUBLIC KEY', 'PRIVATE KEY'), /exactly one PEM/],
    ['a body that is not base64', good.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!'), /exactly one PEM|base64/],
    ['bytes after the DER', derToPem(new Uint8Array([...pemToDer(good, 'PUBLIC KEY'), 0]), 'PUBLIC KEY'), /canonical/],
    ['an EC key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }), /not an RSA/],
    ['an even modulus', rsaPem(goodModulus + 1n), /even/],
    ['modulus 2^2047', rsaPem(1n << 2047n), /even/],
    ['modulus 2^2048 − 1', rsaPem((1n << 2048n) - 1n), /small factor/],
    ['exponent 3', rsaPem(goodModulus, 3n), /65537/],
    ['exponent 65539', rsaPem(goodModulus, 65539n), /65537/],
    ['a 1024-bit key', realPem(1024), /1024 bits/],
    ['an 8200-bit modulus', rsaPem((1n << 8199n) + 1n), /8200 bits/],
    ['not a string', 42, /exactly one PEM/],
  ])('%s is refused', async (_, pem, reason) => {
    const error = await parsePublicKey(pem).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnusablePublicKeyError);
    expect((error as UnusablePublicKeyError).reason).toMatch(reason);
  });

  it('sound keys pass, with whitespace around the block', async () => {
    await expect(parsePublicKey(good)).resolves.toMatchObject({ type: 'public' });
    await expect(parsePublicKey(`\n  ${realPem(3072).replaceAll('\n', '\r\n')}  \n`)).resolves.toMatchObject({ type: 'public' });
  });

  it('one bad key in the user list is isolated: everyone is listed, and nothing is encrypted to that user', async () => {
    proxy.reset();
    const [alice, bob, mallory] = await Promise.all([signedUp('keys-alice'), signedUp('keys-bob'), signedUp('keys-mallory')]);
    const malloryName = mallory.user!.username;
    tamperEach<{ user: { username: string }; public_key: string }>('/api/users/', (entry) =>
      entry.user?.username === malloryName ? { ...entry, public_key: entry.public_key + good } : entry,
    );

    const users = await all(alice.users());
    const byName = new Map(users.map((u) => [u.user.username, u]));
    expect(byName.get(bob.user!.username)?.keyError).toBeNull();
    expect(byName.get(malloryName)?.keyError).toMatch(/exactly one PEM/);

    const error = await alice.send(malloryName, { text: 'for mallory' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnusablePublicKeyError);
    expect((error as Error).message).toBe(`${malloryName}'s public key is unusable: it is not exactly one PEM PUBLIC KEY block. Nothing was sent.`);
    expect(proxy.requests.filter((r) => r.startsWith('POST /api/messages/send/'))).toEqual([]);

    await alice.send(bob.user!.username, { text: 'bob is fine' });
    expect((await all(bob.inbox())).map((m) => m.text)).toEqual(['bob is fine']);
  });
});

describe('messages the SDK cannot decrypt', () => {
  let alice: SecureChatClient;
  let bob: SecureChatClient;
  const ids: Record<string, number> = {};
  const random64 = (bytes: number) => randomBytes(bytes).toString('base64');
  const tampering: Record<string, (m: Message) => Message> = {
    'garbage wrapped key': (m) => ({ ...m, encrypted_symmetric_key: random64(256) }),
    'bad nonce': (m) => ({ ...m, message_nonce: random64(12) }),
    'bad ciphertext': (m) => ({ ...m, encrypted_message: random64(Buffer.from(m.encrypted_message, 'base64').length) }),
    'bad base64': (m) => ({ ...m, encrypted_message: '!!!!' }),
    'unknown key_id': (m) => ({ ...m, key_id: 99 }),
    'no sender': (m) => ({ ...m, sender: null as never }),
    'garbage sender copy': (m) => ({ ...m, sender_encrypted_symmetric_key: random64(256) }),
  };

  beforeAll(async () => {
    proxy.reset();
    [alice, bob] = await Promise.all([signedUp('mail-alice'), signedUp('mail-bob')]);
    ids.first = (await alice.send(bob.user!.username, { text: 'first' })).id;
    for (const name of Object.keys(tampering)) ids[name] = (await alice.send(bob.user!.username, { text: name })).id;
    ids.last = (await alice.send(bob.user!.username, { text: 'last', attachment: { data: new Uint8Array([1, 2, 3]), name: 'a.bin' } })).id;
    const byId = new Map(Object.entries(tampering).map(([name, change]) => [ids[name], change]));
    tamperEach<Message>('/api/messages/', (m) => byId.get(m.id)?.(m) ?? m);
  });

  it('are yielded as unreadable with a reason; the rest of the page and later pages decrypt', async () => {
    const inbox = await all(bob.inbox({ limit: 2 }));
    expect(inbox.map((m) => (m.readable ? m.text : `${m.id}: ${m.reason}`))).toEqual([
      'last',
      'garbage sender copy',
      `${ids['no sender']}: the server sent it malformed (sender)`,
      `${ids['unknown key_id']}: it is for your key version 99, which you do not have`,
      `${ids['bad base64']}: its nonce or ciphertext is not valid base64`,
      `${ids['bad ciphertext']}: its text or attachment fails authentication (corrupted or tampered with)`,
      `${ids['bad nonce']}: its text or attachment fails authentication (corrupted or tampered with)`,
      `${ids['garbage wrapped key']}: its wrapped key does not open with your key version 1`,
      'first',
    ]);
    const unreadable = inbox.find((m) => m.id === ids['garbage wrapped key'])!;
    expect(unreadable).toMatchObject({ readable: false, text: null, attachment: null, sender: alice.user, recipient: bob.user });
    expect(inbox[0]).toMatchObject({ readable: true, attachment: { name: 'a.bin', data: new Uint8Array([1, 2, 3]) } });
  });

  it('the sender reads its copies, except the one whose copy is garbage', async () => {
    const sent = await all(alice.sent({ limit: 3 }));
    expect(sent.filter((m) => !m.readable).map((m) => m.id).sort()).toEqual(
      [ids['no sender'], ids['bad base64'], ids['bad ciphertext'], ids['bad nonce'], ids['garbage sender copy']].sort(),
    );
    expect(sent.find((m) => m.id === ids['garbage wrapped key'])?.text).toBe('garbage wrapped key');
  });

  it('read() returns it as unreadable, decrypt() throws, and a wrong password or locked keys still fail as such', async () => {
    await expect(bob.read(ids['garbage wrapped key']!)).resolves.toMatchObject({ readable: false, reason: /wrapped key/ });
    const raw = await bob.message(ids['bad nonce']!);
    await expect(bob.decrypt(raw)).rejects.toThrow(new DecryptionError(`Message ${raw.id} cannot be decrypted: its text or attachment fails authentication (corrupted or tampered with).`));

    const resumed = new SecureChatClient({ baseUrl: proxy.url, session: { token: bob.token!, user: bob.user! } });
    await expect(all(resumed.inbox())).rejects.toThrow(/Keys are locked/);
    await expect(resumed.unlock('not-the-password')).rejects.toThrow(new DecryptionError('The password does not open any of your keys.'));
  });
});

describe('common passwords', () => {
  it.each<Mode>(['e2e', 'server'])('%s mode: a common password is refused at register and password change, with no request and no key made', async (mode) => {
    const requests: string[] = [];
    const counting: typeof fetch = (input, init) => {
      requests.push(String(input));
      return fetch(input, init);
    };
    const generateKey = vi.spyOn(globalThis.crypto.subtle, 'generateKey');
    try {
      const fresh = new SecureChatClient({ baseUrl: server.url, mode, fetch: counting, kdfIterations: 100_000 });
      const refused = await fresh.register(`common${++n}`, 'Password123').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ValidationError);
      expect(refused).toMatchObject({ message: COMMON_PASSWORD_DETAIL, errors: { password: [COMMON_PASSWORD_DETAIL] } });
      expect(requests).toEqual([]);
      expect(generateKey).not.toHaveBeenCalled();

      await fresh.register(`common${++n}`, 'pass-phrase-1');
      requests.length = 0;
      await expect(fresh.changePassword('pass-phrase-1', 'password123')).rejects.toMatchObject({ message: COMMON_PASSWORD_DETAIL, errors: { new_password: [COMMON_PASSWORD_DETAIL] } });
      expect(requests).toEqual([]);
    } finally {
      generateKey.mockRestore();
    }
  });

});

describe('lists', () => {
  it('a next-page link to another origin is not followed, so the token stays with its server', async () => {
    const requests: { url: string; token: string | null }[] = [];
    const fake: typeof fetch = async (input, init) => {
      requests.push({ url: String(input), token: new Headers(init?.headers).get('x-auth-token') });
      return new Response('[]', { headers: { 'content-type': 'application/json', link: '<http://evil.example/api/messages/?page=2>; rel="next"' } });
    };
    const client = new SecureChatClient({ baseUrl: 'http://127.0.0.1:1', fetch: fake, session: { token: 'secret-token', user: { id: 1, username: 'me' } } });
    await all(client.messages());
    expect(requests.map((r) => new URL(r.url).origin)).toEqual(['http://127.0.0.1:1']);
  });

  it('an answer that is not a list is an InvalidResponseError, not a crash further on', async () => {
    const fake: typeof fetch = async () => new Response('{"detail": "a list, honestly"}', { headers: { 'content-type': 'application/json' } });
    const client = new SecureChatClient({ baseUrl: 'http://127.0.0.1:1', fetch: fake, session: { token: 't', user: { id: 1, username: 'me' } } });
    for (const call of [() => all(client.messages()), () => all(client.users()), () => client.sessions(), () => client.keys()]) {
      await expect(call()).rejects.toThrow(new InvalidResponseError('The server answered a list request with something that is not a list.'));
    }
  });
});
