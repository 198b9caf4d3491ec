/** Users and their key versions, with prepared statements and synchronous transactions. */
import { BoundedMap } from '../bounded-map.ts';
import type { Sqlite } from './database.ts';
import type { UserKeyRow, UserRow } from './schema.ts';
import type { SessionCache } from './session-cache.ts';
import { usernameKey } from './username-key.ts';

/** Part B 11's columns: absent means null (server-made keys, clients without signing keys). */
type SigningColumns = 'signing_public_key' | 'key_signature' | 'encrypted_signing_key' | 'signing_key_nonce';

export type NewKeyVersion = Omit<UserKeyRow, 'user_id' | 'key_id' | 'created_at' | SigningColumns> & Partial<Pick<UserKeyRow, SigningColumns>>;

export type ResealedEnvelope = Pick<
  UserKeyRow,
  | 'key_id'
  | 'encrypted_private_key'
  | 'private_key_nonce'
  | 'private_key_salt'
  | 'private_key_iterations'
  | 'sealed_by'
  | 'encrypted_signing_key'
  | 'signing_key_nonce'
>;

export interface PublicKeyRow {
  id: number;
  username: string;
  public_key: string;
  key_id: number;
  signing_public_key: string | null;
  key_signature: string | null;
}

/** Part B 11: what the keys endpoint lists of each version, and the keyring checks. */
export type PublicKeyVersion = Pick<UserKeyRow, 'key_id' | 'public_key' | 'signing_public_key' | 'key_signature' | 'created_at'>;

/** Why addKeyVersion added nothing: the account is at its cap, or its current version is no longer the one the new version was checked against. */
export type KeyVersionRefusal = 'full' | 'raced';

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

const PUBLIC_KEYS = `
  SELECT u.id, u.username, k.public_key, k.key_id, k.signing_public_key, k.key_signature
  FROM users u JOIN user_keys k ON k.user_id = u.id AND k.key_id = u.current_key_id`;

export interface UserIdentity {
  id: number;
  username: string;
}

const MAX_CACHED_USERS = 100_000;

export class UserRepository {
  readonly #identities = new BoundedMap<string, UserIdentity>(MAX_CACHED_USERS);
  /** Current key version by user id; every change of it goes through this repository (addKeyVersion). */
  readonly #currentKeyIds = new BoundedMap<number, number>(MAX_CACHED_USERS);
  readonly #identityByUsername;
  readonly #byUsername;
  readonly #currentKeyId;
  readonly #publicKey;
  readonly #keyVersion;
  readonly #history;
  readonly #currentKey;
  readonly #keys;
  readonly #publicKeyOf;
  readonly #listPublicKeys;
  readonly #listPublicKeysByPrefix;
  readonly #create;
  readonly #addKeyVersion;
  readonly #replaceSecrets;

  readonly #sessionCache: SessionCache;

