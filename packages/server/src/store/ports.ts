/**
 * The repository interfaces the domain uses, and the rows they carry. Each
 * database has an adapter behind them (`sqlite/`, `postgres/`), picked by
 * `openStore(url)` (index.ts); caches wrap them as a layer of their own
 * (`cache/`). The domain imports from here only: no SQL, no driver, no
 * driver error codes.
 *
 * @example
 * const store: Store = await openStore('sqlite::memory:');
 * try { await store.users.create(...) } catch (e) { if (e instanceof UsernameTaken) ... }
 */
import type { Kysely } from 'kysely';
import type { DatabaseSchema, MessageRow, NewMessage, SessionRow, UserKeyRow, UserRow } from './schema.ts';

export type { DatabaseSchema, KeyCustody, MessageRow, NewMessage, SessionRow, UserKeyRow, UserRow } from './schema.ts';

/** A registration lost the race for its username (the unique index decided). */
export class UsernameTaken extends Error {
  override name = 'UsernameTaken';
  constructor(readonly username: string) {
    super(`username "${username}" is taken`);
  }
}

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

/** Why addKeyVersionAs added nothing: the account is at its cap, or its current version is no longer the one the new version was checked against. */
export type KeyVersionRefusal = 'full' | 'raced';

export interface UserIdentity {
  id: number;
  username: string;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  key: NewKeyVersion;
  now: string;
}

export interface PasswordChangeWrite {
  userId: number;
  passwordHash: string;
  envelopes: ResealedEnvelope[];
  keepSessionId: number;
}

export interface UserRepository {
  /** By username, ignoring ASCII case (store/username-key.ts). */
  findByUsername(username: string): Promise<UserRow | undefined>;
  /** A user's id and username (both never change), ignoring ASCII case. */
  findIdentity(username: string): Promise<UserIdentity | undefined>;
  /** Creates the user with key version 1; throws UsernameTaken when the name (ignoring case) is taken. */
  create(user: NewUser): Promise<{ user: UserRow; key: UserKeyRow }>;
  /**
   * Adds the next key version and makes it current, atomically; refuses
   * ('full') past `maxVersions`, and ('raced') when the new version would
   * not be `expectedKeyId` — a key_signature (Part B 11) vouches for one key
   * id, so a rotation checked against version N becomes N + 1 or nothing.
   */
  addKeyVersionAs(userId: number, key: NewKeyVersion, now: string, maxVersions?: number, expectedKeyId?: number): Promise<UserKeyRow | KeyVersionRefusal>;
  /**
   * Password change, atomically: new hash, every envelope re-sealed, every
   * session but `keepSessionId` deleted. False, and nothing written, when
   * `envelopes` no longer covers every key version (a rotation committed
   * since they were read: its key would stay sealed under the old password).
   */
  replaceSecrets(change: PasswordChangeWrite): Promise<boolean>;
  /**
   * Replaces the password hash only while it is still `from` (a legacy hash
   * verified at login, upgraded to Argon2id): false when something else
   * (a password change meanwhile) replaced it first, which then stays.
   */
  upgradePasswordHash(userId: number, from: string, to: string): Promise<boolean>;
  currentKeyId(userId: number): Promise<number | undefined>;
  /** Part B 11: one version's public keys and key_signature. */
  keyVersion(userId: number, keyId: number): Promise<PublicKeyVersion | undefined>;
  /** Part B 11: every version's public keys and key_signature, oldest first. */
  keyHistory(userId: number): Promise<PublicKeyVersion[]>;
  currentKey(userId: number): Promise<UserKeyRow | undefined>;
  /** All key versions of a user, newest first. */
  keys(userId: number): Promise<UserKeyRow[]>;
  publicKeyOf(username: string): Promise<PublicKeyRow | undefined>;
  /** Other users than `exceptUserId`, by id, optionally by username prefix ignoring ASCII case. */
  listPublicKeys(options: { exceptUserId: number; prefix?: string; limit: number; offset: number }): Promise<PublicKeyRow[]>;
}

export interface SessionWithUser {
  session: SessionRow;
  user: Pick<UserRow, 'id' | 'username'>;
}

export interface SessionRepository {
  create(session: Omit<SessionRow, 'id'>): Promise<SessionRow>;
  findByTokenHash(tokenHash: string): Promise<SessionWithUser | undefined>;
  /** Refreshes last_used_at. */
  touch(session: Pick<SessionRow, 'id' | 'token_hash'>, now: string): Promise<void>;
  /** Unexpired sessions of the user, newest first. */
  listForUser(userId: number, now: string): Promise<SessionRow[]>;
  /** Deletes one session of this user; false when there was none. */
  delete(userId: number, sessionId: number): Promise<boolean>;
  deleteAllForUser(userId: number): Promise<void>;
  deleteExpired(now: string): Promise<void>;
}

