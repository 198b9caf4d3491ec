/**
 * Reading the original Django backend's db.sqlite3 for `npm run
 * import-original` (import-original.ts): checks that it is that database,
 * then turns its rows into rows of ours, with a sentence for everything that
 * cannot be imported (the import then writes nothing) and notes for the
 * report (accounts that cannot log in, names today's rules refuse, messages
 * no key can open). The file is opened read-only.
 */
import Database from 'better-sqlite3';
import { createPublicKey } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { decodeStrictBase64 } from '../crypto/base64.ts';
import { describeDjangoHash } from '../crypto/django-passwords.ts';
import { hashToken } from '../crypto/secrets.ts';
import { USERNAME_PATTERN } from '../http/schemas.ts';
import { usernameKey } from '../store/username-key.ts';

/** Envelope rounds accepted: a password change re-derives every envelope with them, so they are bounded. */
const MAX_ENVELOPE_ITERATIONS = 10_000_000;
const MAX_USERNAME_CHARS = 150;
const SESSION_USER_AGENT = 'imported from the original backend';
const REGISTRABLE = new RegExp(USERNAME_PATTERN);

export const SOURCE_TABLES: Record<string, readonly string[]> = {
  auth_user: ['id', 'username', 'password', 'is_active', 'date_joined'],
  chat_userprofile: [
    'user_id', 'public_key', 'encrypted_private_key', 'private_key_nonce', 'private_key_salt', 'private_key_iterations', 'created_at', 'last_rotated_at',
  ],
  chat_message: [
    'id', 'sender_id', 'recipient_id', 'encrypted_message', 'encrypted_attachment', 'encrypted_symmetric_key', 'message_nonce', 'attachment_nonce',
    'attachment_name', 'attachment_mime', 'sent_at',
  ],
  chat_authtoken: ['key', 'user_id', 'created_at'],
};

export type Row = Record<string, unknown>;

