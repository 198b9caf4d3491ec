/**
 * What the web client builds on: keys that never leave as bytes but can be
 * kept (IndexedDB) and resumed, the server's limits, and send progress.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, SecureChatClient, ValidationError } from '../src/index.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';

const LIMIT = 256 * 1024;
let server: LiveServer;
let n = 0;

async function signedUp(password = 'device-pass-1') {
  const client = new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 });
  await client.register(`device${++n}`, password);
  return client;
}

beforeAll(async () => {
  server = await startLiveServer({ MAX_ATTACHMENT_BYTES: String(LIMIT) });
});
afterAll(() => server.close());

describe('device keys', () => {
  it('are non-extractable: no script can read a private key back out', async () => {
    const alice = await signedUp();
    const keys = alice.deviceKeys();
    expect(keys.map(([id]) => id)).toEqual([1]);
    expect(keys[0]![1].extractable).toBe(false);
    await expect(globalThis.crypto.subtle.exportKey('pkcs8', keys[0]![1])).rejects.toThrow();
  });

  it('resume a session unlocked, without the password, and read what arrived', async () => {
    const [alice, bob] = await Promise.all([signedUp(), signedUp()]);
    const sent = await alice.send(bob.user!.username, { text: 'kept on this device' });
    const resumed = new SecureChatClient({ baseUrl: server.url, session: { token: bob.token!, user: bob.user! }, keys: bob.deviceKeys() });
    expect(resumed.unlocked).toBe(true);
    expect((await resumed.read(sent.id)).text).toBe('kept on this device');
  });

  it('survive a password change: the SDK re-seals from the envelopes, and a wrong current password is a sentence', async () => {
    const [alice, bob] = await Promise.all([signedUp('old-device-pass'), signedUp()]);
    await alice.rotateKeys('old-device-pass');
    const before = await bob.send(alice.user!.username, { text: 'before the change' });
    await expect(alice.changePassword('not-the-password', 'new-device-pass')).rejects.toThrow(ValidationError);
    await alice.changePassword('old-device-pass', 'new-device-pass');
    const fresh = new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 });
    await fresh.login(alice.user!.username, 'new-device-pass');
    expect(fresh.deviceKeys().map(([id]) => id).sort()).toEqual([1, 2]);
    expect((await fresh.read(before.id)).text).toBe('before the change');
  });
});

describe('limits and progress', () => {
  it("tells the server's attachment limit", async () => {
    const alice = await signedUp();
    expect(await alice.limits()).toEqual({ max_attachment_bytes: LIMIT });
  });

  it('reports encrypting, then uploading up to the whole body', async () => {
    const [alice, bob] = await Promise.all([signedUp(), signedUp()]);
    const phases: string[] = [];
    let last = { loaded: 0, total: -1 };
    const data = new Uint8Array(randomBytes(100_000));
    await alice.send(bob.user!.username, { attachment: { data, name: 'a.bin' } }, {
      onProgress: ({ phase, loaded, total }) => {
        phases.push(phase);
        if (phase === 'uploading') last = { loaded, total };
      },
    });
    expect(phases[0]).toBe('encrypting');
    expect(phases.at(-1)).toBe('uploading');
    expect(last.loaded).toBe(last.total);
    expect(last.total).toBeGreaterThan(data.length);
  });
});

describe('fingerprint', () => {
  it('is the SHA-256 of the key, in 16 groups of four hex digits, the same for the same key', async () => {
    const alice = await signedUp();
    const entry = await alice.publicKey(alice.user!.username);
    const print = await fingerprint(entry.public_key);
    expect(print).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){15}$/);
    expect(await fingerprint(`\n${entry.public_key}\n`)).toBe(print);
  });
});
