/**
 * Key versions as a weapon: a password change re-seals every version (two
 * PBKDF2 runs each) on the heavy-crypto pool, so it must not hold up anyone
 * else's login or registration, and rotation stops at MAX_KEY_VERSIONS.
 * Ordering is checked, not timing (the benchmark measures latency).
 */
import { openEnvelope, type Envelope } from '@securechat/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { heavyPoolLoad, runHeavy } from '../src/crypto/heavy-pool.ts';
import { HeavyQueue } from '../src/crypto/heavy-queue.ts';
import { hashPassword, verifyPassword } from '../src/crypto/secrets.ts';
import { call, envelopesOf, register, startApp, type Account, type TestApp } from './helpers.ts';

/** Resolves once `condition` holds, checking every few milliseconds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('the heavy-crypto queue', () => {
  it('gives bulk work to flows in turn: a later request waits for one job of a big one, not all of them', () => {
    const queue = new HeavyQueue<string>();
    const change = {};
    for (const job of ['A1', 'A2', 'A3', 'A4']) queue.push(job, 'bulk', change);
    queue.push('B1', 'bulk', {});
    queue.push('C1', 'bulk', {});
    queue.push('A5', 'bulk', change);
    const order = Array.from({ length: 7 }, () => queue.take('general'));
    expect(order).toEqual(['A1', 'B1', 'C1', 'A2', 'A3', 'A4', 'A5']);
    expect(queue.take('general')).toBeUndefined();
  });

  it('never gives bulk work to the interactive thread, and gives general threads bulk work first', () => {
    const queue = new HeavyQueue<string>();
    queue.push('pbkdf2', 'bulk', {});
    queue.push('login', 'interactive', {});
    queue.push('login2', 'interactive', {});
    expect(queue.waiting).toEqual({ interactive: 2, bulk: 1 });
    expect(queue.take('interactive')).toBe('login');
    expect(queue.take('general')).toBe('pbkdf2'); // interactive work cannot starve bulk work
    expect(queue.hasWorkFor('interactive')).toBe(true);
    expect(queue.take('general')).toBe('login2'); // with no bulk work, general threads help
    expect(queue.hasWorkFor('general')).toBe(false);
    queue.push('keygen', 'bulk', {});
    expect(queue.hasWorkFor('interactive')).toBe(false);
    expect(queue.take('interactive')).toBeUndefined();
  });
});

describe('the heavy-crypto pool', () => {
  it('starts a login verification at once during a long PBKDF2 batch, and another request’s job after one more of the batch', async () => {
    const hash = await hashPassword('plum-orbit-cactus');
    const flow = {};
    const finished: string[] = [];
    const batch = Array.from({ length: 24 }, (_, i) =>
      runHeavy('pbkdf2', { password: Buffer.from('pw'), salt: Buffer.alloc(16, i), iterations: 100_000, keyLength: 32 }, flow).then(() => finished.push(`batch${i}`)),
    );
    await until(() => heavyPoolLoad().running.bulk > 0);
    const { running, waiting } = heavyPoolLoad();

    const verified = verifyPassword(hash, 'plum-orbit-cactus');
    expect(heavyPoolLoad().running.interactive).toBe(1); // on a thread now, not queued behind the batch
    const other = runHeavy('pbkdf2', { password: Buffer.from('pw'), salt: Buffer.alloc(16), iterations: 1000, keyLength: 32 }).then(() => finished.push('other'));
    expect(await verified).toBe(true);
    expect(heavyPoolLoad().waiting.bulk).toBeGreaterThan(waiting.bulk / 2);

    await Promise.all([...batch, other]);
    // after the batch jobs already running and at most one more of the batch (its turn came first)
    expect(finished.indexOf('other')).toBeLessThanOrEqual(running.bulk + 1);
  });
});

describe('password change of an account with many key versions', () => {
  const VERSIONS = 40;
  let t: TestApp;
  let owner: Account;
  let other: Account;

  beforeAll(async () => {
    t = await startApp({ MAX_KEY_VERSIONS: String(VERSIONS) });
    [owner, other] = await Promise.all([register(t.app), register(t.app)]);
    // Versions 2…40 planted as copies of version 1 (sealed under the same password): rotating 39 times would generate 39 RSA keys.
    const [first] = await t.store.users.keys(owner.id);
    const { public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations } = first!;
    for (let i = 2; i <= VERSIONS; i++) {
      await t.store.users.addKeyVersionAs(owner.id, { public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, sealed_by: 'server' }, new Date().toISOString());
    }
  });
  afterAll(() => t.close());

  it('lets another user log in before its re-sealing is done, and re-seals every version', async () => {
    const original = await openEnvelope(owner.profile, owner.password);
    const newPassword = 'tangerine-glacier-77';
    let changed = false;
    const change = call(t.app, 'POST', '/api/auth/password/', { token: owner.token, body: { old_password: owner.password, new_password: newPassword } }).then((res) => {
      changed = true;
      return res;
    });
    await until(() => heavyPoolLoad().running.bulk > 0); // the re-sealing has begun
    const before = heavyPoolLoad().finished.bulk;
    const login = await call(t.app, 'POST', '/api/auth/login/', { body: { username: other.username, password: other.password } });
    expect(login.statusCode).toBe(200);
    expect(changed).toBe(false);
    // Queued behind the change, the login would have waited for all 40 envelopes to be opened;
    // it waits for none, so at most the few PBKDF2 runs that fit in its own Argon2 time finish meanwhile.
    expect(heavyPoolLoad().finished.bulk - before).toBeLessThan(VERSIONS / 2);

    const res = await change;
    expect(res.statusCode, res.body).toBe(200);
    const envelopes: Envelope[] = res.json();
    expect(envelopes.map((e) => e.key_id)).toEqual(Array.from({ length: VERSIONS }, (_, i) => VERSIONS - i));
    expect(new Set(envelopes.map((e) => e.private_key_salt)).size).toBe(VERSIONS); // each sealed afresh
    for (const envelope of envelopes) expect(await openEnvelope(envelope, newPassword)).toBe(original);
    await expect(openEnvelope(envelopes[0]!, owner.password)).rejects.toThrow();
    expect(await envelopesOf(t.app, owner)).toEqual(envelopes);
    expect((await call(t.app, 'POST', '/api/auth/login/', { body: { username: owner.username, password: newPassword } })).statusCode).toBe(200);
  });
});

describe('MAX_KEY_VERSIONS', () => {
  let t: TestApp;
  let alice: Account;

  beforeAll(async () => {
    t = await startApp({ MAX_KEY_VERSIONS: '3' });
    alice = await register(t.app);
  });
  afterAll(() => t.close());

  const rotate = (password: string) => call(t.app, 'POST', '/api/keys/rotate/', { token: alice.token, body: { password } });

  it('stops rotation at the limit with 409, before checking the password, and adds no key', async () => {
    expect((await rotate(alice.password)).statusCode).toBe(200);
    expect((await rotate(alice.password)).statusCode).toBe(200);
    const full = await rotate(alice.password);
    expect(full.statusCode).toBe(409);
    expect(full.json().detail).toBe('This account has reached the limit of 3 key versions (MAX_KEY_VERSIONS); no further rotation is possible.');
    expect((await rotate('not the password')).statusCode).toBe(409);
    expect((await envelopesOf(t.app, alice)).map((k) => k.key_id)).toEqual([3, 2, 1]);
  });

  it('is checked again as the version is written, so racing rotations cannot pass it', async () => {
    const bob = await register(t.app);
    const results = await Promise.all([1, 2, 3].map(() => call(t.app, 'POST', '/api/keys/rotate/', { token: bob.token, body: { password: bob.password } })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 200, 409]);
    expect((await envelopesOf(t.app, bob)).map((k) => k.key_id)).toEqual([3, 2, 1]);
  });

  it('defaults to 100 and accepts 1 to 10,000', () => {
    expect(loadConfig({}).maxKeyVersions).toBe(100);
    expect(loadConfig({ MAX_KEY_VERSIONS: '10000' }).maxKeyVersions).toBe(10_000);
    for (const bad of ['0', '10001', 'many', '2.5']) {
      expect(() => loadConfig({ MAX_KEY_VERSIONS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ MAX_KEY_VERSIONS: bad })).toThrow(/MAX_KEY_VERSIONS must be a whole number from 1 to 10000/);
    }
  });
});

describe('a password change racing a rotation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('writes nothing when its envelopes miss a key version committed since they were read (that key would stay sealed under the old password)', async () => {
    const owner = await register(t.app, undefined, 'racing-rotation-pw-4');
    const other = await call(t.app, 'POST', '/api/auth/login/', { body: { username: owner.username, password: owner.password } });
    const keysBefore = await t.store.users.keys(owner.id); // what the password change read: version 1 only
    expect((await call(t.app, 'POST', '/api/keys/rotate/', { token: owner.token, body: { password: owner.password } })).statusCode).toBe(200);

    const hashBefore = (await t.store.users.findByUsername(owner.username))!.password_hash;
    const replaced = await t.store.users.replaceSecrets({
      userId: owner.id,
      passwordHash: 'not-applied',
      envelopes: keysBefore.map(({ key_id, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, sealed_by, encrypted_signing_key, signing_key_nonce }) => ({
        key_id, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, sealed_by, encrypted_signing_key, signing_key_nonce,
      })),
      keepSessionId: -1,
    });
    expect(replaced).toBe(false);
    expect((await t.store.users.findByUsername(owner.username))!.password_hash).toBe(hashBefore);
    expect((await call(t.app, 'GET', '/api/auth/sessions/', { token: other.json().token })).statusCode).toBe(200); // no session was ended
  });
});
