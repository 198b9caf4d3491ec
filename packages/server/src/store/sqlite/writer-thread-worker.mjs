/**
 * The thread of writer-thread.ts: its own connection to the database file,
 * a transaction per batch of inserted rows, and reads of large attachments.
 * Messages are answered one at a time, in the order they arrive. Plain
 * JavaScript so it starts the same under tsx, vitest or plain node.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, insertSql, existingSql, readSql, completerUrl } = workerData;
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

// Completing rows is asynchronous: each message waits for the one before, so messages are still answered in order.
let handled = Promise.resolve();
parentPort.on('message', (message) => {
  handled = handled.then(() => handle(message));
});

async function handle(message) {
  if (message.kind === 'close') {
    sqlite.close();
    parentPort.close();
  } else if (message.kind === 'insert') {
    const fields = message.inputs ? await completeRows(message.rows, message.inputs) : null;
    const results = insertBatch(message.rows, fields);
    // The lent buffers go back to the main thread, again without a copy.
    parentPort.postMessage({ results, lent: message.lent }, message.lent.map((bytes) => bytes.buffer));
  } else {
    const found = read.get(message.id);
    const bytes = found ? ownBuffer(found) : null;
    // Handed over, not copied: the memory moves to the main thread.
    parentPort.postMessage(bytes, bytes ? [bytes.buffer] : []);
  }
}

let completeRow = null;

/** Per row: the fields completeRow made and set on it, an Error when it failed (the row is not inserted), or null for a whole row. */
async function completeRows(rows, inputs) {
  try {
    completeRow ??= await loadCompleter();
  } catch (error) {
    return inputs.map((input) => (input === undefined ? null : error));
  }
  const fields = [];
  for (let i = 0; i < rows.length; i++) {
    if (inputs[i] === undefined) {
      fields.push(null);
      continue;
    }
    try {
      const made = await completeRow(inputs[i]);
      Object.assign(rows[i], made);
      fields.push(made);
    } catch (error) {
      fields.push(error instanceof Error ? error : new Error(String(error)));
    }
  }
  return fields;
}

/** The completer module; from TypeScript sources (tests) once tsx is registered in this thread, as cipher-thread.mjs does. */
async function loadCompleter() {
  if (!completerUrl) throw new Error('this writer was given no completer');
  if (completerUrl.endsWith('.ts')) (await import('tsx/esm/api')).register();
  return (await import(completerUrl)).completeRow;
}

/**
 * One result per row: `{ id }` (or `{ existing, same }`) once committed, with the `fields` completeRow made
 * if any, or `{ error }`. A failed batch is retried row by row, so a bad row fails alone; so does a row whose
 * completion failed, which is not inserted.
 */
function insertBatch(rows, fields) {
  const failed = (i) => fields?.[i] instanceof Error;
  const toInsert = fields ? rows.filter((_, i) => !failed(i)) : rows;
  let inserted;
  try {
    inserted = insertAll(toInsert);
  } catch {
    inserted = toInsert.map((row) => {
      try {
        return insertAlone(row);
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      }
    });
  }
  if (!fields) return inserted;
  let next = 0;
  return rows.map((_, i) => {
    if (failed(i)) return { error: fields[i].message };
    const result = inserted[next++];
    return fields[i] && !('error' in result) ? { ...result, fields: fields[i] } : result;
  });
}

/** A buffer that is the whole of its memory, so that memory can be transferred. */
function ownBuffer(bytes) {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? bytes : Buffer.from(bytes);
}
