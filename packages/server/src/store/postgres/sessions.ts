/** Session rows: one per issued token, keyed by the token's SHA-256 (lookups are cached a layer up, store/cache/). */
import type { SessionRepository, SessionRow, SessionWithUser } from '../ports.ts';
import type { Pool } from './database.ts';

export class PostgresSessionRepository implements SessionRepository {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async create(session: Omit<SessionRow, 'id'>): Promise<SessionRow> {
    const { rows } = await this.#pool.query<SessionRow>(
      `INSERT INTO sessions (user_id, token_hash, created_at, last_used_at, expires_at, user_agent) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      // A user agent is informational; PostgreSQL text cannot hold U+0000 (HTTP parsers refuse it anyway).
      [session.user_id, session.token_hash, session.created_at, session.last_used_at, session.expires_at, session.user_agent.replaceAll('\0', '\uFFFD')],
    );
    return rows[0]!;
  }

  async findByTokenHash(tokenHash: string): Promise<SessionWithUser | undefined> {
    const { rows } = await this.#pool.query<SessionRow & { username: string }>(
      'SELECT s.*, u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1',
      [tokenHash],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { username, ...session } = row;
    return { session, user: { id: session.user_id, username } };
  }

  async touch(session: Pick<SessionRow, 'id' | 'token_hash'>, now: string): Promise<void> {
    await this.#pool.query('UPDATE sessions SET last_used_at = $1 WHERE id = $2', [now, session.id]);
  }

  async listForUser(userId: number, now: string): Promise<SessionRow[]> {
    return (await this.#pool.query<SessionRow>('SELECT * FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY id DESC', [userId, now])).rows;
  }

  async delete(userId: number, sessionId: number): Promise<boolean> {
    return ((await this.#pool.query('DELETE FROM sessions WHERE id = $1 AND user_id = $2', [sessionId, userId])).rowCount ?? 0) > 0;
  }

  async deleteAllForUser(userId: number): Promise<void> {
    await this.#pool.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
  }

  async deleteExpired(now: string): Promise<void> {
    await this.#pool.query('DELETE FROM sessions WHERE expires_at <= $1', [now]);
  }
}
