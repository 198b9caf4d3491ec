/**
 * The `server-postgres` project: the store-facing server tests again, every
 * test app on a PostgreSQL schema of its own (test/test-database.ts), plus
 * what is PostgreSQL's alone (test/postgres-store.test.ts). The root
 * vitest.config.ts lists it only when TEST_DATABASE_URL is set; the
 * `server` project says loudly when it is not (test/postgres-banner.ts).
 *
 * Left out, as SQLite's alone: store.test.ts (PRAGMAs, query plans, files),
 * writer-thread and group-commit (SQLite's write path), durability and
 * realtime-durability (kill server processes on SQLite files), large-bodies
 * (counts rows by opening the SQLite file itself), realtime-order (opens
 * SQLite stores itself; postgres-store.test.ts has its PostgreSQL
 * counterpart). The rest of test/ does not touch a store.
 */
import { randomBytes } from 'node:crypto';
import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.ts';

export const POSTGRES_TEST_FILES = [
  'auth', 'bad-input', 'crypto', 'e2e-server', 'fuzz-auth', 'fuzz-messages', 'fuzz-paths', 'fuzz-users-keys', 'hostile-keys', 'idempotent-send',
  'key-versions', 'limits', 'lookups', 'mailbox', 'mailbox-pages', 'ops', 'passwords', 'postgres-store', 'realtime-auth', 'realtime-delivery',
  'realtime-limits', 'request-limits', 'signatures', 'web-app',
].map((name) => `test/${name}.test.ts`);

// Names this run's schemas, so the global teardown drops the ones a test left behind and nobody else's.
process.env.SECURECHAT_TEST_RUN ??= randomBytes(4).toString('hex');

export default defineProject({
  ...sourceConditions,
  test: {
    name: 'server-postgres',
    include: POSTGRES_TEST_FILES,
    globalSetup: ['test/postgres-global-setup.ts'],
    env: {
      SECURECHAT_TEST_STORE: 'postgres',
      SECURECHAT_TEST_RUN: process.env.SECURECHAT_TEST_RUN,
      // Many test apps at once, each with its own pool: keep them small (max_connections is 100 by default).
      PG_POOL_SIZE: '4',
    },
    // Real RSA key generation and KDFs on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
