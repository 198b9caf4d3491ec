/** Users and their key versions: parameterised SQL on the pool, transactions where a change spans rows. */
import type {
  KeyVersionRefusal, NewKeyVersion, NewUser, PasswordChangeWrite, PublicKeyRow, PublicKeyVersion, UserIdentity, UserKeyRow, UserRepository, UserRow,
} from '../ports.ts';
import { UsernameTaken } from '../ports.ts';
import { isRegistrableName, PREFIX_END, usernameKey } from '../username-key.ts';
import { inTransaction, isDatabaseError, UNIQUE_VIOLATION, type Pool, type PoolClient } from './database.ts';

/** The unique constraint PostgreSQL names for `username_lower … UNIQUE` (migration 0001). */
const USERNAME_CONSTRAINT = 'users_username_lower_key';

/**
 * usernameKey, and no key for a name with U+0000: PostgreSQL text cannot hold
 * it (the query would fail), and no registered name does.
 */
function nameKey(username: string): string | null {
  const key = usernameKey(username);
  return key === null || key.includes('\0') ? null : key;
}

const PUBLIC_KEYS = `
  SELECT u.id, u.username, k.public_key, k.key_id, k.signing_public_key, k.key_signature
  FROM users u JOIN user_keys k ON k.user_id = u.id AND k.key_id = u.current_key_id`;

const VERSION_COLUMNS = 'key_id, public_key, signing_public_key, key_signature, created_at';

const INSERT_KEY = `
  INSERT INTO user_keys (user_id, key_id, public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, sealed_by,
    created_at, signing_public_key, key_signature, encrypted_signing_key, signing_key_nonce)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
  RETURNING *`;

function insertKey(client: PoolClient, userId: number, keyId: number, key: NewKeyVersion, now: string): Promise<UserKeyRow> {
  return client
    .query<UserKeyRow>(INSERT_KEY, [
      userId, keyId, key.public_key, key.encrypted_private_key, key.private_key_nonce, key.private_key_salt, key.private_key_iterations, key.sealed_by,
      now, key.signing_public_key ?? null, key.key_signature ?? null, key.encrypted_signing_key ?? null, key.signing_key_nonce ?? null,
    ])
    .then((result) => result.rows[0]!);
}

export class PostgresUserRepository implements UserRepository {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async #one<R extends object>(text: string, values: unknown[]): Promise<R | undefined> {
    return (await this.#pool.query<R>(text, values)).rows[0];
  }

  async findByUsername(username: string): Promise<UserRow | undefined> {
    const key = nameKey(username);
    return key === null ? undefined : this.#one<UserRow>('SELECT * FROM users WHERE username_lower = $1', [key]);
  }

  async findIdentity(username: string): Promise<UserIdentity | undefined> {
    const key = nameKey(username);
    return key === null ? undefined : this.#one<UserIdentity>('SELECT id, username FROM users WHERE username_lower = $1', [key]);
  }

