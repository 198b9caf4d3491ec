/**
 * `npm run move-to-postgres` (API B 12): a SQLite database made by this
 * release, copied into an empty PostgreSQL database with the real command,
 * serves exactly as before — old tokens, old passwords, every message
 * byte for byte and decryptable — and new ids continue after the old ones.
 * A second move into the same database is refused and changes nothing.
 * Needs TEST_DATABASE_URL (`.ci/run` sets it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Message } from '@securechat/protocol';
import { buildApp } from '../src/app.ts';
import { openStore } from '../src/store/index.ts';
import { assertBuilt } from './compiled.ts';
import { call, decryptAs, envelopesOf, register, send, testConfig, type Account } from './helpers.ts';
import { createSchema, type TestDatabase } from './test-database.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'securechat-move-'));
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(databaseUrl: string) {
  const config = testConfig({ DATABASE_URL: databaseUrl });
  const store = await openStore(databaseUrl);
  const app = await buildApp({ config, store });
  await app.ready();
  return { app, close: async () => (await app.close(), await store.close()) };
}

function move(from: string, to: string) {
  assertBuilt('protocol', 'server');
  return spawnSync(process.execPath, ['packages/server/dist/tools/move-to-postgres.js', '--from', from, '--to', to], { cwd: ROOT, encoding: 'utf8' });
}

describe.skipIf(!DATABASE_URL)('moving a SQLite database to PostgreSQL', () => {
  it('keeps every user, token, key version and message, and refuses a second move', async () => {
    const sqliteUrl = `sqlite:${join(dir, 'chat.db')}`;
    const before = await serve(sqliteUrl);
    const alice = await register(before.app, 'alice', 'moving-alice-pw-31');
    const bob = await register(before.app, 'bob', 'moving-bob-pw-31');
    await send(before.app, alice, { recipient: 'bob', message: 'before the move' });
    const attachment = Buffer.from('file contents \u0000 with a NUL byte');
    await send(before.app, alice, { recipient: 'bob', message: 'with a file', attachment_data: attachment.toString('base64'), attachment_name: 'résumé ✓.txt', attachment_mime: 'text/plain' });
    expect((await call(before.app, 'POST', '/api/keys/rotate/', { token: bob.token, body: { password: bob.password } })).statusCode).toBe(200);
    await send(before.app, alice, { recipient: 'bob', message: 'to the rotated key' });
    const inboxBefore = (await call(before.app, 'GET', '/api/messages/', { token: bob.token })).json() as Message[];
    const sessionsBefore = (await call(before.app, 'GET', '/api/auth/sessions/', { token: alice.token })).json();
    await before.close();

    const target: TestDatabase = await createSchema();
    cleanups.push(() => target.drop());
    const moved = move(sqliteUrl, target.url);
    expect(moved.status, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/Moved 2 users, 3 key versions, 2 sessions and 3 messages/);
    expect(moved.stdout).toMatch(/verified: row counts equal, messages read back identical/);

    const after = await serve(target.url);
    try {
      // The old token still works, and the inbox is the same, byte for byte.
      const inbox = await call(after.app, 'GET', '/api/messages/', { token: bob.token });
      expect(inbox.statusCode).toBe(200);
      expect(inbox.json()).toEqual(inboxBefore);
      expect((await call(after.app, 'GET', '/api/auth/sessions/', { token: alice.token })).json()).toEqual(sessionsBefore);
      // Every message still opens with the key version it names.
      const envelopes = await envelopesOf(after.app, bob);
      const texts = await Promise.all(inboxBefore.map(async (message) => (await decryptAs(bob as Account, envelopes, message)).text));
      expect(texts.sort()).toEqual(['before the move', 'to the rotated key', 'with a file']);
      const withFile = inboxBefore.find((m) => m.has_attachment)!;
      expect(Buffer.from((await decryptAs(bob, envelopes, withFile)).attachment!)).toEqual(attachment);
      expect(withFile.attachment_name).toBe('résumé ✓.txt');
      // The old password logs in; new rows continue after the old ids.
      const login = await call(after.app, 'POST', '/api/auth/login/', { body: { username: 'alice', password: alice.password } });
      expect(login.statusCode).toBe(200);
      const next = await send(after.app, alice, { recipient: 'bob', message: 'after the move' });
      expect(next.id).toBeGreaterThan(Math.max(...inboxBefore.map((m) => m.id)));
      const carol = await register(after.app, 'carol', 'moving-carol-pw-31');
      expect(carol.id).toBeGreaterThan(bob.id);
    } finally {
      await after.close();
    }

    const again = move(sqliteUrl, target.url);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^Refused: The PostgreSQL database at .* is not empty \(users has 3 rows\): move into a new, empty database — nothing was written\./m);
  });

  it('refuses what is not a SecureChat SQLite file, with a sentence', async () => {
    const target = await createSchema();
    cleanups.push(() => target.drop());
    const missing = move(`sqlite:${join(dir, 'nowhere.db')}`, target.url);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^Refused: .*nowhere\.db does not exist: give the SQLite file the server uses/m);
    const usage = move('', target.url);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^Usage: npm run move-to-postgres/m);
  });
});

if (!DATABASE_URL) {
  process.stderr.write('\n!! MOVE-TO-POSTGRES TESTS SKIPPED (move-to-postgres.test.ts): set TEST_DATABASE_URL=postgres://127.0.0.1:5432/test to run them (.ci/run does).\n\n');
}