/** Refused: nothing was written. `problems` are the reasons, one sentence each. */
export class ImportRefused extends Error {
  override name = 'ImportRefused';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

export type UnreadableReason = 'rotated' | 'other-key' | 'malformed';

/** What the report says about the accounts. */
export interface AccountNotes {
  /** Accounts imported that cannot log in, and why. */
  cannotLogIn: Array<{ id: number; username: string; reason: string }>;
  /** Names today's rules refuse, imported as they are: they log in by their exact name. */
  nonconformingNames: Array<{ id: number; username: string }>;
  /** Tokens left out on purpose (their account cannot log in). */
  tokensLeftOut: Array<{ userId: number; username: string; reason: string }>;
}

interface SourceUser {
  id: number;
  username: string;
  key: string;
  passwordHash: string;
  active: boolean;
  createdAt: string;
}

export interface SourceKey {
  userId: number;
  row: Row;
  /** The RSA modulus in bytes: the size of every key wrapped for it. */
  modulusBytes: number;
  /** Microseconds since the epoch of the last rotation, if any. */
  rotatedAt: bigint | null;
}

export function openSource(path: string): Database.Database {
  if (!existsSync(path)) throw new ImportRefused(`${path} does not exist: give the path of the original backend's db.sqlite3.`);
  if (!statSync(path).isFile()) throw new ImportRefused(`${path} is not a file: give the path of the original backend's db.sqlite3.`);
  let sqlite: Database.Database | undefined;
  try {
    sqlite = new Database(path, { readonly: true, fileMustExist: true });
    const check = sqlite.prepare<[], string>('PRAGMA quick_check').pluck().all();
    if (check.join() !== 'ok') throw new Error(check.slice(0, 3).join('; '));
  } catch (error) {
    sqlite?.close();
    throw new ImportRefused(`${path} is not a readable SQLite database (${(error as Error).message}): give the original backend's db.sqlite3, or an intact copy of it.`);
  }
  try {
    checkOriginalSchema(sqlite);
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return sqlite;
}

function checkOriginalSchema(sqlite: Database.Database): void {
  const tables = new Set(sqlite.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
  if (tables.has('kysely_migration') && tables.has('users') && !tables.has('auth_user')) {
    throw new ImportRefused('This is a SecureChat database, not the original backend\'s: start the server with DATABASE_URL pointing at it (or npm run move-to-postgres) instead of importing it.');
  }
  const missing: string[] = [];
  for (const [table, columns] of Object.entries(SOURCE_TABLES)) {
    if (!tables.has(table)) {
      missing.push(`table ${table}`);
      continue;
    }
    const present = new Set(sqlite.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all().map((column) => column.name));
    const absent = columns.filter((column) => !present.has(column));
    if (absent.length > 0) missing.push(`${table}.${absent.join(`, ${table}.`)}`);
  }
  if (missing.length > 0) {
    throw new ImportRefused(`This SQLite file is not the original backend's database: it has no ${missing.join(', no ')}.`);
  }
}

/** The original's AUTOINCREMENT counters, where it has them: ids it gave once, maybe to rows deleted since. */
export function originalSequences(sqlite: Database.Database): Record<string, number> {
  try {
    const rows = sqlite.prepare<[], { name: string; seq: number }>("SELECT name, seq FROM sqlite_sequence WHERE name IN ('auth_user', 'chat_message')").all();
    return Object.fromEntries(rows.filter((row) => Number.isSafeInteger(row.seq)).map((row) => [row.name, row.seq]));
  } catch {
    return {}; // no AUTOINCREMENT table at all
  }
}

/** Users, keys and tokens as rows of ours, with every reason any of them cannot be imported. */
export function readAccounts(sqlite: Database.Database, expiresAt: string) {
  const problems: string[] = [];
  const notes: AccountNotes = { cannotLogIn: [], nonconformingNames: [], tokensLeftOut: [] };
  const byId = new Map<number, SourceUser>();
  const byKey = new Map<string, SourceUser[]>();

  for (const row of sqlite.prepare<[], Row>('SELECT id, username, password, is_active, date_joined FROM auth_user ORDER BY id').all()) {
    const id = row.id;
    if (!isId(id)) {
      problems.push(`auth_user has a row whose id is ${JSON.stringify(id)}, not a positive whole number.`);
      continue;
    }
    const username = row.username;
    if (typeof username !== 'string' || username === '') {
      problems.push(`User ${id} has no username.`);
      continue;
    }
    const key = usernameKey(username);
    if (key === null) {
      problems.push(`User ${shownName(username)} (id ${id}): its name holds U+0000, which no database here can store.`);
      continue;
    }
    if ([...username].length > MAX_USERNAME_CHARS) problems.push(`User ${shownName(username)} (id ${id}): its name is longer than ${MAX_USERNAME_CHARS} characters, so it could never log in.`);
    const joined = parseDjangoTime(row.date_joined);
    if (!joined) problems.push(`User ${shownName(username)} (id ${id}): date_joined ${shownValue(row.date_joined)} is not a date and time.`);
    const active = row.is_active === 1 || row.is_active === true || row.is_active === '1';
    const passwordHash = typeof row.password === 'string' ? row.password : '';
    const user: SourceUser = { id, username, key, passwordHash: active ? passwordHash : `!${passwordHash}`, active, createdAt: joined?.iso ?? '' };
    byId.set(id, user);
    byKey.set(key, [...(byKey.get(key) ?? []), user]);
    if (!REGISTRABLE.test(username)) notes.nonconformingNames.push({ id, username });
    const hash = describeDjangoHash(passwordHash);
    if (!active) notes.cannotLogIn.push({ id, username, reason: 'inactive in the original (is_active = 0); remove the leading "!" of its password_hash to let it in' });
    else if (!hash.usable) notes.cannotLogIn.push({ id, username, reason: hash.reason });
  }

  for (const same of byKey.values()) {
    if (same.length < 2) continue;
    const names = same.map((user) => `${shownName(user.username)} (id ${user.id})`);
    problems.push(
      `Usernames ${names.slice(0, -1).join(', ')} and ${names.at(-1)} differ only in case, and SecureChat ignores case in names: ` +
        `rename all but one (UPDATE auth_user SET username = '…' WHERE id = …) and import again.`,
    );
  }

  const keys = new Map<number, SourceKey>();
  const profileColumns = SOURCE_TABLES.chat_userprofile!.join(', ');
  for (const row of sqlite.prepare<[], Row>(`SELECT ${profileColumns} FROM chat_userprofile ORDER BY user_id`).all()) {
    const user = isId(row.user_id) ? byId.get(row.user_id) : undefined;
    if (!user) {
      problems.push(`chat_userprofile has a key for user id ${shownValue(row.user_id)}, which is not in auth_user.`);
      continue;
    }
    if (keys.has(user.id)) {
      problems.push(`User ${shownName(user.username)} (id ${user.id}) has more than one chat_userprofile row: keep the one whose key opens with the password.`);
      continue;
    }
    const key = readKey(user, row, problems);
    if (key) keys.set(user.id, key);
  }
  for (const user of byId.values()) {
    if (!keys.has(user.id)) {
      problems.push(
        `User ${shownName(user.username)} (id ${user.id}) has no chat_userprofile row, so no key: SecureChat needs one for every account. ` +
          `If it is an account the original never used for chat (one made with createsuperuser), delete it (DELETE FROM auth_user WHERE id = ${user.id}).`,
      );
    }
  }

  const users: Row[] = [...byId.values()].map((user) => ({
    id: user.id,
    username: user.username,
    username_lower: user.key,
    password_hash: user.passwordHash,
    current_key_id: 1,
    created_at: user.createdAt,
  }));

  const sessions: Row[] = [];
  for (const row of sqlite.prepare<[], Row>('SELECT key, user_id, created_at FROM chat_authtoken ORDER BY created_at, user_id').all()) {
    const user = isId(row.user_id) ? byId.get(row.user_id) : undefined;
    if (!user) {
      problems.push(`chat_authtoken has a token of user id ${shownValue(row.user_id)}, which is not in auth_user: delete it (DELETE FROM chat_authtoken WHERE user_id = ${shownValue(row.user_id)}).`);
      continue;
    }
    const created = parseDjangoTime(row.created_at);
    // The token itself is never printed: it is a password.
    if (typeof row.key !== 'string' || !/^[0-9a-f]{64}$/.test(row.key)) {
      problems.push(
        `A token of ${shownName(user.username)} (id ${user.id}) is not 64 lowercase hex characters, the only tokens SecureChat accepts: ` +
          `delete it (DELETE FROM chat_authtoken WHERE user_id = ${user.id} AND length(key) != 64) — its holder logs in again.`,
      );
      continue;
    }
    if (!created) {
      problems.push(`A token of ${shownName(user.username)} (id ${user.id}) has created_at ${shownValue(row.created_at)}, not a date and time.`);
      continue;
    }
    if (!user.active) {
      notes.tokensLeftOut.push({ userId: user.id, username: user.username, reason: 'its account is inactive' });
      continue;
    }
    sessions.push({ user_id: user.id, token_hash: hashToken(row.key), created_at: created.iso, last_used_at: created.iso, expires_at: expiresAt, user_agent: SESSION_USER_AGENT });
  }
  return { users, keys, sessions, notes, problems };
}

function readKey(user: SourceUser, row: Row, problems: string[]): SourceKey | null {
  const who = `User ${shownName(user.username)} (id ${user.id})`;
  const before = problems.length;
  let modulusBytes = 0;
  try {
    if (typeof row.public_key !== 'string') throw new Error('not text');
    const key = createPublicKey(row.public_key);
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`a ${key.asymmetricKeyType} key`);
    modulusBytes = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  } catch (error) {
    problems.push(`${who}: its public_key is not an RSA public key in PEM (${(error as Error).message}).`);
  }
  const bytes = (field: string) => (typeof row[field] === 'string' ? decodeStrictBase64(row[field]) : null);
  const sealed = bytes('encrypted_private_key');
  const nonce = bytes('private_key_nonce');
  const salt = bytes('private_key_salt');
  if (!sealed || sealed.length <= 16) problems.push(`${who}: its encrypted_private_key is not base64 of AES-GCM ciphertext and tag.`);
  if (!nonce || nonce.length !== 12) problems.push(`${who}: its private_key_nonce is not base64 of 12 bytes.`);
  if (!salt || salt.length !== 16) problems.push(`${who}: its private_key_salt is not base64 of 16 bytes.`);
  const iterations = row.private_key_iterations;
  if (!isId(iterations) || iterations > MAX_ENVELOPE_ITERATIONS) {
    problems.push(`${who}: its private_key_iterations ${shownValue(iterations)} is not a round count from 1 to ${MAX_ENVELOPE_ITERATIONS.toLocaleString('en')}.`);
  }
  const created = parseDjangoTime(row.created_at);
  const rotated = row.last_rotated_at === null || row.last_rotated_at === '' ? null : parseDjangoTime(row.last_rotated_at);
  if (!created) problems.push(`${who}: its profile's created_at ${shownValue(row.created_at)} is not a date and time.`);
  if (rotated === undefined) problems.push(`${who}: its profile's last_rotated_at ${shownValue(row.last_rotated_at)} is not a date and time.`);
  if (problems.length > before || !created || rotated === undefined) return null;
  return {
    userId: user.id,
    modulusBytes,
    rotatedAt: rotated?.micros ?? null,
    row: {
      user_id: user.id,
      key_id: 1,
      public_key: row.public_key,
      encrypted_private_key: row.encrypted_private_key,
      private_key_nonce: row.private_key_nonce,
      private_key_salt: row.private_key_salt,
      private_key_iterations: iterations,
      sealed_by: 'server',
      // The profile's key is the one made at its last rotation, or with the profile.
      created_at: rotated?.iso ?? created.iso,
      signing_public_key: null,
      key_signature: null,
      encrypted_signing_key: null,
      signing_key_nonce: null,
    },
  };
}

/** The original's messages in id order, read one at a time (attachments can be large). */
export function messageRows(sqlite: Database.Database): IterableIterator<Row> {
  return sqlite.prepare<[], Row>(`SELECT ${SOURCE_TABLES.chat_message!.join(', ')} FROM chat_message ORDER BY id`).iterate();
}

const TEXT_FIELDS = ['encrypted_message', 'encrypted_attachment', 'encrypted_symmetric_key', 'message_nonce', 'attachment_nonce', 'attachment_name', 'attachment_mime'];

export function readMessage(row: Row, names: Map<number, string>, keys: Map<number, SourceKey>, problems: string[]): { row: Row; unreadable: UnreadableReason | null } | null {
  const id = row.id;
  if (!isId(id)) {
    problems.push(`chat_message has a row whose id is ${shownValue(id)}, not a positive whole number.`);
    return null;
  }
  const before = problems.length;
  for (const end of ['sender_id', 'recipient_id']) {
    if (!isId(row[end]) || !names.has(row[end])) problems.push(`Message ${id}: its ${end} ${shownValue(row[end])} is not a user in auth_user.`);
  }
  for (const field of TEXT_FIELDS) {
    if (row[field] === null) row[field] = ''; // absent is '' here, as in the original's API
    if (typeof row[field] !== 'string') problems.push(`Message ${id}: its ${field} is not text.`);
  }
  for (const field of ['attachment_name', 'attachment_mime']) {
    if (typeof row[field] === 'string' && [...(row[field] as string)].length > 255) problems.push(`Message ${id}: its ${field} is longer than 255 characters.`);
  }
  const sent = parseDjangoTime(row.sent_at);
  if (!sent) problems.push(`Message ${id}: its sent_at ${shownValue(row.sent_at)} is not a date and time.`);
  if (problems.length > before || !sent) return null;
  const text = (field: string) => row[field] as string;
  const key = keys.get(row.recipient_id as number)!;
  return {
    row: {
      id,
      sender_id: row.sender_id,
      recipient_id: row.recipient_id,
      key_id: 1,
      sender_key_id: null,
      encrypted_symmetric_key: text('encrypted_symmetric_key'),
      sender_encrypted_symmetric_key: '',
      encrypted_message: text('encrypted_message'),
      message_nonce: text('message_nonce'),
      encrypted_attachment: text('encrypted_attachment'),
      attachment_nonce: text('attachment_nonce'),
      attachment_name: text('attachment_name'),
      attachment_mime: text('attachment_mime'),
      has_attachment: text('encrypted_attachment') === '' ? 0 : 1,
      sent_at: sent.iso,
      client_id: null,
      request_digest: null,
      signature: null,
    },
    unreadable: unreadableReason(row, key, sent.micros),
  };
}

/**
 * Why no key can open this message any more, or null. The original kept one
 * key per user and discarded the old one at a rotation, so a message sent
 * before its recipient's last rotation was wrapped for a key that is gone.
 * A wrapped key of another size than the recipient's modulus was made for
 * another key too; fields outside the wire format open with nothing.
 */
function unreadableReason(row: Row, key: SourceKey, sentAt: bigint): UnreadableReason | null {
  if (key.rotatedAt !== null && sentAt < key.rotatedAt) return 'rotated';
  const wrapped = decodeStrictBase64(row.encrypted_symmetric_key as string);
  if (!wrapped || wrapped.length === 0) return 'malformed';
  if (wrapped.length !== key.modulusBytes) return 'other-key';
  for (const [data, nonce] of [['encrypted_message', 'message_nonce'], ['encrypted_attachment', 'attachment_nonce']] as const) {
    if (row[data] === '') continue;
    const nonceBytes = decodeStrictBase64(row[nonce] as string);
    const dataBytes = (row[data] as string).length >= 24 ? decodeStrictBase64(row[data] as string) : null;
    if (!nonceBytes || nonceBytes.length !== 12 || !dataBytes || dataBytes.length < 16) return 'malformed';
  }
  return null;
}

export function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

const DJANGO_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Django's SQLite datetimes: `2025-11-16 09:38:58.701170`, UTC without a zone
 * (USE_TZ), no fraction when it is zero; an explicit offset is honoured.
 * → our ISO form (milliseconds, truncated as toISOString would keep them)
 * and microseconds since the epoch, for exact comparisons; undefined when
 * it is not a valid time.
 */
export function parseDjangoTime(value: unknown): { iso: string; micros: bigint } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = DJANGO_TIME.exec(value.trim());
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(local);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  const micros = Number((match[7] ?? '').padEnd(6, '0'));
  const zone = match[8];
  const offsetMinutes = !zone || zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  const utc = local - offsetMinutes * 60_000;
  return { iso: new Date(utc + Math.floor(micros / 1000)).toISOString(), micros: BigInt(utc) * 1000n + BigInt(micros) };
}

/** Text for the operator's terminal, quoted: control, format (bidi, zero-width) and separator characters as \u{…}. */
function quoted(text: string): string {
  return `"${[...text].map((char) => (/[\p{C}\p{Z}"\\]/u.test(char) && char !== ' ' ? `\\u{${char.codePointAt(0)!.toString(16).toUpperCase()}}` : char)).join('')}"`;
}

/** A username for the operator's terminal: quoted, and the code points of any non-ASCII characters named, so a look-alike shows for what it is. */
export function shownName(name: string): string {
  const foreign = [...new Set([...name].filter((char) => char.codePointAt(0)! > 0x7e))];
  const codes = foreign.slice(0, 6).map((char) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  return `${quoted(name)}${codes.length > 0 ? ` [non-ASCII: ${codes.join(' ')}${foreign.length > codes.length ? ' …' : ''}]` : ''}`;
}

function shownValue(value: unknown): string {
  return typeof value === 'string' ? quoted(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);
}
