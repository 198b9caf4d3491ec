/**
 * The SDK against a real listening server: the interop matrix of server-mode
 * and end-to-end clients, rotation, password change, pagination and errors.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, DecryptionError, NetworkError, NotFoundError, SecureChatClient, ValidationError, type Mode } from '../src/index.ts';
import { openEnvelope } from '@securechat/protocol';
import { startLiveServer, type LiveServer } from './live-server.ts';

const LIMIT = 1024 * 1024;
let server: LiveServer;
let n = 0;

function client(mode: Mode = 'e2e') {
  return new SecureChatClient({ baseUrl: server.url, mode, kdfIterations: 100_000 });
}

async function signedUp(mode: Mode = 'e2e', password = 'pass-phrase-1') {
  const c = client(mode);
  await c.register(`${mode}user${++n}`, password);
  return c;
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

beforeAll(async () => {
  server = await startLiveServer({ MAX_ATTACHMENT_BYTES: String(LIMIT) });
});
afterAll(() => server.close());

describe('interop matrix', () => {
  let e2eA: SecureChatClient;
  let e2eB: SecureChatClient;
  let legacyC: SecureChatClient;

  beforeAll(async () => {
    [e2eA, e2eB, legacyC] = await Promise.all([signedUp('e2e'), signedUp('e2e'), signedUp('server')]);
  });

  it.each<[string, () => SecureChatClient, () => SecureChatClient]>([
    ['server mode → e2e', () => legacyC, () => e2eA],
    ['e2e → e2e', () => e2eA, () => e2eB],
    ['e2e → server mode', () => e2eB, () => legacyC],
    ['server mode → itself', () => legacyC, () => legacyC],
  ])('%s: text and an attachment at the size limit arrive byte-exact; the sender reads its copy', async (_, from, to) => {
    const data = new Uint8Array(randomBytes(LIMIT));
    const sent = await from().send(to().user!.username, { text: 'héllo ✉️', attachment: { data, name: 'blob.bin', mime: 'application/octet-stream' } });
    const received = await to().read(sent.id);
    expect(received.text).toBe('héllo ✉️');
    expect(received.attachment?.name).toBe('blob.bin');
    expect(Buffer.from(received.attachment!.data).equals(Buffer.from(data))).toBe(true);
    const copy = (await all(from().sent({ limit: 5 }))).find((m) => m.id === sent.id)!;
    expect(copy.text).toBe('héllo ✉️');
  });

  it('an attachment over the limit is refused in both modes', async () => {
    const data = new Uint8Array(LIMIT + 1);
    await expect(e2eA.send(e2eB.user!.username, { attachment: { data } })).rejects.toMatchObject({ status: 413 });
    await expect(legacyC.send(e2eB.user!.username, { attachment: { data } })).rejects.toMatchObject({ status: 413 });
  });
});

describe('keys', () => {
  it('after a rotation, old and new messages decrypt (both modes)', async () => {
    for (const mode of ['e2e', 'server'] as const) {
      const [me, friend] = await Promise.all([signedUp(mode), signedUp('e2e')]);
      await friend.send(me.user!.username, { text: 'old' });
      const envelope = await me.rotateKeys('pass-phrase-1');
      expect(envelope.key_id).toBe(2);
      await friend.send(me.user!.username, { text: 'new' });
      const inbox = await all(me.inbox());
      expect(inbox.map((m) => [m.text, m.raw.key_id])).toEqual([['new', 2], ['old', 1]]);

      // A fresh login (new process, keys from the server) reads both too.
      const again = client(mode);
      await again.login(me.user!.username, 'pass-phrase-1');
      expect((await all(again.inbox())).map((m) => m.text)).toEqual(['new', 'old']);
    }
  });

  it('after a password change every key version opens with the new password only (both modes)', async () => {
    for (const mode of ['e2e', 'server'] as const) {
      const me = await signedUp(mode, 'first-password');
      const other = client(mode);
      await other.login(me.user!.username, 'first-password');
      await me.rotateKeys('first-password');
      const friend = await signedUp('e2e');
      await friend.send(me.user!.username, { text: `for ${mode}` });

      const envelopes = await me.changePassword('first-password', 'second-password');
      expect(envelopes.map((e) => e.key_id)).toEqual([2, 1]);
      await expect(other.keys()).rejects.toBeInstanceOf(AuthenticationError); // other session revoked

      await expect(client(mode).login(me.user!.username, 'first-password')).rejects.toBeInstanceOf(AuthenticationError);
      const fresh = client(mode);
      await fresh.login(me.user!.username, 'second-password');
      expect((await all(fresh.inbox())).map((m) => m.text)).toEqual([`for ${mode}`]);
      // Each version, one by one, opens with the new password and not the old one.
      for (const envelope of await fresh.keys()) {
        await expect(openEnvelope(envelope, 'second-password')).resolves.toMatch(/BEGIN PRIVATE KEY/);
        await expect(openEnvelope(envelope, 'first-password')).rejects.toThrow();
      }
      await expect(fresh.unlock('first-password')).rejects.toBeInstanceOf(DecryptionError);
    }
  });
});

describe('sessions, users and pages', () => {
  it('iterates pages of messages and users with the Link header', async () => {
    const [me, friend] = await Promise.all([signedUp(), signedUp()]);
    for (let i = 0; i < 5; i++) await friend.send(me.user!.username, { text: `#${i}` });
    const texts = (await all(me.inbox({ limit: 2 }))).map((m) => m.text);
    expect(texts).toEqual(['#4', '#3', '#2', '#1', '#0']);
    const users = await all(me.users({ limit: 1 }));
    expect(users.length).toBeGreaterThan(2);
    expect(users.map((u) => u.user.id)).not.toContain(me.user!.id);
    const found = await all(me.users({ search: friend.user!.username.toUpperCase() }));
    expect(found.map((u) => u.user.username)).toEqual([friend.user!.username]);
  });

  it('resumes a session from a token and unlocks with the password', async () => {
    const me = await signedUp();
    const friend = await signedUp();
    await friend.send(me.user!.username, { text: 'resumed' });
    const resumed = new SecureChatClient({ baseUrl: server.url, session: { token: me.token!, user: me.user! } });
    expect(resumed.unlocked).toBe(false);
    await expect(resumed.read((await all(resumed.messages()))[0]!.id)).rejects.toBeInstanceOf(DecryptionError);
    await resumed.unlock('pass-phrase-1');
    expect((await all(resumed.inbox()))[0]!.text).toBe('resumed');
  });

  it('lists and revokes sessions; logout ends the token', async () => {
    const me = await signedUp();
    const second = client();
    await second.login(me.user!.username, 'pass-phrase-1');
    const sessions = await me.sessions();
    expect(sessions).toHaveLength(2);
    const theirs = sessions.find((s) => !s.current)!;
    await me.revokeSession(theirs.id);
    await expect(second.keys()).rejects.toBeInstanceOf(AuthenticationError);
    await me.logout();
    expect(me.token).toBeNull();
  });
});

describe('errors', () => {
  it('carry the server’s detail and field errors', async () => {
    const me = await signedUp();
    const error = await me.send('nobody-by-that-name', { text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError); // the public-key lookup fails first in e2e mode
    const legacy = await signedUp('server');
    const invalid = await legacy.send('nobody-by-that-name', { text: 'x' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid).toMatchObject({ status: 400, detail: 'Unknown recipient.', errors: { recipient: ['Unknown recipient.'] } });
    await expect(client().login(me.user!.username, 'wrong password')).rejects.toMatchObject({ status: 401, detail: expect.stringMatching(/Unable to log in/) });
  });

  it('a server that cannot be reached is a NetworkError', async () => {
    const offline = new SecureChatClient({ baseUrl: 'http://127.0.0.1:9' });
    await expect(offline.login('a', 'b')).rejects.toBeInstanceOf(NetworkError);
  });
});

describe('the server learns nothing in end-to-end mode', () => {
  it('neither the database file nor the logs hold the plaintext, the password or a private key', async () => {
    const { mkdtempSync, readFileSync, readdirSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'securechat-zk-'));
    const live = await startLiveServer({ DATABASE_URL: `sqlite:${join(dir, 'zk.db')}` });
    try {
      const password = 'zero-knowledge-password-42';
      const plaintext = 'the server must never see this sentence';
      const fileText = 'attachment contents the server must never see';
      const alice = new SecureChatClient({ baseUrl: live.url, kdfIterations: 100_000 });
      const bob = new SecureChatClient({ baseUrl: live.url, kdfIterations: 100_000 });
      await alice.register('zk-alice', password);
      await bob.register('zk-bob', 'another-password-1');
      await alice.send('zk-bob', { text: plaintext, attachment: { data: new TextEncoder().encode(fileText), name: 'secret.txt' } });
      await alice.rotateKeys(password);
      await alice.send('zk-bob', { text: plaintext });
      await alice.login('zk-alice', password);
      expect((await all(bob.inbox())).map((m) => m.text)).toEqual([plaintext, plaintext]);

      const stored = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('\n');
      expect(stored).toContain('zk-alice'); // the scan sees the data
      const observed = stored + live.logs();
      for (const secret of [password, plaintext, fileText, 'PRIVATE KEY', Buffer.from(plaintext).toString('base64')]) {
        expect(observed).not.toContain(secret);
      }
    } finally {
      await live.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
