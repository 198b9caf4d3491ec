/**
 * Group commit. Durability costs one fsync per transaction (WAL with
 * synchronous = FULL), about half a millisecond here, and better-sqlite3 runs
 * it on the event loop. So writes that arrive in the same event-loop turn
 * are queued and run together in one transaction on the next `setImmediate`:
 * N concurrent sends cost one fsync instead of N.
 *
 * Each caller's promise settles only after the transaction holding its write
 * has committed, so an acknowledged write is on disk exactly as before. If a
 * batch fails, its writes are retried one transaction each, so one bad write
 * fails alone.
 *
 * @example
 * const inserts = new GroupCommit(sqlite, (row: NewMessage) => Number(insert.run(row).lastInsertRowid));
 * const id = await inserts.submit(row);
 */
import type { Sqlite } from './database.ts';

interface Pending<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export class GroupCommit<T, R> {
  readonly #runAll: (items: Pending<T, R>[]) => R[];
  readonly #runOne: (item: T) => R;
  #queue: Pending<T, R>[] = [];
  /** Called with the number of writes of each committed batch (metrics). */
  onCommit: (writes: number) => void = () => {};

  constructor(sqlite: Sqlite, write: (item: T) => R) {
    this.#runOne = sqlite.transaction(write);
    this.#runAll = sqlite.transaction((batch: Pending<T, R>[]) => batch.map((pending) => write(pending.item)));
  }

  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      if (this.#queue.push({ item, resolve, reject }) === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    let results: R[];
    try {
      results = this.#runAll(batch);
    } catch {
      for (const pending of batch) this.#settleAlone(pending);
      return;
    }
    this.onCommit(batch.length);
    batch.forEach((pending, i) => pending.resolve(results[i]!));
  }

  #settleAlone(pending: Pending<T, R>): void {
    try {
      pending.resolve(this.#runOne(pending.item));
    } catch (error) {
      pending.reject(error);
    }
  }
}
