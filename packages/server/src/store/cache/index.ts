/**
 * Caches as a layer over any store: `withCaches(store, policy)` returns the
 * same Store with the hot lookups remembered —
 *
 * - sessions by token hash (every authenticated request looks one up);
 * - user identities by username (id and name never change; unknown names
 *   are not remembered, as they may be registered any moment);
 * - each user's current key version (every send needs both parties').
 *
 * Alone (one instance, SQLite), every change goes through this process, so
 * the layer clears what a write makes stale as it writes, and entries live
 * until then. Shared (several instances on one database), another instance
 * may write too: each write is also published (`Invalidation`, Redis), and
 * every entry is re-read after `maxAgeMs` however many invalidations are
 * lost — so a revoked session or a replaced key is never served past it.
 *
 * @example
 * const store = withCaches(await openStore(url), ALONE);
 */
import type {
  NewKeyVersion, PasswordChangeWrite, SessionRepository, SessionRow, SessionWithUser, Store, UserIdentity, UserKeyRow, UserRepository,
  KeyVersionRefusal,
} from '../ports.ts';
import { usernameKey } from '../username-key.ts';
import type { CacheChange, CachePolicy } from './invalidation.ts';
import { TimedCache } from './timed-cache.ts';

export { ALONE, NO_INVALIDATION, type CacheChange, type CachePolicy, type Invalidation, type SharedCachePolicy } from './invalidation.ts';

const MAX_SESSIONS = 10_000;
const MAX_USERS = 100_000;

export function withCaches(store: Store, policy: CachePolicy): Store {
  const maxAgeMs = policy.kind === 'shared' ? policy.maxAgeMs : null;
  const sessionCache = new TimedCache<string, SessionWithUser>(MAX_SESSIONS, maxAgeMs);
  const currentKeyIds = new TimedCache<number, number>(MAX_USERS, maxAgeMs);
  const announce = (change: CacheChange): void => {
    if (policy.kind === 'shared') policy.invalidation.publish(change);
  };
  const sessionsChanged = (): void => {
    sessionCache.clear();
    announce({ kind: 'sessions' });
  };
  if (policy.kind === 'shared') {
    policy.invalidation.subscribe((change) => {
      if (change.kind === 'sessions') sessionCache.clear();
      else currentKeyIds.delete(change.userId);
    });
  }
  const identities = new TimedCache<string, UserIdentity>(MAX_USERS, null); // never change: remembered for good
  const stats = (cache: string, { hits, misses }: TimedCache<unknown, unknown>) => ({ cache, hits, misses });
  return Object.freeze({
    engine: store.engine,
    db: store.db,
    messages: store.messages,
    users: cachedUsers(store.users, identities, currentKeyIds, sessionsChanged, announce),
    sessions: cachedSessions(store.sessions, sessionCache, sessionsChanged),
    ping: () => store.ping(),
    close: () => store.close(),
    observeCommits: store.observeCommits?.bind(store),
    poolStats: store.poolStats?.bind(store),
    cacheStats: () => [stats('sessions', sessionCache), stats('identities', identities), stats('current_key_ids', currentKeyIds)],
  });
}

function cachedUsers(
  users: UserRepository,
  identities: TimedCache<string, UserIdentity>,
  currentKeyIds: TimedCache<number, number>,
  sessionsChanged: () => void,
  announce: (change: CacheChange) => void,
): UserRepository {
  return {
    findByUsername: (username) => users.findByUsername(username),
    async findIdentity(username) {
      const key = usernameKey(username);
      if (key === null) return undefined;
      const cached = identities.get(key);
      if (cached) return cached;
      const found = await users.findIdentity(username);
      return found && identities.set(key, found);
    },
    create: (user) => users.create(user),
    async addKeyVersionAs(userId: number, key: NewKeyVersion, now: string, maxVersions?: number, expectedKeyId?: number): Promise<UserKeyRow | KeyVersionRefusal> {
      const row = await users.addKeyVersionAs(userId, key, now, maxVersions, expectedKeyId);
      if (typeof row === 'string') {
        currentKeyIds.delete(userId); // another instance's rotation is why: read it afresh
      } else {
        currentKeyIds.set(userId, row.key_id);
        announce({ kind: 'key', userId });
      }
      return row;
    },
    async replaceSecrets(change: PasswordChangeWrite) {
      const replaced = await users.replaceSecrets(change);
      if (replaced) sessionsChanged(); // the other sessions are gone
      return replaced;
    },
    upgradePasswordHash: (userId, from, to) => users.upgradePasswordHash(userId, from, to),
    async currentKeyId(userId) {
      const cached = currentKeyIds.get(userId);
      if (cached !== undefined) return cached;
      const found = await users.currentKeyId(userId);
      return found === undefined ? undefined : currentKeyIds.set(userId, found);
    },
    keyVersion: (userId, keyId) => users.keyVersion(userId, keyId),
    keyHistory: (userId) => users.keyHistory(userId),
    currentKey: (userId) => users.currentKey(userId),
    keys: (userId) => users.keys(userId),
    publicKeyOf: (username) => users.publicKeyOf(username),
    listPublicKeys: (options) => users.listPublicKeys(options),
  };
}

/** Every deletion of sessions clears the whole cache: deletions are rare, lookups are every request. */
function cachedSessions(sessions: SessionRepository, cache: TimedCache<string, SessionWithUser>, sessionsChanged: () => void): SessionRepository {
  return {
    create: (session: Omit<SessionRow, 'id'>) => sessions.create(session),
    async findByTokenHash(tokenHash) {
      const cached = cache.get(tokenHash);
      if (cached) return cached;
      const found = await sessions.findByTokenHash(tokenHash);
      return found && cache.set(tokenHash, found);
    },
    async touch(session, now) {
      await sessions.touch(session, now);
      cache.update(session.token_hash, (found) => ({ ...found, session: { ...found.session, last_used_at: now } }));
    },
    listForUser: (userId, now) => sessions.listForUser(userId, now),
    async delete(userId, sessionId) {
      const deleted = await sessions.delete(userId, sessionId);
      sessionsChanged();
      return deleted;
    },
    async deleteAllForUser(userId) {
      await sessions.deleteAllForUser(userId);
      sessionsChanged();
    },
    async deleteExpired(now) {
      await sessions.deleteExpired(now);
      sessionsChanged();
    },
  };
}
