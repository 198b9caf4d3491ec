/**
 * Part B 11 on the server: signing keys stored and returned verbatim, the key
 * chain link checked on rotate, GET /api/users/{username}/keys/, signed
 * end-to-end sends verified, and password change re-sealing signing keys.
 * Bodies are made with the protocol package, as a client makes them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeBase64,
  encryptMessage,
  generateKeyPair,
  generateSigningKeyPair,
  importPublicKey,
  importSigningKey,
  keyChange,
  openEnvelopeKeys,
  sealPrivateKey,
  signingPublicKeyOf,
  signKeyLink,
  signMessage,
  verifyKeyChain,
  verifyMessageSignature,
  type Envelope,
  type KeyVersion,
  type Message,
} from '@securechat/protocol';
import { call, register, startApp, uniqueName, type TestApp } from './helpers.ts';
import { startLiveServer, WsClient } from './realtime-helpers.ts';
import type { App } from '../src/http/context.ts';

const PASSWORD = 'signing-tests-passphrase';
const ITERATIONS = 100_000; // the server's minimum: keeps the tests quick

/** One key version as a client holds it. */
interface Version {
  keyId: number;
  publicKeyPem: string;
  privateKeyPem: string;
  rsaPublic: CryptoKey;
  signing: { publicKey: string; privateKey: Uint8Array; key: CryptoKey } | null;
}

interface Client {
  id: number;
  username: string;
  token: string;
  versions: Version[];
  current: Version;
}

async function makeVersion(keyId: number, withSigning: boolean): Promise<Version> {
  const pair = await generateKeyPair();
  const signing = withSigning ? await generateSigningKeyPair() : null;
  return {
    keyId,
    publicKeyPem: pair.publicKey,
    privateKeyPem: pair.privateKey,
    rsaPublic: await importPublicKey(pair.publicKey),
    signing: signing && { ...signing, key: await importSigningKey(signing.privateKey) },
  };
}

/** The register/rotate body fields of a version, sealed under PASSWORD. */
async function keyFields(version: Version, password = PASSWORD): Promise<Record<string, unknown>> {
  if (!version.signing) return { public_key: version.publicKeyPem, ...(await sealPrivateKey(version.privateKeyPem, password, { iterations: ITERATIONS })) };
  const sealed = await sealPrivateKey(version.privateKeyPem, password, { iterations: ITERATIONS, signingKey: version.signing.privateKey });
  return { public_key: version.publicKeyPem, ...sealed, signing_public_key: version.signing.publicKey };
}

async function registerClient(app: App, withSigning = true, username = uniqueName('signer')): Promise<Client & { profile: Envelope }> {
  const version = await makeVersion(1, withSigning);
  const res = await call(app, 'POST', '/api/auth/register/', { body: { username, password: PASSWORD, ...(await keyFields(version)) } });
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.user.id, username, token: body.token, versions: [version], current: version, profile: body.profile };
}

/** Rotates to a new version; `keySignature` defaults to the current version vouching for key id current + 1. */
async function rotate(app: App, client: Client, options: { withSigning?: boolean; keySignature?: string | null; version?: Version } = {}) {
  const next = options.version ?? (await makeVersion(client.current.keyId + 1, options.withSigning ?? true));
  const keySignature =
    options.keySignature !== undefined
      ? options.keySignature
      : client.current.signing && next.signing
        ? await signKeyLink(client.current.signing.key, { username: client.username, keyId: next.keyId, publicKeyPem: next.publicKeyPem, signingPublicKey: next.signing.publicKey })
        : null;
  const res = await call(app, 'POST', '/api/keys/rotate/', {
    token: client.token,
    body: { password: PASSWORD, ...(await keyFields(next)), ...(keySignature !== null ? { key_signature: keySignature } : {}) },
  });
  if (res.statusCode === 200) {
    client.versions.push(next);
    client.current = next;
  }
  return res;
}

/** An end-to-end send body, signed by the sender's current signing key unless `sign` is false. */
async function e2eBody(from: Client, to: Client, text: string, options: { sign?: boolean; attachment?: Uint8Array; name?: string; mime?: string } = {}) {
  const fields = await encryptMessage({ text, attachment: options.attachment }, { recipient: to.current.rsaPublic, sender: from.current.rsaPublic });
  const body: Record<string, unknown> = {
    recipient: to.username,
    key_id: to.current.keyId,
    sender_key_id: from.current.keyId,
    client_id: randomUUID(),
    ...fields,
    ...(options.attachment ? { attachment_name: options.name ?? 'file.bin', attachment_mime: options.mime ?? 'application/octet-stream' } : {}),
  };
  for (const key of Object.keys(body)) if (body[key] === '') delete body[key];
  if (options.sign ?? true) {
    body.signature = await signMessage(from.current.signing!.key, {
      sender: from.username,
      recipient: to.username,
      ...(body as { client_id: string; key_id: number; sender_key_id: number; encrypted_symmetric_key: string }),
    });
  }
  return body;
}

