/**
 * `npm run import-original` (issue 16): a database of the original Django
 * backend, written by the test from the schema facts, imported with the real
 * command, then served: old passwords log in (and are upgraded to
 * Argon2id), old tokens work, every message decrypts byte for byte, ids and
 * times are kept, rotation and password change work afterwards, odd names
 * log in by their exact name. Refusals (a second import, a corrupt or
 * foreign file, names that differ only in case, a message to nobody) change
 * nothing. Also on PostgreSQL when TEST_DATABASE_URL is set.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope, Message } from '@securechat/protocol';
import { buildApp } from '../src/app.ts';
import { describeDjangoHash, verifyDjangoPassword } from '../src/crypto/django-passwords.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { formatReport, importOriginal, parseDjangoTime } from '../src/tools/import-original.ts';
import { assertBuilt } from './compiled.ts';
import { call, decryptAs, envelopesOf, register, send, testConfig, type Account } from './helpers.ts';
import { BCRYPT_SHA256, OriginalDatabase, standardOriginal } from './original-fixture.ts';
import { createSchema } from './test-database.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'securechat-import-'));
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function importCommand(source: string, databaseUrl: string) {
  assertBuilt('protocol', 'server');
  return spawnSync(process.execPath, ['packages/server/dist/tools/import-original.js', source], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: databaseUrl, TOKEN_TTL_DAYS: '30' },
  });
}

async function serve(databaseUrl: string) {
  const store = await openStore(databaseUrl);
  const app = await buildApp({ config: testConfig({ DATABASE_URL: databaseUrl }), store });
  await app.ready();
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= (async () => (await app.close(), await store.close()))());
  cleanups.push(close);
  return { app, store, close };
}

async function counts(store: Store): Promise<number[]> {
  return Promise.all(
    (['users', 'user_keys', 'sessions', 'messages'] as const).map(async (table) => Number((await store.db.selectFrom(table).select((e) => e.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)),
  );
}

async function storedHash(store: Store, id: number): Promise<string> {
  return (await store.db.selectFrom('users').select('password_hash').where('id', '=', id).executeTakeFirstOrThrow()).password_hash;
}

type App = Awaited<ReturnType<typeof serve>>['app'];

async function login(app: App, username: string, password: string) {
  return call(app, 'POST', '/api/auth/login/', { body: { username, password } });
}

/** An Account as the helpers use it, from a login. */
async function account(app: App, username: string, password: string): Promise<Account> {
  const res = await login(app, username, password);
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json();
  return { id: body.user.id, username: body.user.username, password, token: body.token, profile: body.profile };
}

describe('Django password hashes', () => {
  // Django's own test vectors (tests/auth_tests/test_hashers.py) where it has them; PBKDF2 ones computed with Python's hashlib.
  it.each([
    ['pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=', 'pbkdf2_sha256'],
    ['pbkdf2_sha1$1000$seasalt$ljleU4wBmTtz/MoG5YTwxpM0d7I=', 'pbkdf2_sha1'],
    ['scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==', 'scrypt'],
    ['md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3', 'md5'],
    ['sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8', 'sha1'],
    ['88a434c88cca4e900f7874cd98123f43', 'unsalted_md5'],
    ['sha1$$6d138ca3ae545631b3abd71a4f076ce759c5700b', 'sha1'],
  ])('%s verifies "lètmein" and nothing else', async (encoded, algorithm) => {
    expect(describeDjangoHash(encoded)).toEqual({ algorithm, usable: true });
    expect(await verifyDjangoPassword(encoded, 'lètmein')).toBe(true);
    expect(await verifyDjangoPassword(encoded, 'letmein')).toBe(false);
  });

  it('verifies Django argon2 hashes, with and without a version', async () => {
    const old = 'argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg';
    expect(await verifyDjangoPassword(old, 'secret')).toBe(true);
    expect(await verifyDjangoPassword(old, 'Secret')).toBe(false);
  });

  it.each([
    [BCRYPT_SHA256, /bcrypt_sha256 hash: this server cannot verify bcrypt/],
    ['bcrypt$$2b$12$3sAEqT0t4hx0HxUbmF8pIeCsPmC1tLLdyT6tGnWwH/Kef6XQ4MSxO', /bcrypt hash/],
    ['!Qq1e0eP1nZ0Oq4Yg2bFbKqHhCzqP0dEKhU3v0kXb', /marked its password unusable/],
    ['', /no password/],
    ['crypt$$abN/qM.L/H8EQ', /crypt hash/],
    ['pbkdf2_sha256$999999999$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=', /999,999,999 iterations, more than this server verifies \(2,000,000\)/],
    ['pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4', /malformed pbkdf2_sha256/],
    ['argon2$argon2id$v=19$m=4194304,t=2,p=8$c29tZXNhbHQ$YC9+jJCrQhs5R6db7LlN8Qaaaa', /beyond what this server verifies/],
    ['scrypt$1048576$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==', /needs more memory/],
    ['sha256$salt$abc', /not a password hash format this server knows/],
  ])('%s cannot be verified, and says why', async (encoded, reason) => {
    const info = describeDjangoHash(encoded);
    expect(info.usable).toBe(false);
    expect(info.usable ? '' : info.reason).toMatch(reason);
    expect(await verifyDjangoPassword(encoded, 'lètmein')).toBe(false);
  });
});

