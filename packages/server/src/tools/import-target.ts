/**
 * Where `npm run import-original` writes (import-original.ts): the database
 * DATABASE_URL names, its schema brought up to date, written in one
 * transaction on one connection — SQLite (BEGIN IMMEDIATE) or PostgreSQL
 * (the four tables locked against writers from the emptiness check to the
 * commit). Rows arrive as our tables' columns; ids are the original's.
 */
import type Database from 'better-sqlite3';
import { inTransaction, openDatabase as openPostgres, type PoolClient } from '../store/postgres/database.ts';
import { openDatabase as openSqlite, sqlitePath } from '../store/sqlite/database.ts';
import { redactUrl } from '../config.ts';
import { ImportRefused, type Row } from './original-source.ts';

export const TARGET_TABLES = ['users', 'user_keys', 'sessions', 'messages'] as const;
export type TargetTable = (typeof TARGET_TABLES)[number];

export const COLUMNS: Record<TargetTable, readonly string[]> = {
  users: ['id', 'username', 'username_lower', 'password_hash', 'current_key_id', 'created_at'],
  user_keys: [
    'user_id', 'key_id', 'public_key', 'encrypted_private_key', 'private_key_nonce', 'private_key_salt', 'private_key_iterations', 'sealed_by', 'created_at',
    'signing_public_key', 'key_signature', 'encrypted_signing_key', 'signing_key_nonce',
  ],
  sessions: ['user_id', 'token_hash', 'created_at', 'last_used_at', 'expires_at', 'user_agent'],
  messages: [
    'id', 'sender_id', 'recipient_id', 'key_id', 'sender_key_id', 'encrypted_symmetric_key', 'sender_encrypted_symmetric_key', 'encrypted_message',
    'message_nonce', 'encrypted_attachment', 'attachment_nonce', 'attachment_name', 'attachment_mime', 'has_attachment', 'sent_at', 'client_id',
    'request_digest', 'signature',
  ],
};
/** PostgreSQL keeps these as bytea (postgres/migrations.ts). */
const BYTEA = new Set(['attachment_name', 'attachment_mime']);

/** Rows per INSERT on PostgreSQL. */
export const BATCH_ROWS = 500;

export interface Writer {
  /** The first of our tables that has rows, or null. */
  firstNonEmpty(): Promise<{ table: TargetTable; rows: number } | null>;
  insert(table: TargetTable, rows: Row[]): Promise<void>;
  /** Makes the next users.id and messages.id larger than these (sessions get ids of their own, from 1). */
  continueSequences(past: { users: number; messages: number }): Promise<void>;
}

export interface Target {
  inTransaction(work: (writer: Writer) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function openTarget(databaseUrl: string): Promise<Target> {
  if (databaseUrl.startsWith('sqlite:')) {
    if (sqlitePath(databaseUrl) === ':memory:') throw new ImportRefused('DATABASE_URL is sqlite::memory:, which is gone when the import ends: name a file (sqlite:./data/securechat.db) or PostgreSQL.');
    return sqliteTarget(databaseUrl);
  }
  if (/^postgres(?:ql)?:\/\//.test(databaseUrl)) return postgresTarget(databaseUrl);
  throw new ImportRefused(`DATABASE_URL must be sqlite:<file> or postgres://… (got "${redactUrl(databaseUrl)}").`);
}

/** The schema is brought up to date first (migrations), then everything runs in one IMMEDIATE transaction on one connection. */
async function sqliteTarget(databaseUrl: string): Promise<Target> {
  const { sqlite, db } = await openSqlite(databaseUrl);
  const inserts = new Map<TargetTable, Database.Statement>();
  const writer: Writer = {
    async firstNonEmpty() {
      for (const table of TARGET_TABLES) {
        const rows = sqlite.prepare<[], number>(`SELECT count(*) FROM ${table}`).pluck().get()!;
        if (rows > 0) return { table, rows };
      }
      return null;
    },
    async insert(table, rows) {
      let insert = inserts.get(table);
      if (!insert) {
        const columns = COLUMNS[table];
        insert = sqlite.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((column) => `@${column}`).join(', ')})`);
        inserts.set(table, insert);
      }
      for (const row of rows) insert.run(row);
    },
    async continueSequences(past) {
      // AUTOINCREMENT already went past every id inserted; this also passes the original's counters.
      for (const [table, seq] of Object.entries(past)) {
        if (sqlite.prepare('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?').run(seq, table).changes === 0 && seq > 0) {
          sqlite.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, seq);
        }
      }
    },
  };
  return {
    async inTransaction(work) {
      sqlite.exec('BEGIN IMMEDIATE');
      try {
        await work(writer);
        sqlite.exec('COMMIT');
      } catch (error) {
        if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
        throw error;
      }
    },
    close: () => db.destroy(),
  };
}

/** One connection, one transaction; the four tables locked against writers from the emptiness check to the commit. */
async function postgresTarget(databaseUrl: string): Promise<Target> {
  const { pool, db } = await openPostgres(databaseUrl, { poolSize: 1 });
  const writerOn = (client: PoolClient): Writer => ({
    async firstNonEmpty() {
      await client.query(`LOCK TABLE ${TARGET_TABLES.join(', ')} IN EXCLUSIVE MODE`);
      for (const table of TARGET_TABLES) {
        const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        if (rows[0]!.n > 0) return { table, rows: rows[0]!.n };
      }
      return null;
    },
    async insert(table, rows) {
      const columns = COLUMNS[table];
      const overriding = table === 'messages' ? ' OVERRIDING SYSTEM VALUE' : ''; // messages.id is GENERATED ALWAYS
      for (let start = 0; start < rows.length; start += BATCH_ROWS) {
        const values: unknown[] = [];
        const tuples = rows
          .slice(start, start + BATCH_ROWS)
          .map((row) => `(${columns.map((column) => `$${values.push(BYTEA.has(column) ? Buffer.from(String(row[column]), 'utf8') : row[column])}`).join(', ')})`);
        await client.query(`INSERT INTO ${table} (${columns.join(', ')})${overriding} VALUES ${tuples.join(', ')}`, values);
      }
    },
    async continueSequences(past) {
      for (const [table, seq] of Object.entries(past)) {
        await client.query(
          `SELECT setval(pg_get_serial_sequence('${table}', 'id'), GREATEST((SELECT max(id) FROM ${table}), $1::bigint, 1), GREATEST((SELECT max(id) FROM ${table}), $1::bigint) > 0)`,
          [seq],
        );
      }
    },
  });
  return {
    inTransaction: (work) => inTransaction(pool, (client) => work(writerOn(client))),
    close: () => db.destroy(),
  };
}
