/**
 * The thread of writer-thread.ts: its own connection to the database file,
 * a transaction per batch of inserted rows, and reads of large attachments.
 * Messages are answered one at a time, in the order they arrive. Plain
 * JavaScript so it starts the same under tsx, vitest or plain node.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, insertSql, readSql } = workerData;
const sqlite = new Database(path);
// The same durability as the main connection (database.ts): a commit returns once fsync'd.
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = FULL');
sqlite.pragma('busy_timeout = 5000');
sqlite.pragma('foreign_keys = ON');

const insert = sqlite.prepare(insertSql);
const read = sqlite.prepare(readSql).pluck();
const insertOne = (row) => Number(insert.run(row).lastInsertRowid);
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

/** One result per row: `{ id }` once committed, or `{ error }`. A failed batch is retried row by row, so a bad row fails alone. */
function insertBatch(rows) {
  try {
    return insertAll(rows).map((id) => ({ id }));
  } catch {
    return rows.map((row) => {
      try {
        return { id: insertAlone(row) };
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