describe('Django times', () => {
  it('become ISO 8601 UTC with milliseconds, truncated as toISOString keeps them', () => {
    expect(parseDjangoTime('2025-11-16 09:38:58.701170')?.iso).toBe('2025-11-16T09:38:58.701Z');
    expect(parseDjangoTime('2025-11-18 08:15:00')?.iso).toBe('2025-11-18T08:15:00.000Z');
    expect(parseDjangoTime('2025-11-19 10:00:00.999999')?.iso).toBe('2025-11-19T10:00:00.999Z');
    expect(parseDjangoTime('2025-11-19 10:00:00.5+01:00')?.iso).toBe('2025-11-19T09:00:00.500Z');
    expect(parseDjangoTime('2025-11-19 10:00:00.000001')!.micros - parseDjangoTime('2025-11-19 10:00:00')!.micros).toBe(1n);
    for (const bad of ['2025-02-30 10:00:00', '2025-11-19', 'yesterday', 1700000000, null]) expect(parseDjangoTime(bad)).toBeUndefined();
  });
});

describe('importing the original database into SQLite', () => {
  let fixture: Awaited<ReturnType<typeof standardOriginal>>;
  let source: string;
  let targetUrl: string;
  let app: App;
  let store: Store;
  let output: ReturnType<typeof importCommand>;
  const importedAt = Date.now();

  beforeAll(async () => {
    source = join(dir, 'db.sqlite3');
    fixture = await standardOriginal(source);
    targetUrl = `sqlite:${join(dir, 'chat.db')}`;
    output = importCommand(source, targetUrl);
    ({ app, store } = await serve(targetUrl));
  });

  it('prints a short report and exits 0', () => {
    expect(output.status, output.stderr).toBe(0);
    const out = output.stdout;
    expect(out).toMatch(/^Imported .*db\.sqlite3 into sqlite:.*chat\.db:\n {2}8 users, 8 keys \(key version 1 each\), 6 messages, 2 tokens \(valid until 20\d\d-\d\d-\d\dT[\d:.]+Z\)\.$/m);
    expect(out).toContain('Accounts that cannot log in (3):');
    expect(out).toMatch(/^ {2}"dave" \(id 5\): bcrypt_sha256 hash: this server cannot verify bcrypt .* until its password is reset$/m);
    expect(out).toMatch(/^ {2}"erin" \(id 6\): the original marked its password unusable/m);
    expect(out).toMatch(/^ {2}"frank" \(id 7\): inactive in the original \(is_active = 0\)/m);
    expect(out).toMatch(/^Usernames today's rules refuse, imported as they are: each logs in by its exact name .*\(2\):$/m);
    expect(out).toContain('  "Zoë" [non-ASCII: U+00EB] (id 3)');
    // The hostile name is shown escaped: the bidi override does not reach the operator's terminal.
    expect(out).toContain('  "eve\\u{202E}txt.exe" [non-ASCII: U+202E] (id 9)');
    expect(out).not.toContain('\u202E');
    expect(out).toContain('Tokens left out (1):\n  one of "frank" (id 7): its account is inactive');
    expect(out).toMatch(
      /^Messages that no key can open any more \(1\), imported as they are:\n {2}1 sent before the recipient's key was rotated in the original, which discarded the old key: to "bob" \(id 2\): 1 \(message 1\)$/m,
    );
    expect(out).toContain('senders see "sent before SecureChat: no copy for the sender"');
  });

  it('keeps ids, names, times and ciphertext byte for byte, with key version 1 and no sender copy', async () => {
    const users = await store.db.selectFrom('users').select(['id', 'username', 'username_lower', 'created_at', 'current_key_id']).orderBy('id').execute();
    expect(users.map((u) => [u.id, u.username])).toEqual([
      [1, 'alice'], [2, 'bob'], [3, 'Zoë'], [4, 'carol'], [5, 'dave'], [6, 'erin'], [7, 'frank'], [9, 'eve\u202Etxt.exe'],
    ]);
    expect(users[0]!.created_at).toBe('2025-11-16T09:00:00.125Z');
    expect(users[2]!.username_lower).toBe('zoë');
    const keys = await store.db.selectFrom('user_keys').selectAll().where('user_id', '=', 2).execute();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ key_id: 1, sealed_by: 'server', private_key_iterations: 2_000, created_at: '2025-11-17T12:00:00.000Z', signing_public_key: null });
    expect(keys[0]!.public_key).toBe(fixture.users.bob.publicKey);
    const aliceKey = await store.db.selectFrom('user_keys').select('private_key_iterations').where('user_id', '=', 1).executeTakeFirstOrThrow();
    expect(aliceKey.private_key_iterations).toBe(390_000);

    const rows = await store.db.selectFrom('messages').selectAll().orderBy('id').execute();
    expect(rows.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows.map((m) => m.sent_at)).toEqual([
      '2025-11-16T09:38:58.701Z', '2025-11-18T08:15:00.000Z', '2025-11-18T08:16:01.000Z', '2025-11-19T10:00:00.999Z', '2025-11-19T11:00:00.250Z', '2025-11-20T07:00:00.000Z',
    ]);
    const original = new (await import('better-sqlite3')).default(source, { readonly: true });
    try {
      for (const row of rows) {
        const was = original.prepare('SELECT * FROM chat_message WHERE id = ?').get(row.id) as Record<string, unknown>;
        for (const field of ['encrypted_message', 'encrypted_attachment', 'encrypted_symmetric_key', 'message_nonce', 'attachment_nonce', 'attachment_name', 'attachment_mime']) {
          expect(row[field as keyof typeof row], `message ${row.id} ${field}`).toBe(was[field]);
        }
        expect([row.sender_id, row.recipient_id]).toEqual([was.sender_id, was.recipient_id]);
        expect(row).toMatchObject({ key_id: 1, sender_key_id: null, sender_encrypted_symmetric_key: '', client_id: null, signature: null, has_attachment: was.encrypted_attachment === '' ? 0 : 1 });
      }
    } finally {
      original.close();
    }
  });

  it('lets a user in with the old password once checked, then with our Argon2id hash', async () => {
    const { alice } = fixture.users;
    expect(await storedHash(store, alice.id)).toMatch(/^pbkdf2_sha256\$390000\$/);
    expect((await login(app, 'alice', 'Marmalade-Orbit-1988!')).statusCode).toBe(401);
    expect(await storedHash(store, alice.id)).toMatch(/^pbkdf2_sha256\$/);
    const first = await login(app, 'alice', alice.password);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().profile).toMatchObject({ key_id: 1, private_key_iterations: 390_000, public_key: alice.publicKey });
    expect(await storedHash(store, alice.id)).toMatch(/^\$argon2id\$/);
    expect((await login(app, 'ALICE', alice.password)).statusCode).toBe(200);
    expect((await login(app, 'alice', 'Marmalade-Orbit-1988!')).statusCode).toBe(401);
    // Django's argon2 format too.
    expect((await login(app, 'carol', fixture.users.carol.password)).statusCode).toBe(200);
    expect(await storedHash(store, fixture.users.carol.id)).toMatch(/^\$argon2id\$/);
  });

  it('keeps out the accounts the report lists, and the inactive account’s token', async () => {
    for (const name of ['dave', 'erin', 'frank']) {
      const res = await login(app, name, name === 'frank' ? fixture.users.frank.password : 'unknowable');
      expect(res.statusCode, name).toBe(401);
      expect(res.json().detail).toBe('Unable to log in with the provided credentials.');
    }
    expect(await storedHash(store, fixture.users.dave.id)).toBe(BCRYPT_SHA256);
    expect((await call(app, 'GET', '/api/messages/', { token: fixture.tokens.frank })).statusCode).toBe(401);
  });

  it('serves old tokens: the inbox, and the session listed to expire one token lifetime after the import', async () => {
    const inbox = await call(app, 'GET', '/api/messages/', { token: fixture.tokens.bob });
    expect(inbox.statusCode).toBe(200);
    expect((inbox.json() as Message[]).map((m) => m.id)).toEqual([2, 1]);
    const sessions = await call(app, 'GET', '/api/auth/sessions/', { token: fixture.tokens.bob });
    expect(sessions.statusCode).toBe(200);
    const [session] = sessions.json();
    expect(session).toMatchObject({ created_at: '2025-11-18T08:00:00.123Z', current: true, user_agent: 'imported from the original backend' });
    const expires = Date.parse(session.expires_at);
    expect(expires).toBeGreaterThanOrEqual(importedAt + 30 * 86_400_000 - 60_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
  });

  it('decrypts every message byte for byte for its recipient, except the one sent before a rotation', async () => {
    const { alice, bob, zoe } = fixture.users;
    const bobAccount: Account = { ...bob, token: fixture.tokens.bob, profile: undefined as unknown as Envelope };
    const bobEnvelopes = await envelopesOf(app, bobAccount);
    const [withFile, beforeRotation] = (await call(app, 'GET', '/api/messages/', { token: fixture.tokens.bob })).json() as Message[];
    const opened = await decryptAs(bobAccount, bobEnvelopes, withFile!);
    expect(opened.text).toBe('Grüße, Bob — 🔐 after the rotation');
    expect(Buffer.from(opened.attachment!)).toEqual(fixture.attachment);
    expect(withFile).toMatchObject({ attachment_name: 'résumé ✓.pdf', attachment_mime: 'application/pdf', has_attachment: true, key_id: 1, sender_key_id: null, sender_encrypted_symmetric_key: '' });
    expect(withFile!.sender).toEqual({ id: alice.id, username: 'alice' });
    await expect(decryptAs(bobAccount, bobEnvelopes, beforeRotation!)).rejects.toThrow();

    const aliceAccount = { ...alice, token: fixture.tokens.alice, profile: undefined as unknown as Envelope };
    const aliceInbox = (await call(app, 'GET', '/api/messages/', { token: fixture.tokens.alice })).json() as Message[];
    const aliceEnvelopes = await envelopesOf(app, aliceAccount);
    const texts = await Promise.all(aliceInbox.map(async (m) => (await decryptAs(aliceAccount, aliceEnvelopes, m)).text));
    expect(texts).toEqual(['carol here', 'from zoë', 'hello alice\nsecond line']);

    const zoeAccount = await account(app, 'Zoë', zoe.password);
    const [fileOnly] = (await call(app, 'GET', '/api/messages/', { token: zoeAccount.token })).json() as Message[];
    const file = await decryptAs(zoeAccount, await envelopesOf(app, zoeAccount), fileOnly!);
    expect(file.text).toBe('');
    expect(Buffer.from(file.attachment!).toString()).toBe('only a file');
    // The sender's view: no copy to open.
    const sent = (await call(app, 'GET', '/api/messages/?direction=sent', { token: fixture.tokens.alice })).json() as Message[];
    expect(sent.map((m) => [m.id, m.sender_key_id, m.sender_encrypted_symmetric_key])).toEqual([[5, null, ''], [2, null, ''], [1, null, '']]);
  });

  it('lets a name today’s rules refuse log in by its exact name, and be found, listed and written to; ids continue past the original’s', async () => {
    const { zoe, alice } = fixture.users;
    expect((await login(app, 'Zoë', zoe.password)).statusCode).toBe(200);
    expect((await login(app, 'zoë', zoe.password)).statusCode).toBe(200); // ASCII case is ignored, as for every name
    expect((await login(app, 'ZOË', zoe.password)).statusCode).toBe(401); // non-ASCII letters are compared exactly
    expect((await login(app, 'Zoe', zoe.password)).statusCode).toBe(401); // no folding into ASCII
    const key = await call(app, 'GET', `/api/users/${encodeURIComponent('Zoë')}/public-key/`, { token: fixture.tokens.alice });
    expect(key.statusCode).toBe(200);
    expect(key.json()).toMatchObject({ user: { id: 3, username: 'Zoë' }, key_id: 1, public_key: zoe.publicKey });
    const hostile = await call(app, 'GET', `/api/users/${encodeURIComponent('eve\u202Etxt.exe')}/public-key/`, { token: fixture.tokens.alice });
    expect(hostile.json().user).toEqual({ id: 9, username: 'eve\u202Etxt.exe' });
    const names = async (query: string) =>
      ((await call(app, 'GET', `/api/users/${query}`, { token: fixture.tokens.alice })).json() as Array<{ user: { username: string } }>).map((u) => u.user.username);
    expect(await names('')).toEqual(['bob', 'Zoë', 'carol', 'dave', 'erin', 'frank', 'eve\u202Etxt.exe']);
    expect(await names(`?search=${encodeURIComponent('zo')}`)).toEqual(['Zoë']);
    expect(await names(`?search=${encodeURIComponent('Zoë')}`)).toEqual(['Zoë']);
    expect(await names('?search=e')).toEqual(['erin', 'eve\u202Etxt.exe']);
    const aliceAccount = { ...alice, token: fixture.tokens.alice, profile: undefined as unknown as Envelope };
    const sentToZoe = await send(app, aliceAccount, { recipient: 'Zoë', message: 'to an imported name' });
    expect(sentToZoe.recipient).toEqual({ id: 3, username: 'Zoë' });
    expect(sentToZoe.id).toBe(8); // the first new message: the original had given id 7 (deleted since)
    // New registrations keep today's rules; an ASCII look-alike is another account.
    expect((await call(app, 'POST', '/api/auth/register/', { body: { username: 'Zoë', password: 'Fjord-lantern-2212' } })).statusCode).toBe(400);
    const zoeAscii = await register(app, 'Zoe', 'Fjord-lantern-2213');
    expect(zoeAscii.id).toBe(10); // the first new user: past eve's 9
  });

  it('works on after the import: rotation, new messages with sender copies, password change', async () => {
    const { alice, bob } = fixture.users;
    // bob rotates: version 2, at today's parameters; his old messages still open with version 1.
    const bobAccount = await account(app, 'bob', bob.password);
    const rotated = await call(app, 'POST', '/api/keys/rotate/', { token: bobAccount.token, body: { password: bob.password } });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(rotated.json().key_id).toBe(2);
    const aliceAccount = await account(app, 'alice', alice.password);
    const next = await send(app, aliceAccount, { recipient: 'bob', message: 'after the import' });
    expect(next.id).toBe(9);
    expect(next.key_id).toBe(2);
    const bobEnvelopes = await envelopesOf(app, bobAccount);
    const bobInbox = (await call(app, 'GET', '/api/messages/', { token: bobAccount.token })).json() as Message[];
    expect((await decryptAs(bobAccount, bobEnvelopes, bobInbox.find((m) => m.id === 9)!)).text).toBe('after the import');
    expect((await decryptAs(bobAccount, bobEnvelopes, bobInbox.find((m) => m.id === 2)!)).text).toBe('Grüße, Bob — 🔐 after the rotation');
    // The new message has a sender copy, as every SecureChat message does.
    const aliceEnvelopes = await envelopesOf(app, aliceAccount);
    expect((await decryptAs(aliceAccount, aliceEnvelopes, next, 'sender')).text).toBe('after the import');

    // alice changes her password: the 390,000-round envelope is re-sealed at today's rounds, old mail still opens, the old token is revoked.
    const newPassword = 'Marmalade-Orbit-2026?';
    const changed = await call(app, 'POST', '/api/auth/password/', { token: aliceAccount.token, body: { old_password: alice.password, new_password: newPassword } });
    expect(changed.statusCode, changed.body).toBe(200);
    const envelopes = changed.json() as Envelope[];
    expect(envelopes.map((e) => [e.key_id, e.private_key_iterations])).toEqual([[1, testConfig().kdfIterations]]);
    expect((await call(app, 'GET', '/api/messages/', { token: fixture.tokens.alice })).statusCode).toBe(401);
    expect((await login(app, 'alice', alice.password)).statusCode).toBe(401);
    const renewed = await account(app, 'alice', newPassword);
    const inbox = (await call(app, 'GET', '/api/messages/', { token: renewed.token })).json() as Message[];
    expect((await decryptAs(renewed, envelopes, inbox.find((m) => m.id === 3)!)).text).toBe('hello alice\nsecond line');
  });

  it('refuses a second import into the same database, changing nothing', async () => {
    const before = await counts(store);
    const again = importCommand(source, targetUrl);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^Refused: The database at sqlite:.*chat\.db is not empty \(users has \d+ rows\): import into a new, empty database — nothing was written\.$/m);
    expect(again.stdout).toBe('');
    expect(await counts(store)).toEqual(before);
  });
});

