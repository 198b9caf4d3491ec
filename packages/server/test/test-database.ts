/**
 * Which database the store-facing tests run on. By default SQLite in memory;
 * with SECURECHAT_TEST_STORE=postgres (the `server-postgres` project,
 * vitest.postgres.config.ts) every test app gets a schema of its own in
 * TEST_DATABASE_URL — created empty, reached through a URL whose `options`
 * set the search_path (pg passes them to the server at connect), dropped
 * when the app closes. Schemas are named sc_test_<run>_<random>; the
 * project's global teardown drops any of its run that a test left behind.
 *
 * @example
 * const database = await testDatabase();
 * const store = await openStore(database.url);
 * ...
 * await store.close();
 * await database.drop();
 */
import { randomBytes } from 'node:crypto';

export type TestStoreKind = 'sqlite' | 'postgres';

export const testStoreKind: TestStoreKind = process.env.SECURECHAT_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

export interface TestDatabase {
  /** A DATABASE_URL for openStore / loadConfig. */
  url: string;
  /** Removes the database (a no-op for SQLite in memory or a file the test manages). */
  drop(): Promise<void>;
}

/** The prefix of this run's schemas (set by vitest.postgres.config.ts, so the teardown finds them). */
export function schemaPrefix(): string {
  return `sc_test_${process.env.SECURECHAT_TEST_RUN ?? 'adhoc'}_`;
}

export function baseDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('SECURECHAT_TEST_STORE=postgres needs TEST_DATABASE_URL=postgres://user@host:port/database');
  return url;
}

/** Runs statements on the base database over one short-lived connection. */
export async function onBaseDatabase<T>(work: (query: (text: string, values?: unknown[]) => Promise<{ rows: any[] }>) => Promise<T>): Promise<T> {
  // Loaded only here: SQLite runs never load pg.
  const [{ default: pg }, { connectionString }] = await Promise.all([import('pg'), import('../src/store/postgres/database.ts')]);
  const client = new pg.Client({ connectionString: connectionString(baseDatabaseUrl()) });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work((text, values) => client.query(text, values));
  } finally {
    await client.end();
  }
}

/** A fresh, empty PostgreSQL schema and the URL that uses it. */
export async function createSchema(): Promise<TestDatabase> {
  const schema = `${schemaPrefix()}${randomBytes(6).toString('hex')}`;
  await onBaseDatabase((query) => query(`CREATE SCHEMA ${schema}`));
  const url = new URL(baseDatabaseUrl());
  url.searchParams.set('options', `-c search_path=${schema}`);
  let dropped: Promise<void> | null = null;
  return {
    url: url.toString(),
    drop: () => (dropped ??= onBaseDatabase(async (query) => void (await query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)))),
  };
}

/**
 * The database for a test app that asked for `requested` (its DATABASE_URL,
 * if any). On PostgreSQL, a request for SQLite — none, `sqlite::memory:` or
 * a file (which on SQLite picks the writer thread: the production write
 * path) — becomes a fresh schema: PostgreSQL has one write path. Test files
 * that need SQLite itself are not in the PostgreSQL project.
 */
export async function testDatabase(requested?: string): Promise<TestDatabase> {
  if (testStoreKind === 'postgres' && (requested === undefined || requested.startsWith('sqlite:'))) return createSchema();
  return { url: requested ?? 'sqlite::memory:', drop: async () => {} };
}
