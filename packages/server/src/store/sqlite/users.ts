/** Users and their key versions, with prepared statements and synchronous transactions. */
import type {
  KeyVersionRefusal, NewKeyVersion, NewUser, PasswordChangeWrite, PublicKeyRow, PublicKeyVersion, ResealedEnvelope,
  UserIdentity, UserKeyRow, UserRepository, UserRow,
} from '../ports.ts';
import { UsernameTaken } from '../ports.ts';
import { isRegistrableName, PREFIX_END, usernameKey } from '../username-key.ts';
import type { Sqlite } from './database.ts';

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE';
}


const PUBLIC_KEYS = `
  SELECT u.id, u.username, k.public_key, k.key_id, k.signing_public_key, k.key_signature
  FROM users u JOIN user_keys k ON k.user_id = u.id AND k.key_id = u.current_key_id`;

export class SqliteUserRepository implements UserRepository {
  readonly #identityByUsername;
  readonly #byUsername;
  readonly #currentKeyId;
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
  readonly #upgradePasswordHash;

  constructor(sqlite: Sqlite) {
    this.#byUsername = sqlite.prepare<[string], UserRow>('SELECT * FROM users WHERE username_lower = ?');
    this.#identityByUsername = sqlite.prepare<[string], UserIdentity>('SELECT id, username FROM users WHERE username_lower = ?');
    this.#currentKeyId = sqlite.prepare<[number], number>('SELECT current_key_id FROM users WHERE id = ?').pluck();
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
    // A range on the unique index (BINARY: UTF-8 bytewise), up to the prefix followed by the last code point (username-key.ts).
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
    this.#upgradePasswordHash = sqlite.prepare<[string, number, string]>('UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?');
    const deleteOtherSessions = sqlite.prepare<[number, number]>('DELETE FROM sessions WHERE user_id = ? AND id != ?');

    // Transactions are synchronous: nothing else runs on the connection until they commit.
    this.#create = sqlite.transaction((user: NewUser) => {
      const username_lower = usernameKey(user.username);
      if (username_lower === null || !isRegistrableName(user.username)) throw new Error('registered usernames are ASCII');
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
    const keyVersionCount = sqlite.prepare<[number], number>('SELECT count(*) FROM user_keys WHERE user_id = ?').pluck();
    this.#replaceSecrets = sqlite.transaction((change: PasswordChangeWrite) => {
      if (keyVersionCount.get(change.userId) !== new Set(change.envelopes.map((e) => e.key_id)).size) return false;
      setPasswordHash.run(change.passwordHash, change.userId);
      for (const envelope of change.envelopes) reseal.run({ ...envelope, user_id: change.userId });
      deleteOtherSessions.run(change.userId, change.keepSessionId);
      return true;
    });
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    const key = usernameKey(username);
    return key === null ? undefined : this.#byUsername.get(key);
  }

  async findIdentity(username: string): Promise<UserIdentity | undefined> {
    const key = usernameKey(username);
    return key === null ? undefined : this.#identityByUsername.get(key);
  }

  async create(user: NewUser): Promise<{ user: UserRow; key: UserKeyRow }> {
    try {
      return this.#create(user);
    } catch (error) {
      throw isUniqueViolation(error) ? new UsernameTaken(user.username) : error;
    }
  }

  async addKeyVersionAs(userId: number, key: NewKeyVersion, now: string, maxVersions = Infinity, expectedKeyId?: number): Promise<UserKeyRow | KeyVersionRefusal> {
    return this.#addKeyVersion(userId, key, now, maxVersions, expectedKeyId);
  }

  async replaceSecrets(change: PasswordChangeWrite): Promise<boolean> {
    return this.#replaceSecrets(change);
  }

  async upgradePasswordHash(userId: number, from: string, to: string): Promise<boolean> {
    return this.#upgradePasswordHash.run(to, userId, from).changes === 1;
  }

  async currentKeyId(userId: number): Promise<number | undefined> {
    return this.#currentKeyId.get(userId);
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
    return this.#listPublicKeysByPrefix.all({ viewer, prefix, end: `${prefix}${PREFIX_END}`, limit, offset });
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
