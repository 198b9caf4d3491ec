/** Users and their key versions. */
import type { Db } from './database.ts';
import type { UserKeyRow, UserRow } from './schema.ts';

export type NewKeyVersion = Omit<UserKeyRow, 'user_id' | 'key_id' | 'created_at'>;

export type ResealedEnvelope = Pick<
  UserKeyRow,
  'key_id' | 'encrypted_private_key' | 'private_key_nonce' | 'private_key_salt' | 'private_key_iterations' | 'sealed_by'
>;

export interface PublicKeyRow {
  id: number;
  username: string;
  public_key: string;
  key_id: number;
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

export class UserRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  findByUsername(username: string): Promise<UserRow | undefined> {
    return this.#db.selectFrom('users').selectAll().where('username_lower', '=', username.toLowerCase()).executeTakeFirst();
  }

  /** Creates the user with key version 1; throws a unique violation if the name is taken. */
  async create(user: { username: string; passwordHash: string; key: NewKeyVersion; now: string }): Promise<{ user: UserRow; key: UserKeyRow }> {
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto('users')
        .values({
          username: user.username,
          username_lower: user.username.toLowerCase(),
          password_hash: user.passwordHash,
          current_key_id: 1,
          created_at: user.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const key = await trx
        .insertInto('user_keys')
        .values({ ...user.key, user_id: row.id, key_id: 1, created_at: user.now })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { user: row, key };
    });
  }

  /** Adds the next key version and makes it current, atomically. */
  async addKeyVersion(userId: number, key: NewKeyVersion, now: string): Promise<UserKeyRow> {
    return this.#db.transaction().execute(async (trx) => {
      const { current_key_id } = await trx.selectFrom('users').select('current_key_id').where('id', '=', userId).executeTakeFirstOrThrow();
      const keyId = current_key_id + 1;
      const row = await trx
        .insertInto('user_keys')
        .values({ ...key, user_id: userId, key_id: keyId, created_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx.updateTable('users').set({ current_key_id: keyId }).where('id', '=', userId).execute();
      return row;
    });
  }

  /**
   * Password change, atomically: new password hash, every envelope re-sealed,
   * and every session of the user but `keepSessionId` revoked.
   */
  async replaceSecrets(change: { userId: number; passwordHash: string; envelopes: ResealedEnvelope[]; keepSessionId: number }): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ password_hash: change.passwordHash }).where('id', '=', change.userId).execute();
      for (const { key_id, ...envelope } of change.envelopes) {
        await trx.updateTable('user_keys').set(envelope).where('user_id', '=', change.userId).where('key_id', '=', key_id).execute();
      }
      await trx.deleteFrom('sessions').where('user_id', '=', change.userId).where('id', '!=', change.keepSessionId).execute();
    });
  }

  currentKey(userId: number): Promise<UserKeyRow | undefined> {
    return this.#db
      .selectFrom('user_keys')
      .innerJoin('users', (join) => join.onRef('users.id', '=', 'user_keys.user_id').onRef('users.current_key_id', '=', 'user_keys.key_id'))
      .selectAll('user_keys')
      .where('users.id', '=', userId)
      .executeTakeFirst();
  }

  /** All key versions of a user, newest first. */
  keys(userId: number): Promise<UserKeyRow[]> {
    return this.#db.selectFrom('user_keys').selectAll().where('user_id', '=', userId).orderBy('key_id', 'desc').execute();
  }

  publicKeyOf(username: string): Promise<PublicKeyRow | undefined> {
    return this.#publicKeys().where('users.username_lower', '=', username.toLowerCase()).executeTakeFirst();
  }

  /** Other users than `exceptUserId`, by id, optionally by case-insensitive username prefix. */
  listPublicKeys(options: { exceptUserId: number; prefix?: string; limit: number; offset: number }): Promise<PublicKeyRow[]> {
    let query = this.#publicKeys().where('users.id', '!=', options.exceptUserId);
    if (options.prefix) {
      const prefix = options.prefix.toLowerCase();
      // A range on the unique index: usernames are ASCII, all below U+007F.
      query = query.where('users.username_lower', '>=', prefix).where('users.username_lower', '<', `${prefix}\u007f`);
    }
    return query.orderBy('users.id').limit(options.limit).offset(options.offset).execute();
  }

  #publicKeys() {
    return this.#db
      .selectFrom('users')
      .innerJoin('user_keys', (join) => join.onRef('users.id', '=', 'user_keys.user_id').onRef('users.current_key_id', '=', 'user_keys.key_id'))
      .select(['users.id', 'users.username', 'user_keys.public_key', 'user_keys.key_id']);
  }
}
