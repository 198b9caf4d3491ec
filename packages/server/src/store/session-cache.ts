/**
 * Sessions by token hash, kept in memory: every authenticated request looks
 * its token up, and session rows change only through this process (one
 * server process per database file, see docs/performance.md).
 *
 * Revocation must take effect at once, so every statement that deletes
 * sessions — logout, revoke, logout-all, expiry clean-up, and the password
 * change that ends the other sessions — clears the whole cache right after
 * it runs. Deletions are rare; lookups are every request. A touch (the
 * last-used time) updates the cached row in place.
 */
import { BoundedMap } from '../bounded-map.ts';
import type { SessionWithUser } from './sessions.ts';

const MAX_SESSIONS = 10_000;

export class SessionCache {
  readonly #byTokenHash = new BoundedMap<string, SessionWithUser>(MAX_SESSIONS);

  get(tokenHash: string): SessionWithUser | undefined {
    return this.#byTokenHash.get(tokenHash);
  }

  remember(tokenHash: string, found: SessionWithUser): void {
    this.#byTokenHash.set(tokenHash, found);
  }

  touched(tokenHash: string, lastUsedAt: string): void {
    const found = this.#byTokenHash.get(tokenHash);
    if (found) found.session = { ...found.session, last_used_at: lastUsedAt };
  }

  /** After any deletion of sessions. */
  clear(): void {
    this.#byTokenHash.clear();
  }
}