  async create(user: NewUser): Promise<{ user: UserRow; key: UserKeyRow }> {
    const username_lower = usernameKey(user.username);
    if (username_lower === null || !isRegistrableName(user.username)) throw new Error('registered usernames are ASCII');
    try {
      return await inTransaction(this.#pool, async (client) => {
        const { rows } = await client.query<UserRow>(
          `INSERT INTO users (username, username_lower, password_hash, current_key_id, created_at) VALUES ($1, $2, $3, 1, $4) RETURNING *`,
          [user.username, username_lower, user.passwordHash, user.now],
        );
        const row = rows[0]!;
        return { user: row, key: await insertKey(client, row.id, 1, user.key, user.now) };
      });
    } catch (error) {
      throw isDatabaseError(error, UNIQUE_VIOLATION, USERNAME_CONSTRAINT) ? new UsernameTaken(user.username) : error;
    }
  }

  /**
   * The user's row is locked first (FOR NO KEY UPDATE), so of two rotations
   * the second reads the version the first made and refuses ('raced') or
   * goes on from it. NO KEY UPDATE rather than UPDATE: it serialises
   * rotations and password changes just the same, but does not conflict with
   * the KEY SHARE locks that foreign-key checks of message inserts take on
   * the same row — a rotation never waits behind, or holds up, sends.
   */
  async addKeyVersionAs(userId: number, key: NewKeyVersion, now: string, maxVersions = Infinity, expectedKeyId?: number): Promise<UserKeyRow | KeyVersionRefusal> {
    return inTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ current_key_id: number }>('SELECT current_key_id FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
      if (!rows[0]) throw new Error(`no user with id ${userId}`);
      const keyId = rows[0].current_key_id + 1;
      if (keyId > maxVersions) return 'full' as const;
      if (expectedKeyId !== undefined && keyId !== expectedKeyId) return 'raced' as const;
      const row = await insertKey(client, userId, keyId, key, now);
      await client.query('UPDATE users SET current_key_id = $1 WHERE id = $2', [keyId, userId]);
      return row;
    });
  }

  async replaceSecrets(change: PasswordChangeWrite): Promise<boolean> {
    const stale = new Error('key versions changed');
    try {
      await this.#replaceSecrets(change, stale);
      return true;
    } catch (error) {
      if (error === stale) return false; // rolled back: nothing written
      throw error;
    }
  }

  async #replaceSecrets(change: PasswordChangeWrite, stale: Error): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      // The user's row first, as addKeyVersionAs does: one lock order, no deadlock between the two. Once
      // it is ours no rotation can commit, and a rotation that committed before is seen by the count.
      await client.query('UPDATE users SET password_hash = $1 WHERE id = $2', [change.passwordHash, change.userId]);
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM user_keys WHERE user_id = $1', [change.userId]);
      if (rows[0]!.n !== new Set(change.envelopes.map((e) => e.key_id)).size) throw stale;
      for (const envelope of change.envelopes) {
        await client.query(
          `UPDATE user_keys SET encrypted_private_key = $1, private_key_nonce = $2, private_key_salt = $3, private_key_iterations = $4, sealed_by = $5,
             encrypted_signing_key = $6, signing_key_nonce = $7
           WHERE user_id = $8 AND key_id = $9`,
          [
            envelope.encrypted_private_key, envelope.private_key_nonce, envelope.private_key_salt, envelope.private_key_iterations, envelope.sealed_by,
            envelope.encrypted_signing_key, envelope.signing_key_nonce, change.userId, envelope.key_id,
          ],
        );
      }
      await client.query('DELETE FROM sessions WHERE user_id = $1 AND id <> $2', [change.userId, change.keepSessionId]);
    });
  }

  async upgradePasswordHash(userId: number, from: string, to: string): Promise<boolean> {
    return ((await this.#pool.query('UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3', [to, userId, from])).rowCount ?? 0) === 1;
  }

  async currentKeyId(userId: number): Promise<number | undefined> {
    return (await this.#one<{ current_key_id: number }>('SELECT current_key_id FROM users WHERE id = $1', [userId]))?.current_key_id;
  }

  /** Part B 11: one version's public keys and key_signature. */
  async keyVersion(userId: number, keyId: number): Promise<PublicKeyVersion | undefined> {
    return this.#one<PublicKeyVersion>(`SELECT ${VERSION_COLUMNS} FROM user_keys WHERE user_id = $1 AND key_id = $2`, [userId, keyId]);
  }

  /** Part B 11: every version's public keys and key_signature, oldest first. */
  async keyHistory(userId: number): Promise<PublicKeyVersion[]> {
    return (await this.#pool.query<PublicKeyVersion>(`SELECT ${VERSION_COLUMNS} FROM user_keys WHERE user_id = $1 ORDER BY key_id`, [userId])).rows;
  }

  async currentKey(userId: number): Promise<UserKeyRow | undefined> {
    return this.#one<UserKeyRow>('SELECT k.* FROM user_keys k JOIN users u ON u.id = k.user_id AND u.current_key_id = k.key_id WHERE u.id = $1', [userId]);
  }

  /** All key versions of a user, newest first. */
  async keys(userId: number): Promise<UserKeyRow[]> {
    return (await this.#pool.query<UserKeyRow>('SELECT * FROM user_keys WHERE user_id = $1 ORDER BY key_id DESC', [userId])).rows;
  }

  async publicKeyOf(username: string): Promise<PublicKeyRow | undefined> {
    const key = nameKey(username);
    return key === null ? undefined : this.#one<PublicKeyRow>(`${PUBLIC_KEYS} WHERE u.username_lower = $1`, [key]);
  }

  /** Other users than `exceptUserId`, by id, optionally by username prefix ignoring ASCII case. */
  async listPublicKeys(options: { exceptUserId: number; prefix?: string; limit: number; offset: number }): Promise<PublicKeyRow[]> {
    const { exceptUserId, limit, offset } = options;
    if (!options.prefix) {
      return (await this.#pool.query<PublicKeyRow>(`${PUBLIC_KEYS} WHERE u.id <> $1 ORDER BY u.id LIMIT $2 OFFSET $3`, [exceptUserId, limit, offset])).rows;
    }
    const prefix = nameKey(options.prefix);
    if (prefix === null) return [];
    // A range on the unique index (COLLATE "C": UTF-8 bytewise), up to the prefix followed by the last code point (username-key.ts).
    return (
      await this.#pool.query<PublicKeyRow>(
        `${PUBLIC_KEYS} WHERE u.id <> $1 AND u.username_lower >= $2 AND u.username_lower < $3 ORDER BY u.id LIMIT $4 OFFSET $5`,
        [exceptUserId, prefix, `${prefix}${PREFIX_END}`, limit, offset],
      )
    ).rows;
  }
}