export type Mailbox = 'inbox' | 'sent';

export interface PageEntry {
  id: number;
  /** The attachment's size in base64 characters. */
  attachment_octets: number;
}

export interface MailboxPage {
  userId: number;
  mailbox: Mailbox;
  limit: number;
  /** newest-first below this id */
  beforeId?: number;
  /** oldest-first above this id */
  afterId?: number;
}

/** A realtime catch-up page (API B 9): a user's messages, inbox and sent together, oldest first. */
export interface CatchUpPage {
  userId: number;
  /** ids above this */
  afterId: number;
  /** and at most this */
  upToId: number;
  limit: number;
}

/**
 * The row an insert did not make because its sender already has a message
 * with its client_id (Part B10): that row's id, and whether its request
 * digest matched.
 */
export interface ExistingSend {
  existingId: number;
  sameRequest: boolean;
}

/** The new row's id, or the existing row that an insert conflicted with. */
export type InsertOutcome = number | ExistingSend;

/** A text-only plaintext send that the store encrypts as it inserts it (insertEncrypting). */
export interface TextToEncrypt {
  text: string;
  recipientPem: string;
  senderPem: string;
}

/**
 * Attachments from this many bytes on are not read with their row (left
 * null); `readAttachment` reads one where it does not block the event loop.
 */
export const LARGE_ATTACHMENT_OCTETS = 1024 * 1024;

export interface MessageRepository {
  /**
   * Resolves once the message is durable — with its new id, or, when its
   * sender already has a message with its client_id, with that message
   * (nothing inserted). Ids become visible to readers in increasing order:
   * once id N is readable, so is every id below it that will ever exist, so
   * a catch-up "after N" never skips a message (API B 9).
   */
  insert(message: NewMessage): Promise<InsertOutcome>;
  /**
   * Where the store writes on a thread of its own (a SQLite file): encrypts
   * the text there (crypto/hybrid.ts, as the cipher pool would), sets the
   * message's ciphertext columns (empty until then) and inserts it, as
   * `insert`. One hand-off per send instead of two (docs/performance.md).
   */
  insertEncrypting?(message: NewMessage, plaintext: TextToEncrypt): Promise<InsertOutcome>;
  /** Part B10: the committed message its sender sent with this client_id, if any. */
  findByClientId(senderId: number, clientId: string): Promise<{ id: number; request_digest: string | null } | undefined>;
  /** Rows for these ids, in no particular order; absent ids skipped; a large attachment left null. */
  findByIds(ids: number[]): Promise<MessageRow[]>;
  /** Rows for these ids without their attachments (null, never read), in no particular order. */
  findWithoutAttachments(ids: number[]): Promise<MessageRow[]>;
  /** A message's attachment (base64 as ASCII bytes). */
  readAttachment(id: number): Promise<Buffer>;
  /**
   * The user's messages (received or sent) in (afterId, upToId], oldest first, at most `limit`, without
   * their attachments (as findWithoutAttachments): one statement, so one snapshot and one round trip.
   */
  catchUpMessages(page: CatchUpPage): Promise<MessageRow[]>;
  /** The largest id among the user's messages, received or sent; 0 if none. */
  lastIdOf(userId: number): Promise<number>;
  /** The ids of one mailbox page, in page order, with the size of each message's attachment. */
  listPage(page: MailboxPage): Promise<PageEntry[]>;
}

export interface Store {
  /** Which adapter: for messages, metrics and the few tests that look at engine details. */
  readonly engine: 'sqlite' | 'postgres';
  /** Kysely over the same database, for ad-hoc typed queries (tests, tools). */
  readonly db: Kysely<DatabaseSchema>;
  readonly users: UserRepository;
  readonly sessions: SessionRepository;
  readonly messages: MessageRepository;
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  /** Commits what is pending, then closes the connections. */
  close(): Promise<void>;
  /** Metrics: `listener` gets the number of messages of each group-committed transaction. */
  observeCommits?(listener: (messages: number) => void): void;
  /** Metrics: the connection pool, where the adapter has one. */
  poolStats?(): PoolStats;
  /** Metrics: lookups the cache layer answered, and those it passed on. */
  cacheStats?(): CacheStats[];
}

export interface PoolStats {
  /** Connections open. */
  total: number;
  /** Of them, idle. */
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

export interface CacheStats {
  cache: string;
  hits: number;
  misses: number;
}