const sendAs = (app: App, from: Client, body: Record<string, unknown>) => call(app, 'POST', '/api/messages/send/', { token: from.token, body });

function expect400(res: { statusCode: number; json(): any }, field: string, pattern?: RegExp) {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(400);
  expect(res.json().errors).toHaveProperty([field]);
  if (pattern) expect(res.json().detail).toMatch(pattern);
}

let t: TestApp;
let alice: Client & { profile: Envelope };
let bob: Client & { profile: Envelope };

beforeAll(async () => {
  t = await startApp();
  [alice, bob] = await Promise.all([registerClient(t.app), registerClient(t.app)]);
});
afterAll(() => t.close());

describe('register: signing keys stored and returned verbatim', () => {
  it('every envelope and public-key answer carries the fields as sent', async () => {
    const v = alice.versions[0]!;
    expect(alice.profile).toMatchObject({ key_id: 1, signing_public_key: v.signing!.publicKey, key_signature: null });
    expect(alice.profile.encrypted_signing_key).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(alice.profile.signing_key_nonce).not.toBe(alice.profile.private_key_nonce);
    const opened = await openEnvelopeKeys(alice.profile, PASSWORD);
    expect(await signingPublicKeyOf(opened.signingKey!)).toBe(v.signing!.publicKey);

    const login = (await call(t.app, 'POST', '/api/auth/login/', { body: { username: alice.username, password: PASSWORD } })).json();
    expect(login.profile).toEqual(alice.profile);
    expect((await call(t.app, 'GET', '/api/keys/', { token: alice.token })).json()).toEqual([alice.profile]);

    const entry = (await call(t.app, 'GET', `/api/users/${alice.username.toUpperCase()}/public-key/`, { token: bob.token })).json();
    expect(entry).toEqual({ user: { id: alice.id, username: alice.username }, public_key: v.publicKeyPem, key_id: 1, signing_public_key: v.signing!.publicKey, key_signature: null });
    const listed = (await call(t.app, 'GET', `/api/users/?search=${alice.username}`, { token: bob.token })).json();
    expect(listed).toEqual([entry]);
  });

  it('server-made keys and clients without signing keys get nulls', async () => {
    const plain = await register(t.app, uniqueName('plain'));
    expect(plain.profile).toMatchObject({ signing_public_key: null, key_signature: null, encrypted_signing_key: null, signing_key_nonce: null });
    const unsigned = await registerClient(t.app, false);
    expect(unsigned.profile).toMatchObject({ signing_public_key: null, key_signature: null, encrypted_signing_key: null, signing_key_nonce: null });
    const entry = (await call(t.app, 'GET', `/api/users/${plain.username}/public-key/`, { token: bob.token })).json();
    expect(entry).toMatchObject({ signing_public_key: null, key_signature: null });
  });

  it('refuses malformed signing fields with 400', async () => {
    const version = await makeVersion(1, true);
    const good = await keyFields(version);
    const attempt = (fields: Record<string, unknown>) => call(t.app, 'POST', '/api/auth/register/', { body: { username: uniqueName('bad'), password: PASSWORD, ...fields } });
    const without = (...names: string[]) => Object.fromEntries(Object.entries(good).filter(([k]) => !names.includes(k)));
    for (const missing of ['signing_public_key', 'encrypted_signing_key', 'signing_key_nonce']) {
      expect400(await attempt(without(missing)), missing, /together/);
    }
    expect400(await attempt({ ...good, signing_public_key: null }), 'signing_public_key', /together/);
    expect400(await attempt({ signing_public_key: version.signing!.publicKey }), 'signing_public_key', /client-made key pair/);
    expect400(await attempt({ ...good, signing_public_key: encodeBase64(new Uint8Array(31)) }), 'signing_public_key');
    expect400(await attempt({ ...good, signing_public_key: 'QUJD$$$$' }), 'signing_public_key');
    expect400(await attempt({ ...good, signing_key_nonce: good.private_key_nonce }), 'signing_key_nonce', /differ/);
    expect400(await attempt({ ...good, signing_key_nonce: encodeBase64(new Uint8Array(11)) }), 'signing_key_nonce');
    expect400(await attempt({ ...good, encrypted_signing_key: encodeBase64(new Uint8Array(16)) }), 'encrypted_signing_key');
    expect400(await attempt({ ...good, encrypted_signing_key: 'not base64' }), 'encrypted_signing_key');
    expect400(await attempt({ ...good, key_signature: encodeBase64(new Uint8Array(64)) }), 'key_signature', /registration/);
    expect400(await attempt({ ...without('signing_public_key', 'encrypted_signing_key', 'signing_key_nonce'), key_signature: encodeBase64(new Uint8Array(64)) }), 'key_signature');
  });
});

