/**
 * Global setup of the `server-postgres` project: fails the run at once, with
 * the reason, when TEST_DATABASE_URL cannot be reached or is older than
 * PostgreSQL 15; afterwards drops any schema of this run that a test left
 * behind (an app that was never closed, a crashed worker).
 */
import { onBaseDatabase, schemaPrefix } from './test-database.ts';

export async function setup(): Promise<void> {
  let version: number;
  try {
    version = await onBaseDatabase(async (query) => Number((await query('SHOW server_version_num')).rows[0].server_version_num));
  } catch (error) {
    throw new Error(`server-postgres: cannot connect to TEST_DATABASE_URL (${redacted(process.env.TEST_DATABASE_URL ?? '')}): ${(error as Error).message}`);
  }
  if (version < 150000) throw new Error(`server-postgres: PostgreSQL 15 or newer is needed (server_version_num ${version})`);
}

export async function teardown(): Promise<void> {
  await onBaseDatabase(async (query) => {
    const { rows } = await query('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)', [schemaPrefix()]);
    for (const { nspname } of rows) await query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`);
  });
}

function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
