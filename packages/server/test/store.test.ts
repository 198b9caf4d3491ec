/** The SQLite store's durability settings and schema. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'securechat-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openStore on a file', () => {
  it('creates missing directories, uses WAL with fsync on every commit, and waits on locks', async () => {
    const store = await openStore(`sqlite:${join(dir, 'nested', 'deeper', 'chat.db')}`);
    try {
      const pragma = async (name: string) => Object.values((await sql.raw(`PRAGMA ${name}`).execute(store.db)).rows[0] as object)[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(2); // FULL
      expect(await pragma('busy_timeout')).toBe(5000);
      expect(await pragma('foreign_keys')).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('migrates once: reopening keeps the data', async () => {
    const url = `sqlite:${join(dir, 'reopen.db')}`;
    const first = await openStore(url);
    await first.db.insertInto('users').values({ username: 'A', username_lower: 'a', password_hash: 'x', current_key_id: 1, created_at: 'now' }).execute();
    await first.close();
    const second = await openStore(url);
    expect(await second.users.findByUsername('a')).toMatchObject({ username: 'A' });
    await second.close();
  });

  it('indexes mailboxes on (recipient, id) and (sender, id)', async () => {
    const store = await openStore('sqlite::memory:');
    const plan = await sql.raw('EXPLAIN QUERY PLAN SELECT id FROM messages WHERE recipient_id = 1 AND id < 100 ORDER BY id DESC LIMIT 50').execute(store.db);
    expect(JSON.stringify(plan.rows)).toContain('messages_recipient');
    const sent = await sql.raw('EXPLAIN QUERY PLAN SELECT id FROM messages WHERE sender_id = 1 ORDER BY id DESC LIMIT 50').execute(store.db);
    expect(JSON.stringify(sent.rows)).toContain('messages_sender');
    await store.close();
  });
});