  constructor(sqlite: Sqlite, sessionCache: SessionCache) {
    this.#sessionCache = sessionCache;
    this.#byUsername = sqlite.prepare<[string], UserRow>('SELECT * FROM users WHERE username_lower = ?');
    this.#identityByUsername = sqlite.prepare<[string], UserIdentity>('SELECT id, username FROM users WHERE username_lower = ?');
    this.#currentKeyId = sqlite.prepare<[number], number>('SELECT current_key_id FROM users WHERE id = ?').pluck();
    this.#publicKey = sqlite.prepare<[number, number], string>('SELECT public_key FROM user_keys WHERE user_id = ? AND key_id = ?').pluck();
    const versionColumns = 'key_id, public_key, signing_public_key, key_signature, created_at';
    this.#keyVersion = sqlite.prepare<[number, number], PublicKeyVersion>(`SELECT ${versionColumns} FROM user_keys WHERE user_id = ? AND key_id = ?`);
    this.#history = sqlite.prepare<[number], PublicKeyVersion>(`SELECT ${versionColumns} FROM user_keys WHERE user_id = ? ORDER BY key_id`);
    this.#currentKey = sqlite.prepare<[number], UserKeyRow>(
      'SELECT k.* FROM user_keys k JOIN users u ON u.id = k.user_id AND u.current_key_id = k.key_id WHERE u.id = ?',
    );
    this.#keys = sqlite.prepare<[number], UserKeyRow>('SELECT * FROM user_keys WHERE user_id = ? ORDER BY key_id DESC');
    this.#publicKeyOf = sqlite.prepare<[string], PublicKeyRow>(`${PUBLIC_KEYS} WHERE u.username_lower = ?`);
    this.#listPublicKeys = sqlite.prepare<{ viewer: number; limit: number; offset: number }, PublicKeyRow>(
      `${PUBLIC_KEYS} WHERE u.id != @viewer ORDER BY u.id LIMIT @limit OFFSET @offset`,
    );
    // A range on the unique index: usernames are ASCII, all below U+007F.
    this.#listPublicKeysByPrefix = sqlite.prepare<{ viewer: number; prefix: string; end: string; limit: number; offset: number }, PublicKeyRow>(
      `${PUBLIC_KEYS} WHERE u.id != @viewer AND u.username_lower >= @prefix AND u.username_lower < @end ORDER BY u.id LIMIT @limit OFFSET @offset`,
    );

    const insertUser = sqlite.prepare<Omit<UserRow, 'id'>, UserRow>(
      `INSERT INTO users (username, username_lower, password_hash, current_key_id, created_at)
       VALUES (@username, @username_lower, @password_hash, @current_key_id, @created_at) RETURNING *`,
    );
    const insertKey = sqlite.prepare<UserKeyRow, UserKeyRow>(
      `INSERT INTO user_keys (user_id, key_id, public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, sealed_by, created_at,
         signing_public_key, key_signature, encrypted_signing_key, signing_key_nonce)
       VALUES (@user_id, @key_id, @public_key, @encrypted_private_key, @private_key_nonce, @private_key_salt, @private_key_iterations, @sealed_by, @created_at,
         @signing_public_key, @key_signature, @encrypted_signing_key, @signing_key_nonce)
       RETURNING *`,
    );
    const setCurrentKey = sqlite.prepare<[number, number]>('UPDATE users SET current_key_id = ? WHERE id = ?');
    const setPasswordHash = sqlite.prepare<[string, number]>('UPDATE users SET password_hash = ? WHERE id = ?');
    const reseal = sqlite.prepare<ResealedEnvelope & { user_id: number }>(
      `UPDATE user_keys SET encrypted_private_key = @encrypted_private_key, private_key_nonce = @private_key_nonce,
         private_key_salt = @private_key_salt, private_key_iterations = @private_key_iterations, sealed_by = @sealed_by,
         encrypted_signing_key = @encrypted_signing_key, signing_key_nonce = @signing_key_nonce
       WHERE user_id = @user_id AND key_id = @key_id`,
    );
    const deleteOtherSessions = sqlite.prepare<[number, number]>('DELETE FROM sessions WHERE user_id = ? AND id != ?');

    // Transactions are synchronous: nothing else runs on the connection until they commit.
    this.#create = sqlite.transaction((user: { username: string; passwordHash: string; key: NewKeyVersion; now: string }) => {
      const username_lower = usernameKey(user.username);
      if (username_lower === null) throw new Error('usernames are ASCII');
      const row = insertUser.get({
        username: user.username,
        username_lower,
        password_hash: user.passwordHash,
        current_key_id: 1,
        created_at: user.now,
      })!;
      const key = insertKey.get({ ...withSigningColumns(user.key), user_id: row.id, key_id: 1, created_at: user.now })!;
      return { user: row, key };
    });
    this.#addKeyVersion = sqlite.transaction((userId: number, key: NewKeyVersion, now: string, maxVersions: number, expectedKeyId: number | undefined) => {
      const keyId = this.#currentKeyId.get(userId)! + 1;
      if (keyId > maxVersions) return 'full' as const;
      if (expectedKeyId !== undefined && keyId !== expectedKeyId) return 'raced' as const;
      const row = insertKey.get({ ...withSigningColumns(key), user_id: userId, key_id: keyId, created_at: now })!;
      setCurrentKey.run(keyId, userId);
      return row;
    });
    this.#replaceSecrets = sqlite.transaction((change: { userId: number; passwordHash: string; envelopes: ResealedEnvelope[]; keepSessionId: number }) => {
      setPasswordHash.run(change.passwordHash, change.userId);
      for (const envelope of change.envelopes) reseal.run({ ...envelope, user_id: change.userId });
      deleteOtherSessions.run(change.userId, change.keepSessionId);
    });
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    const key = usernameKey(username);
    return key === null ? undefined : this.#byUsername.get(key);
  }

  /**
   * A user's id and username, by username (ignoring ASCII case). Both never change
   * and users are never deleted, so a found identity is remembered for good
   * (bounded); an unknown name is not, as it may be registered any moment.
   */
  async findIdentity(username: string): Promise<UserIdentity | undefined> {
    const key = usernameKey(username);
    if (key === null) return undefined;
    let identity = this.#identities.get(key);
    if (!identity) {
      identity = this.#identityByUsername.get(key);
      if (!identity) return undefined;
      this.#identities.set(key, identity);
    }
    return identity;
  }

  /** Creates the user with key version 1; throws a unique violation if the name is taken. */
  async create(user: { username: string; passwordHash: string; key: NewKeyVersion; now: string }): Promise<{ user: UserRow; key: UserKeyRow }> {
    return this.#create(user);
  }

  /**
   * Adds the next key version and makes it current, atomically; undefined
   * when the user already has `maxVersions` (key ids run 1, 2, … and are
   * never deleted, so the current id is the count).
   */
  async addKeyVersion(userId: number, key: NewKeyVersion, now: string, maxVersions = Infinity): Promise<UserKeyRow | undefined> {
    const row = await this.addKeyVersionAs(userId, key, now, maxVersions);
    return typeof row === 'string' ? undefined : row;
  }

  /**
   * addKeyVersion that also refuses ('raced') when the new version would not
   * be `expectedKeyId` — a key_signature (Part B 11) vouches for one key id,
   * so a rotation checked against version N must become N + 1 or nothing.
   */
  async addKeyVersionAs(userId: number, key: NewKeyVersion, now: string, maxVersions = Infinity, expectedKeyId?: number): Promise<UserKeyRow | KeyVersionRefusal> {
    const row = this.#addKeyVersion(userId, key, now, maxVersions, expectedKeyId);
    if (typeof row !== 'string') this.#currentKeyIds.set(userId, row.key_id);
    return row;
  }

  /**
   * Password change, atomically: new password hash, every envelope re-sealed,
   * and every session of the user but `keepSessionId` revoked.
   */
  async replaceSecrets(change: { userId: number; passwordHash: string; envelopes: ResealedEnvelope[]; keepSessionId: number }): Promise<void> {
    this.#replaceSecrets(change);
    this.#sessionCache.clear(); // the other sessions are gone
  }

  /** Read once per user, then kept (bounded): a send needs it for both parties. */
  async currentKeyId(userId: number): Promise<number | undefined> {
    let keyId = this.#currentKeyIds.get(userId);
    if (keyId === undefined) {
      keyId = this.#currentKeyId.get(userId);
      if (keyId === undefined) return undefined;
      this.#currentKeyIds.set(userId, keyId);
    }
    return keyId;
  }

  async publicKey(userId: number, keyId: number): Promise<string | undefined> {
    return this.#publicKey.get(userId, keyId);
  }

  /** Part B 11: one version's public keys and key_signature. */
  async keyVersion(userId: number, keyId: number): Promise<PublicKeyVersion | undefined> {
    return this.#keyVersion.get(userId, keyId);
  }

  /** Part B 11: every version's public keys and key_signature, oldest first. */
  async keyHistory(userId: number): Promise<PublicKeyVersion[]> {
    return this.#history.all(userId);
  }

  async currentKey(userId: number): Promise<UserKeyRow | undefined> {
    return this.#currentKey.get(userId);
  }

  /** All key versions of a user, newest first. */
  async keys(userId: number): Promise<UserKeyRow[]> {
    return this.#keys.all(userId);
  }

  async publicKeyOf(username: string): Promise<PublicKeyRow | undefined> {
    const key = usernameKey(username);
    return key === null ? undefined : this.#publicKeyOf.get(key);
  }

  /** Other users than `exceptUserId`, by id, optionally by username prefix ignoring ASCII case. */
  async listPublicKeys(options: { exceptUserId: number; prefix?: string; limit: number; offset: number }): Promise<PublicKeyRow[]> {
    const { exceptUserId: viewer, limit, offset } = options;
    if (!options.prefix) return this.#listPublicKeys.all({ viewer, limit, offset });
    const prefix = usernameKey(options.prefix);
    if (prefix === null) return [];
    return this.#listPublicKeysByPrefix.all({ viewer, prefix, end: `${prefix}\u007f`, limit, offset });
  }
}

function withSigningColumns(key: NewKeyVersion): Omit<UserKeyRow, 'user_id' | 'key_id' | 'created_at'> {
  return {
    ...key,
    signing_public_key: key.signing_public_key ?? null,
    key_signature: key.key_signature ?? null,
    encrypted_signing_key: key.encrypted_signing_key ?? null,
    signing_key_nonce: key.signing_key_nonce ?? null,
  };
}
