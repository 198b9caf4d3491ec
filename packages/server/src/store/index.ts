/**
 * The store: one repository per table group over one Kysely database.
 *
 * @example
 * const store = await openStore('sqlite::memory:');
 * await store.users.findByUsername('alice');
 * await store.close();
 */
import { sql } from 'kysely';
import { openDatabase, type Db } from './database.ts';
import { MessageRepository } from './messages.ts';
import { SessionRepository } from './sessions.ts';
import { UserRepository } from './users.ts';

export interface Store {
  readonly db: Db;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly messages: MessageRepository;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openStore(databaseUrl: string): Promise<Store> {
  const db = await openDatabase(databaseUrl);
  return Object.freeze({
    db,
    users: new UserRepository(db),
    sessions: new SessionRepository(db),
    messages: new MessageRepository(db),
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    close: () => db.destroy(),
  });
}

export { isUniqueViolation } from './users.ts';
export type { Mailbox } from './messages.ts';
export type { MessageRow, SessionRow, UserKeyRow, UserRow } from './schema.ts';
