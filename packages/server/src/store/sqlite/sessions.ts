/** Session rows: one per issued token, keyed by the token's SHA-256 (lookups are cached a layer up, store/cache/). */
import type { SessionRepository, SessionRow, SessionWithUser } from '../ports.ts';
import type { Sqlite } from './database.ts';

export class SqliteSessionRepository implements SessionRepository {
  readonly #insert;
  readonly #byTokenHash;
  readonly #touch;
  readonly #listForUser;
  readonly #delete;
  readonly #deleteAllForUser;
  readonly #deleteExpired;

  constructor(sqlite: Sqlite) {
    this.#insert = sqlite.prepare<Omit<SessionRow, 'id'>, SessionRow>(
      `INSERT INTO sessions (user_id, token_hash, created_at, last_used_at, expires_at, user_agent)
       VALUES (@user_id, @token_hash, @created_at, @last_used_at, @expires_at, @user_agent) RETURNING *`,
    );
    this.#byTokenHash = sqlite.prepare<[string], SessionRow & { username: string }>(
      'SELECT s.*, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?',
    );
    this.#touch = sqlite.prepare<[string, number]>('UPDATE sessions SET last_used_at = ? WHERE id = ?');
    this.#listForUser = sqlite.prepare<[number, string], SessionRow>('SELECT * FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY id DESC');
    this.#delete = sqlite.prepare<[number, number]>('DELETE FROM sessions WHERE id = ? AND user_id = ?');
    this.#deleteAllForUser = sqlite.prepare<[number]>('DELETE FROM sessions WHERE user_id = ?');
    this.#deleteExpired = sqlite.prepare<[string]>('DELETE FROM sessions WHERE expires_at <= ?');
  }

  async create(session: Omit<SessionRow, 'id'>): Promise<SessionRow> {
    return this.#insert.get(session)!;
  }

  async findByTokenHash(tokenHash: string): Promise<SessionWithUser | undefined> {
    const row = this.#byTokenHash.get(tokenHash);
    if (!row) return undefined;
    const { username, ...session } = row;
    return { session, user: { id: session.user_id, username } };
  }

  async touch(session: Pick<SessionRow, 'id' | 'token_hash'>, now: string): Promise<void> {
    this.#touch.run(now, session.id);
  }

  async listForUser(userId: number, now: string): Promise<SessionRow[]> {
    return this.#listForUser.all(userId, now);
  }

  async delete(userId: number, sessionId: number): Promise<boolean> {
    return this.#delete.run(sessionId, userId).changes > 0;
  }

  async deleteAllForUser(userId: number): Promise<void> {
    this.#deleteAllForUser.run(userId);
  }

  async deleteExpired(now: string): Promise<void> {
    this.#deleteExpired.run(now);
  }
}
