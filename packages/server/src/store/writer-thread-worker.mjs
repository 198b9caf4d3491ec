/**
 * The writer thread of writer-thread.ts: its own connection to the database
 * file, one prepared INSERT, and a transaction per batch of rows. Plain
 * JavaScript so it starts the same under tsx, vitest or plain node.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, insertSql } = workerData;
const sqlite = new Database(path);
// The same durability as the main connection (database.ts): a commit returns once fsync'd.
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = FULL');
sqlite.pragma('busy_timeout = 5000');
sqlite.pragma('foreign_keys = ON');

const insert = sqlite.prepare(insertSql);
const insertOne = (row) => Number(insert.run(row).lastInsertRowid);
const insertAll = sqlite.transaction((rows) => rows.map(insertOne));
const insertAlone = sqlite.transaction(insertOne);

parentPort.on('message', (message) => {
  if (message === 'close') {
    sqlite.close();
    parentPort.close();
    return;
  }
  parentPort.postMessage(insertBatch(message));
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
