/**
 * The store: one repository per table group over one SQLite connection.
 * Repositories use prepared statements (parsed once, not per request) and
 * synchronous transactions; message inserts are group-committed, on a
 * writer thread with its own connection when the database is a file.
 *
 * @example
 * const store = await openStore('sqlite::memory:');
 * await store.users.findByUsername('alice');
 * await store.close();
 */
import { sql } from 'kysely';
import { openDatabase, type Db } from './database.ts';
import { MessageRepository } from './messages.ts';
import { SessionCache } from './session-cache.ts';
import { SessionRepository } from './sessions.ts';
import { UserRepository } from './users.ts';

export interface Store {
  /** Kysely over the same connection, for ad-hoc typed queries (tests, tools). */
  readonly db: Db;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly messages: MessageRepository;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openStore(databaseUrl: string): Promise<Store> {
  const { sqlite, db } = await openDatabase(databaseUrl);
  const messages = new MessageRepository(sqlite);
  const sessionCache = new SessionCache();
  return Object.freeze({
    db,
    users: new UserRepository(sqlite, sessionCache),
    sessions: new SessionRepository(sqlite, sessionCache),
    messages,
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    async close() {
      await messages.close();
      await db.destroy();
    },
  });
}

export { isUniqueViolation } from './users.ts';
export { LARGE_ATTACHMENT_OCTETS, type Mailbox, type PageEntry } from './messages.ts';
export type { MessageRow, NewMessage, SessionRow, UserKeyRow, UserRow } from './schema.ts';
