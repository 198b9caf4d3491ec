/** Session rows: one per issued token, keyed by the token's SHA-256; lookups are cached (session-cache.ts). */
import type { Sqlite } from './database.ts';
import type { SessionRow, UserRow } from './schema.ts';
import type { SessionCache } from './session-cache.ts';

export interface SessionWithUser {
  session: SessionRow;
  user: Pick<UserRow, 'id' | 'username'>;
}

export class SessionRepository {
  readonly #insert;
  readonly #byTokenHash;
  readonly #touch;
  readonly #listForUser;
  readonly #delete;
  readonly #deleteAllForUser;
  readonly #deleteExpired;
  readonly #cache: SessionCache;

  constructor(sqlite: Sqlite, cache: SessionCache) {
    this.#cache = cache;
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
    const cached = this.#cache.get(tokenHash);
    if (cached) return cached;
    const row = this.#byTokenHash.get(tokenHash);
    if (!row) return undefined;
    const { username, ...session } = row;
    const found = { session, user: { id: session.user_id, username } };
    this.#cache.remember(tokenHash, found);
    return found;
  }

  async touch(session: Pick<SessionRow, 'id' | 'token_hash'>, now: string): Promise<void> {
    this.#touch.run(now, session.id);
    this.#cache.touched(session.token_hash, now);
  }

  async listForUser(userId: number, now: string): Promise<SessionRow[]> {
    return this.#listForUser.all(userId, now);
  }

  /** Deletes one session of this user; false when there was none. */
  async delete(userId: number, sessionId: number): Promise<boolean> {
    const deleted = this.#delete.run(sessionId, userId).changes > 0;
    this.#cache.clear();
    return deleted;
  }

  async deleteAllForUser(userId: number): Promise<void> {
    this.#deleteAllForUser.run(userId);
    this.#cache.clear();
  }

  async deleteExpired(now: string): Promise<void> {
    this.#deleteExpired.run(now);
    this.#cache.clear();
  }
}
