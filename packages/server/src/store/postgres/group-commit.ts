/**
 * Group commit on PostgreSQL. A durable commit costs a WAL flush (and, for
 * message inserts, a turn of the database-wide insert lock, messages.ts), so
 * writes are committed in batches:
 *
 * - writes submitted in the same event-loop turn, and all those submitted
 *   while a batch is being committed, go together in the next transaction —
 *   one batch in flight per instance, on one pooled connection;
 * - each caller's promise settles only after the transaction holding its
 *   write has committed, and a batch's promises are settled in the order the
 *   writes ran (for message inserts: id order);
 * - a batch that fails is rolled back and retried write by write, one
 *   transaction each, so one bad write fails alone. A connection lost during
 *   COMMIT leaves the outcome unknown: then the whole batch is rejected
 *   rather than retried, since a retry could store its writes twice.
 *
 * @example
 * const inserts = new GroupCommit(pool, 'SELECT 1', (client, rows) => insertRows(client, rows));
 * const id = await inserts.submit(row);
 */
import pg from 'pg';
import type { Pool, PoolClient } from './database.ts';

interface Pending<T, R> {
  item: T;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/** Bounds the time the insert lock is held per transaction; the rest waits for the next batch. */
const MAX_BATCH = 256;

/** A COMMIT that failed: its transaction may or may not have committed. */
class CommitUnknown extends Error {
  override name = 'CommitUnknown';
  constructor(override readonly cause: unknown) {
    super(`the database connection failed during COMMIT; the write may or may not have been stored: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class GroupCommit<T, R> {
  readonly #pool: Pool;
  readonly #begin: string;
  readonly #write: (client: PoolClient, items: T[]) => Promise<R[]>;
  #queue: Pending<T, R>[] = [];
  #running = false;
  #closed = false;
  #idle: Array<() => void> = [];
  /** Called with the number of writes of each committed transaction (metrics). */
  onCommit: (writes: number) => void = () => {};

  /** `begin`: a statement each transaction runs first (messages.ts takes its lock); `write` writes the items inside the transaction, results in their order. */
  constructor(pool: Pool, begin: string, write: (client: PoolClient, items: T[]) => Promise<R[]>) {
    this.#pool = pool;
    this.#begin = begin;
    this.#write = write;
  }

  submit(item: T): Promise<R> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    return new Promise((resolve, reject) => {
      // The first write of a quiet period waits one turn so the turn's other writes join it; while a batch runs, the queue fills for the next.
      if (this.#queue.push({ item, resolve, reject }) === 1 && !this.#running) {
        this.#running = true;
        setImmediate(() => void this.#run());
      }
    });
  }

  /** Commits what is queued, then refuses further writes. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#running) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      await this.#commitBatch(batch);
    }
    this.#running = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #commitBatch(batch: Pending<T, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.#transaction(batch.map((pending) => pending.item));
    } catch (error) {
      if (batch.length === 1 || error instanceof CommitUnknown) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      for (const pending of batch) {
        try {
          const [result] = await this.#transaction([pending.item]);
          this.#committed(1);
          pending.resolve(result!);
        } catch (alone) {
          pending.reject(alone);
        }
      }
      return;
    }
    this.#committed(batch.length);
    batch.forEach((pending, i) => pending.resolve(results[i]!));
  }

  #committed(writes: number): void {
    try {
      this.onCommit(writes);
    } catch {
      // A metrics listener must not turn a committed write into a failed one.
    }
  }

  /** One transaction writing `items` in order; their results once it has committed. */
  async #transaction(items: T[]): Promise<R[]> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN; ${this.#begin}`); // one round trip (simple protocol, no parameters)
      const results = await this.#write(client, items);
      try {
        await client.query('COMMIT');
      } catch (error) {
        // The server answered with an error: the transaction was rolled back. Anything else (the connection broke): unknown.
        if (error instanceof pg.DatabaseError) throw error;
        broken = error instanceof Error ? error : new Error(String(error));
        throw new CommitUnknown(error);
      }
      return results;
    } catch (error) {
      if (!broken) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }
}
