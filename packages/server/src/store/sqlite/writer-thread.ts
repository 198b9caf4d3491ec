/**
 * Group commit on a writer thread. Durability costs one fsync per
 * transaction (WAL with synchronous = FULL), and better-sqlite3 runs it on
 * the calling thread. On the event loop that stalls every other request for
 * the length of the fsync — and of the insert itself, which for a 25 MiB
 * attachment is hundreds of milliseconds. So inserts go to a worker thread
 * with its own connection to the same file:
 *
 * - rows submitted while a batch is being committed queue up and go
 *   together as the next batch: N concurrent sends cost one fsync, and the
 *   event loop keeps working (encrypting the next messages) meanwhile;
 * - each caller's promise settles only after the transaction holding its row
 *   has committed, so an acknowledged write is on disk;
 * - a failing batch is retried row by row on the thread, so one bad row fails
 *   alone.
 *
 * A row's Buffer that is the whole of its memory (an attachment's
 * ciphertext) is lent to the thread rather than copied: its memory moves to
 * the thread and back, and the row holds it again before the insert
 * settles. Copying 64 KiB across threads costs more than the insert.
 *
 * Reading a large attachment is just as slow, so the thread does that too
 * and hands the bytes over without copying them. Other reads stay on the
 * main connection: in WAL mode they never wait for the writer and see every
 * committed row. An in-memory database cannot be shared between connections;
 * it uses the in-thread GroupCommit instead.
 *
 * @example
 * const writer = new WriterThread('./data/securechat.db', { insertSql: 'INSERT INTO t (v) VALUES (@v)', readSql: 'SELECT v FROM t WHERE id = ?' });
 * const id = await writer.insert({ v: 'x' });
 */
import { Worker } from 'node:worker_threads';
import { asBuffer, ownsItsMemory } from '../../shared-buffer.ts';
import type { InsertOutcome } from '../ports.ts';


interface Pending {
  row: Record<string, unknown>;
  /** for the completer: what the row's missing fields are made from; undefined for a whole row */
  input: unknown;
  resolve(outcome: InsertOutcome): void;
  reject(error: Error): void;
}

type InsertResult = ({ id: number } | { existing: number; same: boolean }) & { fields?: Record<string, unknown> } | { error: string };

export interface WriterStatements {
  /** an INSERT with named parameters */
  insertSql: string;
  /**
   * For an insert that may do nothing on conflict: a SELECT of `id` and `same`
   * of the row it conflicted with, with the same named parameters.
   */
  existingSql?: string;
  /** a SELECT of one BLOB by id */
  readSql: string;
  /**
   * The URL of a module exporting `completeRow(input)`, which returns fields
   * that the thread sets on a row given to `insertCompleting` before
   * inserting it (the messages' server-side encryption). Loaded on first use.
   */
  completerUrl?: string;
}

const WORKER_URL = new URL('./writer-thread-worker.mjs', import.meta.url);

export class WriterThread {
  readonly #worker: Worker;
  #queue: Pending[] = [];
  #batchInFlight = false;
  /** Callbacks for the replies still due, in order: the thread answers messages one at a time. */
  #awaiting: Array<{ resolve(reply: unknown): void; reject(error: Error): void }> = [];
  #failure: Error | null = null;
  #drained: (() => void) | null = null;
  /** Called with the number of rows of each committed batch (metrics). */
  onCommit: (rows: number) => void = () => {};

  constructor(path: string, statements: WriterStatements) {
    this.#worker = new Worker(WORKER_URL, { workerData: { path, ...statements } });
    this.#worker.unref(); // only pending work keeps the process alive
    this.#worker.on('message', (reply: unknown) => this.#answer(reply));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', () => this.#fail(new Error('the database writer thread has stopped')));
  }

  /** Resolves with the new row's id — or the row it conflicted with — once its transaction is committed. */
  insert(row: Record<string, unknown>): Promise<InsertOutcome> {
    return this.#enqueue(row, undefined);
  }

  /**
   * As insert, for a row whose missing fields the thread makes from `input`
   * (WriterStatements.completerUrl) just before inserting it; they are set
   * on `row` before this settles.
   */
  insertCompleting(row: Record<string, unknown>, input: unknown): Promise<InsertOutcome> {
    return this.#enqueue(row, input);
  }

  /** The bytes the read statement selects for this id, or null. */
  read(id: number): Promise<Buffer | null> {
    return this.#request({ kind: 'read', id }).then((bytes) => (bytes ? asBuffer(bytes as Uint8Array) : null));
  }

  /** Commits what is queued, then stops the thread. */
  async close(): Promise<void> {
    if (this.#awaiting.length > 0 || this.#queue.length > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    if (this.#failure) return;
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    this.#worker.postMessage({ kind: 'close' });
    await exited;
  }

  #enqueue(row: Record<string, unknown>, input: unknown): Promise<InsertOutcome> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      // Rows from the same event-loop turn go out together.
      if (this.#queue.push({ row, input, resolve, reject }) === 1 && !this.#batchInFlight) setImmediate(() => this.#sendBatch());
    });
  }

  #request(message: object, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#awaiting.push({ resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage(message, transfer);
    });
  }

  #sendBatch(): void {
    if (this.#batchInFlight || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#batchInFlight = true;
    const rows = batch.map((pending) => pending.row);
    const inputs = batch.some((pending) => pending.input !== undefined) ? batch.map((pending) => pending.input) : null;
    const lent = lendableBuffers(rows);
    const lentBytes = lent.map(({ row, field }) => row[field] as Buffer);
    this.#request({ kind: 'insert', rows, inputs, lent: lentBytes }, lentBytes.map((bytes) => bytes.buffer as ArrayBuffer)).then(
      (reply) => {
        const { results, lent: returned } = reply as { results: InsertResult[]; lent: Uint8Array[] };
        lent.forEach(({ row, field }, i) => (row[field] = asBuffer(returned[i]!)));
        this.onCommit(results.length);
        results.forEach((result, i) => {
          if ('fields' in result) Object.assign(batch[i]!.row, result.fields);
          if ('id' in result) batch[i]!.resolve(result.id);
          else if ('existing' in result) batch[i]!.resolve({ existingId: result.existing, sameRequest: result.same });
          else batch[i]!.reject(new Error(result.error));
        });
        this.#batchInFlight = false;
        this.#sendBatch();
      },
      (error: Error) => batch.forEach((pending) => pending.reject(error)),
    );
  }

  #answer(reply: unknown): void {
    this.#awaiting.shift()?.resolve(reply);
    if (this.#awaiting.length === 0 && this.#queue.length === 0) {
      this.#worker.unref();
      this.#drained?.();
      this.#drained = null;
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiting of this.#awaiting) waiting.reject(this.#failure);
    for (const pending of this.#queue) pending.reject(this.#failure);
    this.#awaiting = [];
    this.#queue = [];
    this.#drained?.();
    this.#drained = null;
  }
}

/** The rows' Buffer values whose memory can move to the thread. */
function lendableBuffers(rows: Array<Record<string, unknown>>): Array<{ row: Record<string, unknown>; field: string }> {
  const lent: Array<{ row: Record<string, unknown>; field: string }> = [];
  for (const row of rows) {
    for (const field in row) {
      const value = row[field];
      if (Buffer.isBuffer(value) && ownsItsMemory(value)) lent.push({ row, field });
    }
  }
  return lent;
}
