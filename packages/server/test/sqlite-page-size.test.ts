/**
 * New SQLite databases use 16 KiB pages (store/sqlite/database.ts says why);
 * a database made with SQLite's default 4 KiB pages keeps them and opens as
 * before (a WAL database cannot change its page size).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/sqlite/database.ts';

const dir = mkdtempSync(join(tmpdir(), 'securechat-page-size-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite page size', () => {
  it('is 16 KiB for a new database file', async () => {
    const { sqlite } = await openDatabase(`sqlite:${join(dir, 'new.db')}`);
    expect(sqlite.pragma('page_size', { simple: true })).toBe(16_384);
    sqlite.close();
  });

  it('stays 4 KiB for a database made before, which still opens and migrates', async () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE unrelated (x INTEGER)');
    old.close();
    const { sqlite } = await openDatabase(`sqlite:${path}`);
    expect(sqlite.pragma('page_size', { simple: true })).toBe(4_096);
    expect(sqlite.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'messages'").pluck().get()).toBe(1);
    sqlite.close();
  });
});
