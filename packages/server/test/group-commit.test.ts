import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/store/sqlite/group-commit.ts';

describe('GroupCommit', () => {
  function setup() {
    const sqlite = new Database(':memory:');
    sqlite.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
    const insert = sqlite.prepare<[string]>('INSERT INTO t (v) VALUES (?)');
    const commits = new GroupCommit(sqlite, (v: string) => Number(insert.run(v).lastInsertRowid));
    const values = () => (sqlite.prepare('SELECT v FROM t ORDER BY id').all() as { v: string }[]).map((r) => r.v);
    return { commits, values };
  }

  it('writes submitted together all commit, in order, each resolving with its own result', async () => {
    const { commits, values } = setup();
    const ids = await Promise.all(['a', 'b', 'c'].map((v) => commits.submit(v)));
    expect(ids).toEqual([1, 2, 3]);
    expect(values()).toEqual(['a', 'b', 'c']);
  });

  it('a failing write fails alone; the rest of its batch still commits', async () => {
    const { commits, values } = setup();
    const results = await Promise.allSettled(['a', 'dup', 'dup', 'b'].map((v) => commits.submit(v)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(values()).toEqual(['a', 'dup', 'b']);
  });

  it('nothing is acknowledged before its transaction has committed', async () => {
    const { commits, values } = setup();
    let acknowledged = false;
    const pending = commits.submit('x').then(() => (acknowledged = true));
    expect(values()).toEqual([]); // still queued for this turn's batch
    await pending;
    expect(acknowledged).toBe(true);
    expect(values()).toEqual(['x']);
  });
});
