/**
 * `npm run move-to-postgres -- --from sqlite:./data/securechat.db --to postgres://chat@db/chat`
 *
 * Copies a SQLite database made by this release into an EMPTY PostgreSQL
 * database (API B 12): users, key versions, sessions and messages with
 * their ids, byte for byte, in one transaction (all or nothing); then sets
 * the id sequences past the largest ids, and verifies — row counts of every
 * table, and a SHA-256 over every message read back from both databases
 * in id order. The SQLite file is opened read-only and never changed. Stop
 * the server first: a message sent during the move would not be copied.
 *
 * Exit codes: 0 moved and verified; 1 refused or failed (nothing written,
 * or — for a failed verification — the report says what differs); 2 usage.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { redactUrl } from '../config.ts';
import { inTransaction, openDatabase, type Pool, type PoolClient } from '../store/postgres/database.ts';
import { sqlitePath } from '../store/sqlite/database.ts';
import { migrations as sqliteMigrations } from '../store/sqlite/migrations.ts';

const TABLES = ['users', 'user_keys', 'sessions', 'messages'] as const;
type Table = (typeof TABLES)[number];

const COLUMNS: Record<Table, readonly string[]> = {
  users: ['id', 'username', 'username_lower', 'password_hash', 'current_key_id', 'created_at'],
  user_keys: [
    'user_id', 'key_id', 'public_key', 'encrypted_private_key', 'private_key_nonce', 'private_key_salt', 'private_key_iterations', 'sealed_by', 'created_at',
    'signing_public_key', 'key_signature', 'encrypted_signing_key', 'signing_key_nonce',
  ],
  sessions: ['id', 'user_id', 'token_hash', 'created_at', 'last_used_at', 'expires_at', 'user_agent'],
  messages: [
    'id', 'sender_id', 'recipient_id', 'key_id', 'sender_key_id', 'encrypted_symmetric_key', 'sender_encrypted_symmetric_key', 'encrypted_message',
    'message_nonce', 'encrypted_attachment', 'attachment_nonce', 'attachment_name', 'attachment_mime', 'has_attachment', 'sent_at', 'client_id',
    'request_digest', 'signature',
  ],
};
const ORDER: Record<Table, string> = { users: 'id', user_keys: 'user_id, key_id', sessions: 'id', messages: 'id' };
/** PostgreSQL keeps these as bytea (any Unicode, U+0000 included: postgres/migrations.ts). */
const BYTEA = new Set(['attachment_name', 'attachment_mime']);
/** Rows per INSERT, and attachment bytes per INSERT: a batch of 25 MiB attachments must not become one giant statement. */
const BATCH_ROWS = 500;
const BATCH_BYTES = 64 * 1024 * 1024;

type Row = Record<string, unknown>;

export class MoveRefused extends Error {
  override name = 'MoveRefused';
}

export interface MoveReport {
  counts: Record<Table, number>;
  /** SHA-256 over every message as read back, in id order: the same from both databases. */
  messagesDigest: string;
}

