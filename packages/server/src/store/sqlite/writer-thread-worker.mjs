/**
 * The thread of writer-thread.ts: its own connection to the database file,
 * a transaction per batch of inserted rows, and reads of large attachments.
 * Messages are answered one at a time, in the order they arrive. Plain
 * JavaScript so it starts the same under tsx, vitest or plain node.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, insertSql, existingSql, readSql } = workerData;
const sqlite = new Database(path);
// The same durability as the main connection (database.ts): a commit returns once fsync'd.
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = FULL');
sqlite.pragma('busy_timeout = 5000');
sqlite.pragma('foreign_keys = ON');

const insert = sqlite.prepare(insertSql);
const existing = existingSql ? sqlite.prepare(existingSql) : null;
const read = sqlite.prepare(readSql).pluck();
/** `{ id }` of the new row; or, when ON CONFLICT DO NOTHING inserted nothing, the row it conflicted with (also one earlier in this transaction). */
const insertOne = (row) => {
  const result = insert.run(row);
  if (result.changes > 0) return { id: Number(result.lastInsertRowid) };
  const found = existing?.get(row);
  if (!found) throw new Error('the insert was ignored, yet no row conflicts with it');
  return { existing: found.id, same: found.same === 1 };
};
const insertAll = sqlite.transaction((rows) => rows.map(insertOne));
const insertAlone = sqlite.transaction(insertOne);

parentPort.on('message', (message) => {
  if (message.kind === 'close') {
    sqlite.close();
    parentPort.close();
  } else if (message.kind === 'insert') {
    const results = insertBatch(message.rows);
    // The lent buffers go back to the main thread, again without a copy.
    parentPort.postMessage({ results, lent: message.lent }, message.lent.map((bytes) => bytes.buffer));
  } else {
    const found = read.get(message.id);
    const bytes = found ? ownBuffer(found) : null;
    // Handed over, not copied: the memory moves to the main thread.
    parentPort.postMessage(bytes, bytes ? [bytes.buffer] : []);
  }
});

/** One result per row: `{ id }` (or `{ existing, same }`) once committed, or `{ error }`. A failed batch is retried row by row, so a bad row fails alone. */
function insertBatch(rows) {
  try {
    return insertAll(rows);
  } catch {
    return rows.map((row) => {
      try {
        return insertAlone(row);
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      }
    });
  }
}

/** A buffer that is the whole of its memory, so that memory can be transferred. */
function ownBuffer(bytes) {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes : Buffer.from(bytes);
}