describe('rotate: the chain link', () => {
  it('accepts the current version vouching for current + 1, and the keys endpoint shows a chain a client verifies', async () => {
    const carol = await registerClient(t.app);
    for (let i = 0; i < 3; i++) expect((await rotate(t.app, carol)).statusCode).toBe(200);
    const res = await call(t.app, 'GET', `/api/users/${carol.username}/keys/`, { token: bob.token });
    expect(res.statusCode).toBe(200);
    const versions: KeyVersion[] = res.json();
    expect(versions.map((v) => v.key_id)).toEqual([1, 2, 3, 4]);
    expect(versions.map((v) => v.signing_public_key)).toEqual(carol.versions.map((v) => v.signing!.publicKey));
    expect(versions.map((v) => Object.keys(v).sort())).toEqual(Array(4).fill(['created_at', 'key_id', 'key_signature', 'public_key', 'signing_public_key']));
    const chain = await verifyKeyChain(carol.username, versions);
    expect(chain.links.map((l) => l.status)).toEqual(['start', 'vouched', 'vouched', 'vouched']);
    expect(keyChange(chain, carol.versions[0]!.signing!.publicKey)).toBe('rotated');

    const envelopes: Envelope[] = (await call(t.app, 'GET', '/api/keys/', { token: carol.token })).json();
    expect(envelopes.map((e) => e.key_id)).toEqual([4, 3, 2, 1]);
    expect(envelopes[0]!.key_signature).toBe(versions[3]!.key_signature);
    const entry = (await call(t.app, 'GET', `/api/users/${carol.username}/public-key/`, { token: bob.token })).json();
    expect(entry).toMatchObject({ key_id: 4, signing_public_key: versions[3]!.signing_public_key, key_signature: versions[3]!.key_signature });
  });

  it('refuses a rotation that would end or fake the chain', async () => {
    const dave = await registerClient(t.app);
    const other = await generateSigningKeyPair();
    const otherKey = await importSigningKey(other.privateKey);
    const next = await makeVersion(2, true);
    const link = (keyId: number, username = dave.username) => ({ username, keyId, publicKeyPem: next.publicKeyPem, signingPublicKey: next.signing!.publicKey });

    expect400(await rotate(t.app, dave, { withSigning: false }), 'signing_public_key', /signing key/);
    const serverMade = await call(t.app, 'POST', '/api/keys/rotate/', { token: dave.token, body: { password: PASSWORD } });
    expect400(serverMade, 'signing_public_key', /client-made/);
    expect400(await rotate(t.app, dave, { version: next, keySignature: null }), 'key_signature', /required/);
    expect400(await rotate(t.app, dave, { version: next, keySignature: await signKeyLink(otherKey, link(2)) }), 'key_signature', /does not verify/);
    expect400(await rotate(t.app, dave, { version: next, keySignature: await signKeyLink(dave.current.signing!.key, link(3)) }), 'key_signature', /does not verify/);
    expect400(await rotate(t.app, dave, { version: next, keySignature: await signKeyLink(dave.current.signing!.key, link(2, 'mallory')) }), 'key_signature');
    expect400(await rotate(t.app, dave, { version: next, keySignature: encodeBase64(new Uint8Array(63)) }), 'key_signature');
    expect((await call(t.app, 'GET', '/api/keys/', { token: dave.token })).json()).toHaveLength(1);
    expect((await rotate(t.app, dave, { version: next })).statusCode).toBe(200);
  });

  it('a rotation that lost the race to another one is 409', async () => {
    const erin = await registerClient(t.app);
    const users = t.store.users;
    const keyVersion = users.keyVersion.bind(users);
    let raced = false;
    // Another rotation (another server, another device) commits version 2 right after this one read version 1.
    users.keyVersion = async (userId, keyId) => {
      const found = await keyVersion(userId, keyId);
      if (userId === erin.id && !raced) {
        raced = true;
        const meanwhile = await makeVersion(2, true);
        await users.addKeyVersionAs(erin.id, { public_key: meanwhile.publicKeyPem, ...(await sealPrivateKey(meanwhile.privateKeyPem, PASSWORD, { iterations: ITERATIONS })), sealed_by: 'client' }, new Date().toISOString());
      }
      return found;
    };
    try {
      const res = await rotate(t.app, erin);
      expect(res.statusCode).toBe(409);
      expect(res.json().detail).toMatch(/Another rotation made key version 2/);
    } finally {
      users.keyVersion = keyVersion;
    }
    expect(await users.addKeyVersionAs(erin.id, { public_key: erin.current.publicKeyPem, encrypted_private_key: 'x', private_key_nonce: 'x', private_key_salt: 'x', private_key_iterations: 1, sealed_by: 'client' }, '', Infinity, 2)).toBe('raced');
  });

  it('an account without a signing key may start a chain (key_signature null), and not claim one', async () => {
    const frank = await registerClient(t.app, false);
    expect400(await rotate(t.app, frank, { keySignature: encodeBase64(new Uint8Array(64)) }), 'key_signature', /starts your chain/);
    expect((await rotate(t.app, frank)).statusCode).toBe(200);
    expect((await rotate(t.app, frank)).statusCode).toBe(200);
    const versions = (await call(t.app, 'GET', `/api/users/${frank.username}/keys/`, { token: frank.token })).json();
    expect((await verifyKeyChain(frank.username, versions)).links.map((l) => l.status)).toEqual(['unsigned', 'start', 'vouched']);

    // a server-mode account too: its client-made key with a signing key starts the chain at version 2
    const plain = await register(t.app, uniqueName('plain'), PASSWORD);
    const client: Client = { ...plain, versions: [], current: { keyId: 1, signing: null } as Version };
    expect((await rotate(t.app, client)).statusCode).toBe(200);
    const history = (await call(t.app, 'GET', `/api/users/${plain.username}/keys/`, { token: plain.token })).json();
    expect((await verifyKeyChain(plain.username, history)).links.map((l) => l.status)).toEqual(['unsigned', 'start']);
  });

  it('the keys endpoint needs a token and a known user', async () => {
    expect((await call(t.app, 'GET', `/api/users/${alice.username}/keys/`)).statusCode).toBe(401);
    expect((await call(t.app, 'GET', '/api/users/nobody-here/keys/', { token: alice.token })).statusCode).toBe(404);
    expect((await call(t.app, 'GET', `/api/users/${alice.username}/keys`, { token: bob.token })).statusCode).toBe(200);
  });
});

