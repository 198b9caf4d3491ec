/**
 * The SDK and B 11 against a real server: every end-to-end send signed, every
 * message opened checked (inbox, sent, read, open, live), key chains across
 * rotations and logins elsewhere, accounts from before signatures, device
 * signing keys, pins kept in a PinStore, and the Part A wire format intact.
 * Forgeries by the server are in forgery.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decryptMessage, deriveLoginSecret, generateKeyPair, importPrivateKey, openEnvelope, sealPrivateKey, verifyKeyChain, type Message,
} from '@securechat/protocol';
import { KeysLockedError, MemoryPinStore, SecureChatClient, type LiveMessage, type MailboxMessage, type Mode } from '../src/index.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';

const PASSWORD = 'quill-harbour-47-signet';
let server: LiveServer;
let n = 0;

function client(mode: Mode = 'e2e', options: { pins?: MemoryPinStore } = {}) {
  return new SecureChatClient({ baseUrl: server.url, mode, kdfIterations: 100_000, ...options });
}

async function signedUp(prefix: string, mode: Mode = 'e2e') {
  const c = client(mode);
  await c.register(`${prefix}${++n}`, PASSWORD);
  return c;
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

const trustOf = (m: MailboxMessage) => ({ signature: m.signature, keyChange: m.keyChange, verified: m.verified, replayOf: m.replayOf });
const VALID = { signature: 'valid', keyChange: 'none', verified: true, replayOf: null };

beforeAll(async () => {
  server = await startLiveServer();
});
afterAll(() => server.close());

describe('signed sends', () => {
  it('are signed, and read back as valid from inbox, sent, read and open', async () => {
    const [alice, bob] = await Promise.all([signedUp('sig-alice'), signedUp('sig-bob')]);
    const sent = await alice.send(bob.user!.username, { text: 'signed hello', attachment: { data: new Uint8Array([1, 2, 3]), name: 'ü.bin', mime: 'application/x-ü' } });
    expect(sent.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    expect(sent.client_id).toMatch(/^[0-9a-f-]{36}$/);

    const [received] = await all(bob.inbox());
    expect(received).toMatchObject({ id: sent.id, readable: true, text: 'signed hello', trustProblem: null });
    expect(trustOf(received!)).toEqual(VALID);
    expect(trustOf(await bob.read(sent.id))).toEqual(VALID);
    expect(trustOf(await bob.open(await bob.message(sent.id)))).toEqual(VALID);
    const [copy] = await all(alice.sent());
    expect(trustOf(copy!)).toEqual(VALID); // checked against her own signing key in memory

    // The same message read again (another page, another call) is not a replay of itself.
    expect(trustOf((await all(bob.inbox()))[0]!)).toEqual(VALID);
  });

  it('still decrypt with the Part A wire format: the signature only adds fields', async () => {
    const [alice, bob] = await Promise.all([signedUp('wire-alice'), signedUp('wire-bob')]);
    const sent = await alice.send(bob.user!.username, { text: 'plain Part A decryption' });
    const raw = await bob.message(sent.id);
    const [envelope] = await bob.keys();
    const privateKey = await importPrivateKey(await openEnvelope(envelope!, PASSWORD));
    const { text } = await decryptMessage(raw, privateKey, 'recipient');
    expect(text).toBe('plain Part A decryption');
  });

  it('a server-mode sender is unsigned, not an error; an end-to-end sender is valid to a server-mode reader', async () => {
    const [alice, legacy] = await Promise.all([signedUp('mix-alice'), signedUp('mix-legacy', 'server')]);
    const fromLegacy = await legacy.send(alice.user!.username, { text: 'from the original flow' });
    expect(fromLegacy.signature).toBeNull();
    const read = await alice.read(fromLegacy.id);
    expect(read).toMatchObject({ readable: true, text: 'from the original flow', signature: 'unsigned', keyChange: 'none', verified: false, trustProblem: expect.stringMatching(/unsigned/) });

    const toLegacy = await alice.send(legacy.user!.username, { text: 'signed, for a server-mode reader' });
    expect(trustOf(await legacy.read(toLegacy.id))).toEqual(VALID);
    expect((await legacy.contact(alice.user!.username)).signs).toBe(true);
    expect(await alice.contact(legacy.user!.username)).toMatchObject({ signs: false, keyChange: 'none', pin: null });
  });
});

describe('accounts from before signatures', () => {
  it('log in and send unsigned, start their chain at rotation (key_signature null), and sign from then on', async () => {
    const username = `pre-b11-${++n}`;
    const pair = await generateKeyPair();
    const sealed = await sealPrivateKey(pair.privateKey, PASSWORD, { iterations: 100_000 });
    const res = await fetch(`${server.url}/api/auth/register/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: await deriveLoginSecret(username, PASSWORD), public_key: pair.publicKey, ...sealed }),
    });
    expect(res.status).toBe(201);
    const old = client();
    await old.login(username, PASSWORD);
    const bob = await signedUp('pre-bob');

    const before = await old.send(bob.user!.username, { text: 'before my chain' });
    expect(before.signature).toBeNull();
    expect(await bob.contact(username)).toMatchObject({ signs: false, keyChange: 'none', pin: null });

    const envelope = await old.rotateKeys(PASSWORD);
    expect(envelope).toMatchObject({ key_id: 2, key_signature: null, signing_public_key: expect.any(String) });
    const after = await old.send(bob.user!.username, { text: 'after my chain started' });
    expect(after.signature).not.toBeNull();

    const inbox = await all(bob.inbox());
    expect(inbox.map((m) => [m.text, m.signature, m.keyChange])).toEqual([
      ['after my chain started', 'valid', 'none'],
      ['before my chain', 'unsigned', 'none'],
    ]);
    const status = await bob.contact(username, { refresh: true });
    expect(status.chain.links.map((l) => l.status)).toEqual(['unsigned', 'start']);
    expect(status).toMatchObject({ signs: true, keyChange: 'none', keyId: 2 });
  });
});

describe('key chains', () => {
  it('five rotations: a fresh login elsewhere verifies the whole chain and reads every old message as valid', async () => {
    const [alice, bob] = await Promise.all([signedUp('chain-alice'), signedUp('chain-bob')]);
    const bobName = bob.user!.username;
    const aliceName = alice.user!.username;
    await alice.send(bobName, { text: 'signed by version 1' });
    expect((await bob.contact(aliceName)).keyChange).toBe('none'); // pinned now, at version 1
    for (let version = 2; version <= 6; version++) {
      const envelope = await alice.rotateKeys(PASSWORD);
      expect(envelope.key_id).toBe(version);
      expect(envelope.key_signature).toMatch(/^[A-Za-z0-9+/]{86}==$/);
      await alice.send(bobName, { text: `signed by version ${version}` });
    }

    // Bob on another machine: nothing pinned, nothing cached.
    const laptop = client();
    await laptop.login(bobName, PASSWORD);
    const status = await laptop.contact(aliceName);
    expect(status.chain.links.map((l) => [l.key_id, l.status, l.trusted])).toEqual([
      [1, 'start', true], [2, 'vouched', true], [3, 'vouched', true], [4, 'vouched', true], [5, 'vouched', true], [6, 'vouched', true],
    ]);
    expect(status).toMatchObject({ keyId: 6, keyChange: 'rotated', signs: true, problem: null }); // pinned: her first key
    const inbox = await all(laptop.inbox({ limit: 4 }));
    expect(inbox.map((m) => [m.text, m.raw.sender_key_id, m.signature, m.keyChange])).toEqual([
      ['signed by version 6', 6, 'valid', 'rotated'],
      ['signed by version 5', 5, 'valid', 'rotated'],
      ['signed by version 4', 4, 'valid', 'rotated'],
      ['signed by version 3', 3, 'valid', 'rotated'],
      ['signed by version 2', 2, 'valid', 'rotated'],
      ['signed by version 1', 1, 'valid', 'none'],
    ]);
    expect(inbox.every((m) => m.verified)).toBe(true);
    // The same, checked with the protocol package alone.
    expect((await verifyKeyChain(aliceName, await laptop.keyHistory(aliceName))).intact).toBe(true);

    // Alice on another machine reads what she sent with all six keys, and can still sign and rotate.
    const desktop = client();
    await desktop.login(aliceName, PASSWORD);
    expect((await all(desktop.sent())).map((m) => m.signature)).toEqual(Array(6).fill('valid'));
    expect((await desktop.rotateKeys(PASSWORD)).key_id).toBe(7);
    expect((await laptop.contact(aliceName, { refresh: true })).chain.intact).toBe(true);
  });

  it('two devices rotating at once: the one that loses the race vouches for the version after the winner', async () => {
    const alice = await signedUp('race-alice');
    const other = client();
    await other.login(alice.user!.username, PASSWORD);
    const ids = (await Promise.all([alice.rotateKeys(PASSWORD), other.rotateKeys(PASSWORD)])).map((e) => e.key_id).sort();
    expect(ids).toEqual([2, 3]);
    const bob = await signedUp('race-bob');
    const status = await bob.contact(alice.user!.username);
    expect(status.chain.links.map((l) => l.status)).toEqual(['start', 'vouched', 'vouched']);
  });

  it('a password change re-seals the signing keys: a fresh login signs and rotates on the chain', async () => {
    const [alice, bob] = await Promise.all([signedUp('pw-alice'), signedUp('pw-bob')]);
    await alice.rotateKeys(PASSWORD);
    const envelopes = await alice.changePassword(PASSWORD, 'second-quill-harbour-48');
    expect(envelopes.every((e) => e.encrypted_signing_key && e.signing_key_nonce && e.signing_key_nonce !== e.private_key_nonce)).toBe(true);
    const fresh = client();
    await fresh.login(alice.user!.username, 'second-quill-harbour-48');
    expect(fresh.deviceSigningKeys().map(([id]) => id).sort()).toEqual([1, 2]);
    const sent = await fresh.send(bob.user!.username, { text: 'after the password change' });
    expect(trustOf(await bob.read(sent.id))).toMatchObject({ signature: 'valid', verified: true });
    await fresh.rotateKeys('second-quill-harbour-48');
    expect((await bob.contact(alice.user!.username, { refresh: true })).chain.intact).toBe(true);
  });
});

describe('device signing keys', () => {
  it('are non-extractable; a remembered device signs without the password; one without them is told to unlock', async () => {
    const [alice, bob] = await Promise.all([signedUp('dev-alice'), signedUp('dev-bob')]);
    const signing = alice.deviceSigningKeys();
    expect(signing.map(([id, key]) => [id, key.privateKey.extractable, key.privateKey.usages])).toEqual([[1, false, ['sign']]]);
    await expect(globalThis.crypto.subtle.exportKey('pkcs8', signing[0]![1].privateKey)).rejects.toThrow();
    expect(structuredClone(signing)[0]![1].publicKey).toBe((await alice.keys())[0]!.signing_public_key);

    const session = { token: alice.token!, user: alice.user! };
    const remembered = new SecureChatClient({ baseUrl: server.url, session, keys: alice.deviceKeys(), signingKeys: signing });
    const sent = await remembered.send(bob.user!.username, { text: 'from a remembered device' });
    expect((await bob.read(sent.id)).signature).toBe('valid');

    // Kept from before B 11: RSA keys only. Reading works; sending asks for the password once.
    const older = new SecureChatClient({ baseUrl: server.url, session, keys: alice.deviceKeys(), kdfIterations: 100_000 });
    const refused = await older.send(bob.user!.username, { text: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KeysLockedError);
    expect((refused as Error).message).toMatch(/unlock with your password/);
    await older.unlock(PASSWORD, { currentOnly: true });
    expect(older.deviceKeys().length).toBe(1);
    expect((await older.send(bob.user!.username, { text: 'after unlock' })).signature).not.toBeNull();
  });
});

describe('pins', () => {
  it('live in the PinStore given: another client with the same store sees the contact pinned, and a rotation as "rotated"', async () => {
    const [alice, bob] = await Promise.all([signedUp('pin-alice'), signedUp('pin-bob')]);
    const pins = new MemoryPinStore();
    const first = new SecureChatClient({ baseUrl: server.url, session: { token: bob.token!, user: bob.user! }, pins });
    const status = await first.contact(alice.user!.username);
    const [aliceV1] = await alice.keys();
    expect(pins.all()).toEqual([
      { username: alice.user!.username, signingPublicKey: aliceV1!.signing_public_key, previousKeys: [], pinnedAt: expect.any(String), verifiedKey: null, verifiedAt: null },
    ]);
    expect(status).toMatchObject({ keyChange: 'none', verified: false });

    await alice.rotateKeys(PASSWORD);
    const second = new SecureChatClient({ baseUrl: server.url, session: { token: bob.token!, user: bob.user! }, pins });
    expect(await second.contact(alice.user!.username)).toMatchObject({ keyChange: 'rotated', keyId: 2, problem: null });
    expect(pins.all()[0]!.signingPublicKey).toBe(aliceV1!.signing_public_key); // still the first key
  });

  it('markVerified records the safety number’s key; both sides compute the same number', async () => {
    const [alice, bob] = await Promise.all([signedUp('sn-alice'), signedUp('sn-bob')]);
    const number = await alice.safetyNumber(bob.user!.username);
    expect(number).toMatch(/^\d{5}( \d{5}){11}$/);
    expect(await bob.safetyNumber(alice.user!.username)).toBe(number);
    expect((await alice.contact(bob.user!.username)).verified).toBe(false);
    const marked = await alice.markVerified(bob.user!.username);
    expect(marked).toMatchObject({ verified: true, pin: { verifiedKey: (await bob.keys())[0]!.signing_public_key, verifiedAt: expect.any(String) } });
    await bob.rotateKeys(PASSWORD); // a chained rotation keeps the mark
    expect(await alice.contact(bob.user!.username, { refresh: true })).toMatchObject({ verified: true, keyChange: 'rotated' });
    expect(await alice.safetyNumber(bob.user!.username)).toBe(number); // the first keys decide it
  });
});

describe('live messages', () => {
  it('are checked like read: a text and a signed attachment (fetched whole to check it) arrive valid', async () => {
    const [alice, bob] = await Promise.all([signedUp('live-alice'), signedUp('live-bob')]);
    const got: LiveMessage[] = [];
    const subscription = bob.subscribe({ onMessage: (m) => void got.push(m) });
    try {
      await subscription.ready;
      await alice.send(bob.user!.username, { text: 'live text' });
      await alice.send(bob.user!.username, { text: 'live file', attachment: { data: new Uint8Array([9, 8, 7]), name: 'f.bin' } });
      for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(got.map((m) => [m.text, m.signature, m.keyChange, m.attachment])).toEqual([
        ['live text', 'valid', 'none', null],
        ['live file', 'valid', 'none', null],
      ]);
      expect(await got[1]!.fetchAttachment()).toMatchObject({ name: 'f.bin', data: new Uint8Array([9, 8, 7]) });
    } finally {
      subscription.close();
    }
  });
});

describe('a server without key histories (before B 11)', () => {
  it('is asked once for a sender’s keys, not once per message; its unsigned mail is "unsigned", a signed one "invalid"', async () => {
    const asked: string[] = [];
    const fake: typeof fetch = async (input) => {
      asked.push(new URL(String(input)).pathname);
      return new Response('{"detail": "Not found."}', { status: 404, headers: { 'content-type': 'application/json' } });
    };
    const { privateKey } = (await globalThis.crypto.subtle.generateKey(
      { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['decrypt'],
    )) as CryptoKeyPair;
    const reader = new SecureChatClient({ baseUrl: 'http://127.0.0.1:1', fetch: fake, session: { token: 't', user: { id: 2, username: 'bob' } }, keys: [[1, privateKey]] });
    const message = (id: number, signature: string | null = null): Message => ({
      id, sender: { id: 1, username: 'alice' }, recipient: { id: 2, username: 'bob' }, encrypted_message: '', encrypted_attachment: '', attachment_name: '',
      attachment_mime: '', encrypted_symmetric_key: 'AAAA', message_nonce: '', attachment_nonce: '', sent_at: '2026-11-25T17:56:00.000Z', has_attachment: false,
      key_id: 1, sender_key_id: 1, sender_encrypted_symmetric_key: '', client_id: signature ? '00000000-0000-4000-8000-000000000000' : null, signature,
    });
    for (let id = 1; id <= 3; id++) expect(await reader.open(message(id))).toMatchObject({ signature: 'unsigned', keyChange: 'none', verified: false });
    expect(await reader.open(message(4, 'A'.repeat(86) + '=='))).toMatchObject({ signature: 'invalid', trustProblem: expect.stringMatching(/did not list alice's keys/) });
    expect(asked).toEqual(['/api/users/alice/keys/']);
  });
});

describe('what the server returns stays untouched', () => {
  it('raw messages keep the signature the server stored', async () => {
    const [alice, bob] = await Promise.all([signedUp('raw-alice'), signedUp('raw-bob')]);
    const sent = await alice.send(bob.user!.username, { text: 'raw' });
    const raw: Message = await bob.message(sent.id);
    expect(raw.signature).toBe(sent.signature);
    expect((await bob.read(sent.id)).raw).toEqual(raw);
  });
});
