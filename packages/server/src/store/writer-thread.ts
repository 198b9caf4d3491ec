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
 * Reads stay on the main connection: in WAL mode they never wait for the
 * writer and see every committed row. An in-memory database cannot be shared
 * between connections; it uses the in-thread GroupCommit instead.
 *
 * @example
 * const writer = new WriterThread('./data/securechat.db', 'INSERT INTO t (v) VALUES (@v)');
 * const id = await writer.insert({ v: 'x' });
 */
import { Worker } from 'node:worker_threads';

interface Pending {
  row: object;
  resolve(id: number): void;
  reject(error: Error): void;
}

type Result = { id: number } | { error: string };

const WORKER_URL = new URL('./writer-thread-worker.mjs', import.meta.url);

export class WriterThread {
  readonly #worker: Worker;
  #queue: Pending[] = [];
  #inFlight: Pending[] | null = null;
  #failure: Error | null = null;
  #drained: (() => void) | null = null;

  constructor(path: string, insertSql: string) {
    this.#worker = new Worker(WORKER_URL, { workerData: { path, insertSql } });
    this.#worker.unref(); // only pending writes keep the process alive
    this.#worker.on('message', (results: Result[]) => this.#settle(results));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', () => this.#fail(new Error('the database writer thread has stopped')));
  }

  /** Resolves with the new row's id once its transaction is committed. */
  insert(row: object): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      // Rows from the same event-loop turn go out together.
      if (this.#queue.push({ row, resolve, reject }) === 1 && !this.#inFlight) setImmediate(() => this.#send());
    });
  }

  /** Commits what is queued, then stops the thread. */
  async close(): Promise<void> {
    if (this.#inFlight || this.#queue.length > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    if (this.#failure) return;
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    this.#worker.postMessage('close');
    await exited;
  }

  #send(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    this.#inFlight = this.#queue;
    this.#queue = [];
    this.#worker.ref();
    this.#worker.postMessage(this.#inFlight.map((pending) => pending.row));
  }

  #settle(results: Result[]): void {
    const batch = this.#inFlight ?? [];
    this.#inFlight = null;
    batch.forEach((pending, i) => {
      const result = results[i]!;
      if ('id' in result) pending.resolve(result.id);
      else pending.reject(new Error(result.error));
    });
    if (this.#queue.length > 0) this.#send();
    else {
      this.#worker.unref();
      this.#drained?.();
      this.#drained = null;
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of [...(this.#inFlight ?? []), ...this.#queue]) pending.reject(this.#failure);
    this.#inFlight = null;
    this.#queue = [];
    this.#drained?.();
    this.#drained = null;
  }
}