describe('refusals leave the target empty', () => {
  const target = () => `sqlite:${join(dir, `target-${randomBytes(4).toString('hex')}.db`)}`;

  async function expectEmpty(url: string): Promise<void> {
    const path = url.slice('sqlite:'.length);
    if (!existsSync(path)) return;
    const { store } = await serve(url);
    expect(await counts(store)).toEqual([0, 0, 0, 0]);
  }

  it('refuses a file that is not SQLite, or is corrupt', async () => {
    const junk = join(dir, 'junk.sqlite3');
    writeFileSync(junk, randomBytes(8192));
    const url = target();
    const run = importCommand(junk, url);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^Refused: .*junk\.sqlite3 is not a readable SQLite database \(file is not a database\): give the original backend's db\.sqlite3, or an intact copy of it\.$/m);
    await expectEmpty(url);

    const missing = importCommand(join(dir, 'nowhere.sqlite3'), url);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^Refused: .*nowhere\.sqlite3 does not exist/m);
    const usage = importCommand('', url);
    expect(usage.status).toBe(1);
  });

  it('refuses a SQLite file of something else, and a SecureChat database', async () => {
    const foreign = join(dir, 'foreign.sqlite3');
    const Database = (await import('better-sqlite3')).default;
    const other = new Database(foreign);
    other.exec("CREATE TABLE auth_user (id integer primary key, username text); CREATE TABLE notes (body text); INSERT INTO notes VALUES ('hi')");
    other.close();
    const url = target();
    const run = importCommand(foreign, url);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^Refused: This SQLite file is not the original backend's database: it has no auth_user\.password, auth_user\.is_active, auth_user\.date_joined, no table chat_userprofile, no table chat_message, no table chat_authtoken\.$/m);
    await expectEmpty(url);

    const ours = join(dir, 'ours.db');
    const { close } = await serve(`sqlite:${ours}`);
    await close();
    const mixedUp = importCommand(ours, url);
    expect(mixedUp.status).toBe(1);
    expect(mixedUp.stderr).toMatch(/^Refused: This is a SecureChat database, not the original backend's/m);
    await expectEmpty(url);
  });

  it('refuses usernames that differ only in case, listing them, and a message to nobody, writing nothing', async () => {
    const path = join(dir, 'collision.sqlite3');
    const original = new OriginalDatabase(path);
    const pair = await (await import('@securechat/protocol')).generateKeyPair(2048);
    const upper = await original.addUser({ username: 'Alice', password: 'Collision-one-111', envelopeIterations: 1_000, keyPair: pair });
    await original.addUser({ username: 'alice', password: 'Collision-two-222', envelopeIterations: 1_000, keyPair: pair });
    await original.addUser({ username: 'bob', password: 'Collision-bob-333', envelopeIterations: 1_000, keyPair: pair });
    await original.addUser({ username: 'BOB', password: 'Collision-bob-444', envelopeIterations: 1_000, keyPair: pair });
    await original.addUser({ username: 'Bob', password: 'Collision-bob-555', envelopeIterations: 1_000, keyPair: pair });
    await original.addMessage(upper, upper, { text: 'to myself' }, '2025-11-16 10:00:00');
    original.close();
    const url = target();
    const run = importCommand(path, url);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^Refused: 2 things in the original database cannot be imported, so nothing was: fix them in a copy of db\.sqlite3 and import that\.$/m);
    expect(run.stderr).toMatch(/^ {2}- Usernames "Alice" \(id 1\) and "alice" \(id 2\) differ only in case, and SecureChat ignores case in names: rename all but one/m);
    expect(run.stderr).toMatch(/^ {2}- Usernames "bob" \(id 3\), "BOB" \(id 4\) and "Bob" \(id 5\) differ only in case/m);
    await expectEmpty(url);

    // Without the collisions, a message whose recipient is gone: found while copying, so the whole transaction is rolled back.
    const again = new (await import('better-sqlite3')).default(path);
    again.pragma('foreign_keys = OFF');
    again.exec("DELETE FROM chat_userprofile WHERE user_id IN (2, 4, 5); DELETE FROM auth_user WHERE id IN (2, 4, 5)");
    again.exec("INSERT INTO chat_message (encrypted_message, encrypted_attachment, encrypted_symmetric_key, message_nonce, attachment_nonce, attachment_name, attachment_mime, sent_at, recipient_id, sender_id) SELECT encrypted_message, encrypted_attachment, encrypted_symmetric_key, message_nonce, attachment_nonce, attachment_name, attachment_mime, sent_at, 42, sender_id FROM chat_message");
    again.close();
    const orphan = importCommand(path, url);
    expect(orphan.status).toBe(1);
    expect(orphan.stderr).toMatch(/^ {2}- Message 2: its recipient_id 42 is not a user in auth_user\.$/m);
    await expectEmpty(url);
  });
});

