/**
 * The PostgreSQL adapter (API B 12): a pg Pool with parameterised SQL behind
 * the repository interfaces, message inserts group-committed and made
 * visible in id order across every instance sharing the database
 * (messages.ts). Several instances may use one database at once.
 *
 * @example
 * const store = await openPostgresStore('postgres://securechat@db:5432/securechat');
 */
import type { Store } from '../ports.ts';
import { openDatabase, type PostgresOptions } from './database.ts';
import { PostgresMessageRepository } from './messages.ts';
import { PostgresSessionRepository } from './sessions.ts';
import { PostgresUserRepository } from './users.ts';

export { DEFAULT_POOL_SIZE, isPostgresUrl, poolSizeFromEnv, type PostgresOptions } from './database.ts';

export async function openPostgresStore(databaseUrl: string, options: PostgresOptions = {}): Promise<Store> {
  const { pool, db } = await openDatabase(databaseUrl, options);
  const messages = new PostgresMessageRepository(pool, await PostgresMessageRepository.tableOid(pool));
  let closed: Promise<void> | null = null;
  return Object.freeze({
    engine: 'postgres' as const,
    db,
    users: new PostgresUserRepository(pool),
    sessions: new PostgresSessionRepository(pool),
    messages,
    async ping() {
      await pool.query('SELECT 1');
    },
    close() {
      // Pending inserts commit first; then Kysely ends the pool (which waits for checked-out connections).
      closed ??= messages.close().then(() => db.destroy());
      return closed;
    },
    observeCommits: (listener: (messages: number) => void) => messages.observeCommits(listener),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  });
}
