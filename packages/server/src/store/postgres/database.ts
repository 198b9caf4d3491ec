/**
 * Opens a PostgreSQL database: a `pg` Pool, Kysely over the same pool
 * (migrations, ad-hoc typed queries), and the schema brought up to date.
 *
 * - Durability: every connection starts with `synchronous_commit = on`
 *   (startup option, so also for Kysely's connections and whatever the
 *   server's or role's default is): a COMMIT returns once its WAL is flushed,
 *   so an acknowledged write survives a crash of the database server too.
 * - A connection idle inside a transaction for 10 s is ended by the server
 *   (`idle_in_transaction_session_timeout`): message inserts hold a
 *   database-wide lock (messages.ts), and an instance stalled mid-transaction
 *   must not stop every other instance's sends for longer than that.
 * - Numbers: ids are `bigint` (int8), which pg returns as strings by default;
 *   here int8 (ids, COUNT(*)) parses to a JS number, and one beyond 2^53
 *   throws instead of losing precision.
 *
 * @example
 * const { pool, db } = await openDatabase('postgres://user@host:5432/securechat', { poolSize: 10 });
 */
import { userInfo } from 'node:os';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import type { DatabaseSchema } from '../schema.ts';
import { migrations } from './migrations.ts';

export type Db = Kysely<DatabaseSchema>;
export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface OpenDatabase {
  /** Repositories run parameterised SQL on it directly. */
  pool: Pool;
  /** Kysely over the same pool; `db.destroy()` ends the pool. */
  db: Db;
}

export interface PostgresOptions {
  /** Connections in the pool (default: PG_POOL_SIZE, else 10). */
  poolSize?: number;
}

export const DEFAULT_POOL_SIZE = 10;

/** Whether a URL names a PostgreSQL database (the scheme store/index.ts dispatches on). */
export function isPostgresUrl(databaseUrl: string): boolean {
  return /^postgres(?:ql)?:\/\//.test(databaseUrl);
}

/**
 * The pool size from the environment: PG_POOL_SIZE, a positive integer
 * (default 10). Each instance holds up to this many connections, one of them
 * for message inserts while a batch commits; keep instances × size below the
 * server's max_connections.
 */
export function poolSizeFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PG_POOL_SIZE?.trim();
  if (!raw) return DEFAULT_POOL_SIZE;
  if (!/^[1-9]\d{0,3}$/.test(raw)) throw new Error(`PG_POOL_SIZE must be a positive integer (got "${raw}")`);
  return Number(raw);
}

/** Connection settings every session starts with, after any `options` the URL has (later `-c` wins). */
const SESSION_OPTIONS = ['-c synchronous_commit=on', '-c idle_in_transaction_session_timeout=10000'];

/**
 * The URL pg connects with: our session settings appended to its `options`
 * parameter (libpq's syntax, which pg follows), and — as libpq does — the
 * user PGUSER, USER or else the OS account when the URL names none (pg
 * alone would send no user name where USER is unset, as in many containers).
 */
export function connectionString(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const options = url.searchParams.get('options');
  url.searchParams.set('options', [options, ...SESSION_OPTIONS].filter(Boolean).join(' '));
  if (!url.username && !url.searchParams.has('user')) {
    const user = process.env.PGUSER || process.env.USER || osUser();
    if (user) url.username = encodeURIComponent(user);
  }
  return url.toString();
}

function osUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined; // no passwd entry for this uid
  }
}

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} does not fit a JavaScript number`);
  return value;
}

/** pg's type parsers, except int8 (OID 20) as a number. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export async function openDatabase(databaseUrl: string, options: PostgresOptions = {}): Promise<OpenDatabase> {
  const pool = new pg.Pool({ connectionString: connectionString(databaseUrl), max: options.poolSize ?? poolSizeFromEnv(), types });
  // An idle connection that breaks (server restart) is dropped by the pool; without a listener the error would end the process.
  pool.on('error', () => {});
  const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { pool, db };
}

async function migrate(db: Db): Promise<void> {
  // Kysely looks for its own tables in every schema unless told which: another schema's (another deployment
  // or test on the same database) would pass for ours. So: the schema this connection's search_path names.
  const { rows } = await sql<{ schema: string | null }>`SELECT current_schema() AS schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('no schema to create the tables in: the search_path names no existing schema');
  // Kysely runs all pending migrations in one transaction under an advisory lock: instances starting together migrate once.
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema: schema });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${String(error)}`);
}

/**
 * Runs `work` in a transaction on one pooled connection: COMMIT when it
 * resolves, ROLLBACK when it throws. A connection whose ROLLBACK failed is
 * discarded, not returned to the pool.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

/** A PostgreSQL error with this SQLSTATE (and, if given, on this constraint). */
export function isDatabaseError(error: unknown, code: string, constraint?: string): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError && error.code === code && (constraint === undefined || error.constraint === constraint);
}

export const UNIQUE_VIOLATION = '23505';
