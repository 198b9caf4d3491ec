/** Session rows: one per issued token, keyed by the token's SHA-256. */
import type { Db } from './database.ts';
import type { SessionRow, UserRow } from './schema.ts';

export interface SessionWithUser {
  session: SessionRow;
  user: Pick<UserRow, 'id' | 'username'>;
}

export class SessionRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  create(session: Omit<SessionRow, 'id'>): Promise<SessionRow> {
    return this.#db.insertInto('sessions').values(session).returningAll().executeTakeFirstOrThrow();
  }

  async findByTokenHash(tokenHash: string): Promise<SessionWithUser | undefined> {
    const row = await this.#db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('sessions')
      .select('users.username')
      .where('sessions.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!row) return undefined;
    const { username, ...session } = row;
    return { session, user: { id: session.user_id, username } };
  }

  async touch(sessionId: number, now: string): Promise<void> {
    await this.#db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', sessionId).execute();
  }

  listForUser(userId: number, now: string): Promise<SessionRow[]> {
    return this.#db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .orderBy('id', 'desc')
      .execute();
  }

  /** Deletes one session of this user; false when there was none. */
  async delete(userId: number, sessionId: number): Promise<boolean> {
    const result = await this.#db.deleteFrom('sessions').where('id', '=', sessionId).where('user_id', '=', userId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async deleteAllForUser(userId: number): Promise<void> {
    await this.#db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  async deleteExpired(now: string): Promise<void> {
    await this.#db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
  }
}