/** The whole move; throws MoveRefused with a sentence that says what to do. */
export async function moveToPostgres(from: string, to: string, log: (line: string) => void = () => {}): Promise<MoveReport> {
  if (!from.startsWith('sqlite:') || sqlitePath(from) === ':memory:') throw new MoveRefused(`--from must be a SQLite file URL like sqlite:./data/securechat.db (got "${from}")`);
  if (!/^postgres(?:ql)?:\/\//.test(to)) throw new MoveRefused(`--to must be a PostgreSQL URL like postgres://user@host:5432/database (got "${redactUrl(to)}")`);
  const path = sqlitePath(from);
  if (!existsSync(path)) throw new MoveRefused(`${path} does not exist: give the SQLite file the server uses (DATABASE_URL).`);
  const sqlite = new Database(path, { readonly: true, fileMustExist: true });
  try {
    checkSourceIsCurrent(sqlite);
    const { pool, db } = await openDatabase(to, { poolSize: 2 });
    try {
      await refuseIfNotEmpty(pool, to);
      const counts = await inTransaction(pool, async (client) => {
        const copied = {} as Record<Table, number>;
        for (const table of TABLES) {
          copied[table] = await copyTable(sqlite, client, table);
          log(`copied ${copied[table]} ${table}`);
        }
        for (const table of ['users', 'sessions', 'messages'] as const) {
          await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT max(id) FROM ${table}), 1), (SELECT max(id) IS NOT NULL FROM ${table}))`);
        }
        return copied;
      });
      const report = await verify(sqlite, pool, counts);
      log(`verified: row counts equal, messages read back identical (SHA-256 ${report.messagesDigest})`);
      return report;
    } finally {
      await db.destroy();
    }
  } finally {
    sqlite.close();
  }
}

function checkSourceIsCurrent(sqlite: Database.Database): void {
  let applied: string[];
  try {
    applied = sqlite.prepare<[], string>('SELECT name FROM kysely_migration ORDER BY name').pluck().all();
  } catch {
    throw new MoveRefused('The --from file is not a SecureChat database (it has no migration table).');
  }
  const expected = Object.keys(sqliteMigrations).sort();
  if (applied.join() !== expected.join()) {
    throw new MoveRefused(`The --from database has migrations [${applied.join(', ')}], this release [${expected.join(', ')}]: start this release's server on it once (it migrates at start-up), stop it, then move.`);
  }
}

async function refuseIfNotEmpty(pool: Pool, to: string): Promise<void> {
  for (const table of TABLES) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    if (rows[0]!.n > 0) {
      throw new MoveRefused(`The PostgreSQL database at ${redactUrl(to)} is not empty (${table} has ${rows[0]!.n} rows): move into a new, empty database — nothing was written.`);
    }
  }
}

/** Copies one table in id order, in multi-row INSERTs; returns the number of rows. */
async function copyTable(sqlite: Database.Database, client: PoolClient, table: Table): Promise<number> {
  const columns = COLUMNS[table];
  const select = sqlite.prepare<[], Row>(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${ORDER[table]}`);
  const overriding = table === 'messages' ? ' OVERRIDING SYSTEM VALUE' : '';
  let batch: Row[] = [];
  let batchBytes = 0;
  let copied = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const values: unknown[] = [];
    const tuples = batch.map((row) => `(${columns.map((column) => `$${values.push(toPostgres(column, row[column]))}`).join(', ')})`);
    await client.query(`INSERT INTO ${table} (${columns.join(', ')})${overriding} VALUES ${tuples.join(', ')}`, values);
    copied += batch.length;
    batch = [];
    batchBytes = 0;
  };
  for (const row of select.iterate()) {
    batch.push(row);
    batchBytes += typeof row.encrypted_attachment === 'string' ? row.encrypted_attachment.length : 0;
    if (batch.length >= BATCH_ROWS || batchBytes >= BATCH_BYTES) await flush();
  }
  await flush();
  return copied;
}

function toPostgres(column: string, value: unknown): unknown {
  if (BYTEA.has(column)) return Buffer.from(String(value ?? ''), 'utf8');
  return value;
}

/** Row counts of every table, and every message read back from both sides, hashed in id order. */
async function verify(sqlite: Database.Database, pool: Pool, counts: Record<Table, number>): Promise<MoveReport> {
  const problems: string[] = [];
  for (const table of TABLES) {
    const source = sqlite.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck().get()!;
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    if (source !== rows[0]!.n || source !== counts[table]) problems.push(`${table}: ${source} in SQLite, ${rows[0]!.n} in PostgreSQL`);
  }
  const sourceDigest = createHash('sha256');
  for (const row of sqlite.prepare<[], Row>(`SELECT ${COLUMNS.messages.join(', ')} FROM messages ORDER BY id`).iterate()) hashRow(sourceDigest, row);
  const targetDigest = createHash('sha256');
  let lastId = 0;
  for (;;) {
    const { rows } = await pool.query<Row>(`SELECT ${COLUMNS.messages.join(', ')} FROM messages WHERE id > $1 ORDER BY id LIMIT 500`, [lastId]);
    if (rows.length === 0) break;
    for (const row of rows) {
      for (const column of BYTEA) row[column] = (row[column] as Buffer).toString('utf8');
      hashRow(targetDigest, row);
    }
    lastId = rows.at(-1)!.id as number;
  }
  const [source, target] = [sourceDigest.digest('hex'), targetDigest.digest('hex')];
  if (source !== target) problems.push(`messages read back differ (SHA-256 ${source} in SQLite, ${target} in PostgreSQL)`);
  if (problems.length > 0) throw new Error(`The copy does not match its source: ${problems.join('; ')}. Empty the PostgreSQL database and move again; the SQLite file is unchanged.`);
  return { counts, messagesDigest: source };
}

function hashRow(hash: ReturnType<typeof createHash>, row: Row): void {
  for (const column of COLUMNS.messages) {
    const value = row[column];
    hash.update(value === null || value === undefined ? '\u0000null' : `${typeof value === 'number' ? 'n' : 's'}${String(value)}`);
    hash.update('\u0000');
  }
}

async function main(): Promise<void> {
  let values: { from?: string; to?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    console.error(`${(error as Error).message}\nUsage: npm run move-to-postgres -- --from sqlite:./data/securechat.db --to postgres://user@host:5432/database`);
    process.exit(2);
  }
  if (values.help || !values.from || !values.to) {
    console.error('Usage: npm run move-to-postgres -- --from sqlite:./data/securechat.db --to postgres://user@host:5432/database\n' +
      'Copies every user, key, session and message into an empty PostgreSQL database, then verifies the copy. Stop the server first.');
    process.exit(values.help ? 0 : 2);
  }
  try {
    const report = await moveToPostgres(values.from, values.to, (line) => console.log(line));
    console.log(`Moved ${report.counts.users} users, ${report.counts.user_keys} key versions, ${report.counts.sessions} sessions and ${report.counts.messages} messages to ${redactUrl(values.to)}.`);
    console.log('Start the server with DATABASE_URL set to the PostgreSQL URL; the SQLite file is unchanged (keep it until you are satisfied).');
  } catch (error) {
    console.error(error instanceof MoveRefused ? `Refused: ${error.message}` : `Move failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) void main();