describe('signed sends', () => {
  it('stores a verified signature and returns it verbatim everywhere', async () => {
    const body = await e2eBody(alice, bob, 'signed hello', { attachment: new Uint8Array([1, 2, 3]), name: 'naïve résumé ✓.pdf', mime: 'application/pdf' });
    const res = await sendAs(t.app, alice, body);
    expect(res.statusCode, res.body).toBe(201);
    const sent: Message = res.json();
    expect(sent.signature).toBe(body.signature);
    expect(sent.attachment_name).toBe('naïve résumé ✓.pdf');
    expect(await verifyMessageSignature(alice.current.signing!.publicKey, sent)).toBe(true);

    const byId: Message = (await call(t.app, 'GET', `/api/messages/${sent.id}/`, { token: bob.token })).json();
    const inbox: Message[] = (await call(t.app, 'GET', '/api/messages/', { token: bob.token })).json();
    const outbox: Message[] = (await call(t.app, 'GET', '/api/messages/?direction=sent', { token: alice.token })).json();
    for (const copy of [byId, inbox.find((m) => m.id === sent.id)!, outbox.find((m) => m.id === sent.id)!]) {
      expect(copy).toEqual(sent);
      expect(await verifyMessageSignature(alice.current.signing!.publicKey, copy)).toBe(true);
    }
  });

  it('refuses a forged signature, and every malformed or misplaced one, with 400', async () => {
    const base = await e2eBody(alice, bob, 'the real text');
    const forgedBy = await importSigningKey((await generateSigningKeyPair()).privateKey);
    const { signature: _, ...unsigned } = base;
    const forged = { ...unsigned, signature: await signMessage(forgedBy, { sender: alice.username, recipient: bob.username, ...(unsigned as any) }) };
    expect400(await sendAs(t.app, alice, forged), 'signature', /does not verify/);
    // a real signature over other bytes: re-labelled recipient, swapped ciphertext, another client_id
    const other = await e2eBody(alice, bob, 'another text');
    expect400(await sendAs(t.app, alice, { ...base, encrypted_message: other.encrypted_message, message_nonce: other.message_nonce }), 'signature', /does not verify/);
    expect400(await sendAs(t.app, alice, { ...base, client_id: randomUUID() }), 'signature', /does not verify/);
    expect400(await sendAs(t.app, alice, { ...base, recipient: alice.username, key_id: alice.current.keyId }), 'signature', /does not verify/);
    // shapes
    expect400(await sendAs(t.app, alice, { ...base, signature: encodeBase64(new Uint8Array(63)) }), 'signature', /64 bytes/);
    expect400(await sendAs(t.app, alice, { ...base, signature: 'QUJD$$$$' }), 'signature');
    const { client_id: __, ...noClientId } = base;
    expect400(await sendAs(t.app, alice, noClientId), 'client_id', /client_id/);
    const { sender_key_id: ___, sender_encrypted_symmetric_key: ____, ...noSenderKey } = base;
    expect400(await sendAs(t.app, alice, noSenderKey), 'sender_key_id');
    expect400(await sendAs(t.app, alice, { recipient: bob.username, message: 'plain', signature: base.signature }), 'signature', /end-to-end/);
    // an account whose current version has a signing key must sign
    expect400(await sendAs(t.app, alice, unsigned), 'signature', /required/);
    expect((await call(t.app, 'GET', '/api/messages/?direction=sent&limit=200', { token: alice.token })).json().map((m: Message) => m.client_id)).not.toContain(base.client_id);
    expect((await sendAs(t.app, alice, base)).statusCode).toBe(201);
  });

  it('is idempotent with its signature: the same body is 200, another signature 409', async () => {
    const body = await e2eBody(alice, bob, 'once');
    const first = await sendAs(t.app, alice, body);
    expect(first.statusCode).toBe(201);
    const again = await sendAs(t.app, alice, body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    const flipped = Buffer.from(body.signature as string, 'base64');
    flipped[0]! ^= 1;
    expect((await sendAs(t.app, alice, { ...body, signature: flipped.toString('base64') })).statusCode).toBe(409);
  });

  it('after a rotation, only the new version signs', async () => {
    const gina = await registerClient(t.app);
    const old = gina.current;
    expect((await rotate(t.app, gina)).statusCode).toBe(200);
    // a message signed by the rotated-out key, claiming the new sender_key_id
    const body = await e2eBody({ ...gina, current: { ...gina.current, signing: old.signing } }, bob, 'old key');
    expect400(await sendAs(t.app, gina, body), 'signature', /does not verify/);
    const stale = await e2eBody({ ...gina, current: old }, bob, 'old version');
    expect400(await sendAs(t.app, gina, stale), 'sender_key_id', /current key/);
    expect((await sendAs(t.app, gina, await e2eBody(gina, bob, 'new key'))).statusCode).toBe(201);
  });

  it('accounts without signing keys send as before: unsigned, and may not sign', async () => {
    const henry = await registerClient(t.app, false);
    const unsigned = await e2eBody(henry, bob, 'unsigned e2e', { sign: false });
    const res = await sendAs(t.app, henry, unsigned);
    expect(res.statusCode).toBe(201);
    expect(res.json().signature).toBeNull();
    const claimed = { ...(await e2eBody(henry, bob, 'claims', { sign: false })), signature: encodeBase64(new Uint8Array(64).fill(7)) };
    expect400(await sendAs(t.app, henry, claimed), 'signature');

    const plain = await register(t.app, uniqueName('plain'));
    const serverMode = await call(t.app, 'POST', '/api/messages/send/', { token: plain.token, body: { recipient: bob.username, message: 'server mode' } });
    expect(serverMode.statusCode).toBe(201);
    expect(serverMode.json().signature).toBeNull();
  });

  it('older rows (no signature column value) read as unsigned', async () => {
    const [row] = await t.store.db.selectFrom('messages').selectAll().where('sender_id', '=', alice.id).limit(1).execute();
    const { id: _, signature: __, ...columns } = row!;
    const id = await t.store.messages.insert({ ...columns, client_id: null, request_digest: null });
    const read = (await call(t.app, 'GET', `/api/messages/${id}/`, { token: bob.token })).json();
    expect(read.signature).toBeNull();
  });
});

describe('realtime events carry the signature', () => {
  it('in catch-up and live message events', async () => {
    const s = await startLiveServer();
    try {
      const [a, b] = await Promise.all([registerClient(s.app), registerClient(s.app)]);
      const first = await e2eBody(a, b, 'before connecting');
      expect((await sendAs(s.app, a, first)).statusCode).toBe(201);
      const ws = await WsClient.open(s, '/api/ws/?after_id=0', { 'x-auth-token': b.token });
      await ws.ready();
      const live = await e2eBody(a, b, 'while connected');
      expect((await sendAs(s.app, a, live)).statusCode).toBe(201);
      await ws.until((frames) => frames.filter((f) => f.type === 'message').length === 2);
      expect(ws.messages().map((f) => f.message.signature)).toEqual([first.signature, live.signature]);
      ws.close();
    } finally {
      await s.close();
    }
  });
});

describe('password change re-seals signing keys', () => {
  async function resealed(client: Client, newPassword: string, drop?: 'signing' | 'nonce-reuse' | 'extra') {
    const envelopes: Envelope[] = (await call(t.app, 'GET', '/api/keys/', { token: client.token })).json();
    return Promise.all(
      envelopes.map(async (envelope, i) => {
        const opened = await openEnvelopeKeys(envelope, PASSWORD);
        const options = { iterations: ITERATIONS };
        const sealed = opened.signingKey
          ? await sealPrivateKey(opened.privateKeyPem, newPassword, { ...options, signingKey: opened.signingKey })
          : await sealPrivateKey(opened.privateKeyPem, newPassword, options);
        const out: Record<string, unknown> = { key_id: envelope.key_id, ...sealed };
        if (i === 0 && drop === 'signing') delete out.encrypted_signing_key;
        if (i === 0 && drop === 'nonce-reuse') out.signing_key_nonce = out.private_key_nonce;
        if (drop === 'extra' && !opened.signingKey) Object.assign(out, { encrypted_signing_key: encodeBase64(new Uint8Array(64)), signing_key_nonce: envelope.private_key_nonce });
        return out;
      }),
    );
  }
  const change = (client: Client, body: Record<string, unknown>) => call(t.app, 'POST', '/api/auth/password/', { token: client.token, body: { old_password: PASSWORD, ...body } });

  it('requires each signing version re-sealed, with its own nonce, and stores them', async () => {
    const ivan = await registerClient(t.app, false);
    expect((await rotate(t.app, ivan)).statusCode).toBe(200); // v1 unsigned, v2 starts the chain
    expect((await rotate(t.app, ivan)).statusCode).toBe(200);
    const next = 'a new signing passphrase';
    expect400(await change(ivan, { new_password: next, envelopes: await resealed(ivan, next, 'signing') }), 'envelopes[0].encrypted_signing_key', /has a signing key/);
    expect400(await change(ivan, { new_password: next, envelopes: await resealed(ivan, next, 'nonce-reuse') }), 'envelopes[0].signing_key_nonce', /differ/);
    expect400(await change(ivan, { new_password: next, envelopes: await resealed(ivan, next, 'extra') }), 'envelopes[2].encrypted_signing_key', /no signing key/);
    const res = await change(ivan, { new_password: next, envelopes: await resealed(ivan, next) });
    expect(res.statusCode, res.body).toBe(200);
    const envelopes: Envelope[] = res.json();
    expect(envelopes.map((e) => e.signing_public_key)).toEqual([ivan.versions[2]!.signing!.publicKey, ivan.versions[1]!.signing!.publicKey, null]);
    for (const [i, envelope] of envelopes.entries()) {
      const opened = await openEnvelopeKeys(envelope, next);
      if (i < 2) expect(await signingPublicKeyOf(opened.signingKey!)).toBe(envelope.signing_public_key);
      else expect(opened.signingKey).toBeNull();
    }
  });

  it('server-side re-seal of a server-mode account is unchanged', async () => {
    const plain = await register(t.app, uniqueName('plain'), PASSWORD);
    const res = await call(t.app, 'POST', '/api/auth/password/', { token: plain.token, body: { old_password: PASSWORD, new_password: 'another long passphrase' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()[0]).toMatchObject({ signing_public_key: null, encrypted_signing_key: null, signing_key_nonce: null, key_signature: null });
  });
});