const DATABASE_URL = process.env.TEST_DATABASE_URL;

describe.skipIf(!DATABASE_URL)('importing the original database into PostgreSQL', () => {
  it('serves old passwords, tokens and messages from PostgreSQL, continues the ids, and refuses a second import', async () => {
    const source = join(dir, 'for-postgres.sqlite3');
    const fixture = await standardOriginal(source);
    const schema = await createSchema();
    cleanups.push(() => schema.drop());
    const report = await importOriginal(source, schema.url, { tokenTtlDays: 30 });
    expect(report.counts).toEqual({ users: 8, keys: 8, messages: 6, tokens: 2 });
    expect(report.unreadable).toEqual([{ id: 1, recipientId: 2, recipient: 'bob', reason: 'rotated' }]);
    expect(formatReport(report)).toContain('Accounts that cannot log in (3):');

    const { app, store } = await serve(schema.url);
    const { bob, alice, zoe } = fixture.users;
    const bobAccount = await account(app, 'bob', bob.password);
    expect(await storedHash(store, bob.id)).toMatch(/^\$argon2id\$/);
    expect((await login(app, 'Zoë', zoe.password)).statusCode).toBe(200);
    const names = (await call(app, 'GET', `/api/users/?search=${encodeURIComponent('zo')}`, { token: bobAccount.token })).json();
    expect(names.map((u: { user: { username: string } }) => u.user.username)).toEqual(['Zoë']);
    const aliceInbox = await call(app, 'GET', '/api/messages/', { token: fixture.tokens.alice });
    expect(aliceInbox.statusCode).toBe(200);
    const aliceAccount = { ...alice, token: fixture.tokens.alice, profile: undefined as unknown as Envelope };
    const envelopes = await envelopesOf(app, aliceAccount);
    const texts = await Promise.all((aliceInbox.json() as Message[]).map(async (m) => (await decryptAs(aliceAccount, envelopes, m)).text));
    expect(texts).toEqual(['carol here', 'from zoë', 'hello alice\nsecond line']);
    const [withFile] = (await call(app, 'GET', '/api/messages/', { token: bobAccount.token })).json() as Message[];
    expect(withFile!.attachment_name).toBe('résumé ✓.pdf');
    expect(Buffer.from((await decryptAs(bobAccount, await envelopesOf(app, bobAccount), withFile!)).attachment!)).toEqual(fixture.attachment);
    expect((await send(app, bobAccount, { recipient: 'alice', message: 'on PostgreSQL' })).id).toBe(8);
    expect((await register(app, 'newcomer', 'Newcomer-walrus-99')).id).toBe(10);

    await expect(importOriginal(source, schema.url, { tokenTtlDays: 30 })).rejects.toThrow(/is not empty \(users has 9 rows\)/);
  });
});

if (!DATABASE_URL) {
  process.stderr.write('\n!! IMPORT-ORIGINAL POSTGRESQL TEST SKIPPED (import-original.test.ts): set TEST_DATABASE_URL=postgres://127.0.0.1:5432/test to run it.\n\n');
}
