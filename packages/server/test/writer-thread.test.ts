import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WriterThread } from '../src/store/sqlite/writer-thread.ts';

describe('WriterThread', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  function setup() {
    const dir = mkdtempSync(join(tmpdir(), 'writer-'));
    dirs.push(dir);
    const path = join(dir, 'db.sqlite');
    const reader = new Database(path);
    reader.pragma('journal_mode = WAL');
    reader.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
    const writer = new WriterThread(path, {
      insertSql: 'INSERT INTO t (v) VALUES (@v)',
      readSql: 'SELECT CAST(v AS BLOB) FROM t WHERE id = ?',
      completerUrl: new URL('./writer-completer-fixture.ts', import.meta.url).href,
    });
    // Read through a different connection: what it sees is what is committed.
    const values = () => (reader.prepare('SELECT v FROM t ORDER BY id').all() as { v: string }[]).map((r) => r.v);
    return { writer, values };
  }

  it('rows submitted together all commit, in order, each resolving with its own id', async () => {
    const { writer, values } = setup();
    const ids = await Promise.all(['a', 'b', 'c'].map((v) => writer.insert({ v })));
    expect(ids).toEqual([1, 2, 3]);
    expect(values()).toEqual(['a', 'b', 'c']);
    await writer.close();
  });

  it('a failing row fails alone; the rest of its batch still commits', async () => {
    const { writer, values } = setup();
    const results = await Promise.allSettled(['a', 'dup', 'dup', 'b'].map((v) => writer.insert({ v })));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason.message).toMatch(/UNIQUE/);
    expect(values()).toEqual(['a', 'dup', 'b']);
    await writer.close();
  });

  it('every acknowledged row is visible to another connection, under a stream of writes', async () => {
    const { writer, values } = setup();
    const seen: string[][] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => writer.insert({ v: `m${i}` }).then(() => seen.push([`m${i}`, ...values()]))),
    );
    for (const [value, ...committed] of seen) expect(committed).toContain(value);
    expect(values()).toHaveLength(200);
    await writer.close();
  });

  it('lends a row\'s own buffers to the thread and puts them back, unchanged, before the insert settles', async () => {
    const { writer, values } = setup();
    const rows = ['first', 'second'].map((name) => ({ v: Buffer.from(name.repeat(5000), 'latin1') }));
    const original = rows.map((row) => Buffer.from(row.v));
    const pending = rows.map((row) => writer.insert(row));
    await Promise.all(pending);
    rows.forEach((row, i) => {
      expect(Buffer.isBuffer(row.v)).toBe(true);
      expect(row.v.equals(original[i]!)).toBe(true); // not detached, not altered
    });
    expect(values()).toEqual(original);
    await writer.close();
  });

  it('reads a value by id, handing its bytes over, and null for no row', async () => {
    const { writer } = setup();
    const big = 'x'.repeat(3 * 1024 * 1024);
    const id = (await writer.insert({ v: big })) as number;
    const bytes = await writer.read(id);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(bytes!.toString('latin1')).toBe(big);
    expect(await writer.read(id + 1)).toBeNull();
    await writer.close();
  });

  it('completes a row on the thread before inserting it, and sets the fields it made on the caller\'s row', async () => {
    const { writer, values } = setup();
    const rows = [{ v: '' }, { v: 'whole' }, { v: '' }];
    const ids = await Promise.all([writer.insertCompleting(rows[0]!, 'abc'), writer.insert(rows[1]!), writer.insertCompleting(rows[2]!, 'def')]);
    expect(ids).toEqual([1, 2, 3]);
    expect(values()).toEqual(['ABC', 'whole', 'DEF']);
    expect(rows.map((row) => row.v)).toEqual(['ABC', 'whole', 'DEF']);
    await writer.close();
  });

  it('a row whose completion fails is not inserted and fails alone; the rest of its batch commits', async () => {
    const { writer, values } = setup();
    const results = await Promise.allSettled([writer.insertCompleting({ v: '' }, 'one'), writer.insertCompleting({ v: '' }, 'fail'), writer.insert({ v: 'two' })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('this row cannot be completed');
    expect(values()).toEqual(['ONE', 'two']);
    await writer.close();
  });

  it('close commits what is still queued', async () => {
    const { writer, values } = setup();
    const pending = ['x', 'y'].map((v) => writer.insert({ v }));
    await writer.close();
    await Promise.all(pending);
    expect(values()).toEqual(['x', 'y']);
  });
});
