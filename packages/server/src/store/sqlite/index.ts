/**
 * The SQLite adapter: one better-sqlite3 connection with prepared
 * statements and synchronous transactions; message inserts group-committed,
 * on a writer thread with its own connection when the database is a file.
 *
 * @example
 * const store = await openSqliteStore('sqlite:./data/securechat.db');
 */
import { sql } from 'kysely';
import type { Store } from '../ports.ts';
import { openDatabase } from './database.ts';
import { SqliteMessageRepository } from './messages.ts';
import { SqliteSessionRepository } from './sessions.ts';
import { SqliteUserRepository } from './users.ts';

export { sqlitePath } from './database.ts';

export async function openSqliteStore(databaseUrl: string): Promise<Store> {
  const { sqlite, db } = await openDatabase(databaseUrl);
  const messages = new SqliteMessageRepository(sqlite);
  return Object.freeze({
    engine: 'sqlite' as const,
    db,
    users: new SqliteUserRepository(sqlite),
    sessions: new SqliteSessionRepository(sqlite),
    messages,
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    async close() {
      await messages.close();
      await db.destroy();
    },
    observeCommits: (listener: (messages: number) => void) => messages.observeCommits(listener),
  });
}
