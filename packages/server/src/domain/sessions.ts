/**
 * Sessions (Part B5), after Lucia's guide: a token is 32 random bytes, the
 * database keeps only its SHA-256, and validation is one indexed lookup.
 */
import type { Config } from '../config.ts';
import { hashToken, newToken } from '../crypto/secrets.ts';
import type { SessionRow, Store } from '../store/ports.ts';
import { NO_FAN_OUT, type FanOut } from '../realtime/fan-out.ts';
import { NotFound, Unauthorized } from './errors.ts';
import type { SessionView, UserView } from './views.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** last_used_at is refreshed at most this often, so reads do not become writes. */
const TOUCH_INTERVAL_MS = 60 * 1000;
const TOKEN_SHAPE = /^[0-9a-f]{64}$/;

export interface Authenticated {
  user: UserView;
  sessionId: number;
}

export class Sessions {
  readonly #store: Store;
  readonly #ttlMs: number;
  readonly #fanOut: FanOut;

  constructor(store: Store, config: Config, fanOut: FanOut = NO_FAN_OUT) {
    this.#store = store;
    this.#fanOut = fanOut;
    this.#ttlMs = config.tokenTtlDays * DAY_MS;
  }

  /** Issues a new token for the user; returns the token, shown once. */
  async issue(userId: number, userAgent: string, now = new Date()): Promise<string> {
    const token = newToken();
    const iso = now.toISOString();
    await this.#store.sessions.create({
      user_id: userId,
      token_hash: hashToken(token),
      created_at: iso,
      last_used_at: iso,
      expires_at: new Date(now.getTime() + this.#ttlMs).toISOString(),
      user_agent: userAgent.slice(0, 512),
    });
    return token;
  }

  /** Resolves a token to its user; unknown, expired or revoked → 401. */
  async authenticate(token: string | undefined, now = new Date()): Promise<Authenticated> {
    if (!token) throw new Unauthorized('Authentication credentials were not provided.');
    if (!TOKEN_SHAPE.test(token)) throw new Unauthorized('Invalid token.');
    const found = await this.#store.sessions.findByTokenHash(hashToken(token));
    if (!found) throw new Unauthorized('Invalid token.');
    if (found.session.expires_at <= now.toISOString()) throw new Unauthorized('Token has expired.');
    if (now.getTime() - Date.parse(found.session.last_used_at) > TOUCH_INTERVAL_MS) {
      await this.#store.sessions.touch(found.session, now.toISOString());
    }
    return { user: found.user, sessionId: found.session.id };
  }

  async list(auth: Authenticated, now = new Date()): Promise<SessionView[]> {
    const rows = await this.#store.sessions.listForUser(auth.user.id, now.toISOString());
    return rows.map((row: SessionRow) => ({
      id: row.id,
      created_at: row.created_at,
      last_used_at: row.last_used_at,
      expires_at: row.expires_at,
      user_agent: row.user_agent,
      current: row.id === auth.sessionId,
    }));
  }

  async revoke(auth: Authenticated, sessionId: number): Promise<void> {
    if (!(await this.#store.sessions.delete(auth.user.id, sessionId))) throw new NotFound('Session not found.');
    this.#fanOut.publish({ type: 'sessions_changed', userId: auth.user.id }); // its live connections close (B 9)
  }

  async revokeAll(userId: number): Promise<void> {
    await this.#store.sessions.deleteAllForUser(userId);
    this.#fanOut.publish({ type: 'sessions_changed', userId });
  }
}
