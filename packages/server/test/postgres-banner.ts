/**
 * Global setup of the `server` project: says LOUDLY, before and again after
 * the run, when the PostgreSQL project (`server-postgres`) is not part of it
 * because TEST_DATABASE_URL is not set, and how to run it.
 */
const banner = process.env.TEST_DATABASE_URL
  ? null
  : `\n${'!'.repeat(78)}\n` +
    '!! POSTGRESQL TESTS SKIPPED: TEST_DATABASE_URL is not set, so the server tests ran on SQLite only.\n' +
    '!! To run them on PostgreSQL 15+ too (each test app in a schema of its own, dropped afterwards):\n' +
    '!!   TEST_DATABASE_URL=postgres://user@127.0.0.1:5432/test npm test\n' +
    '!! or just that project:\n' +
    '!!   TEST_DATABASE_URL=postgres://user@127.0.0.1:5432/test npx vitest run --project server-postgres\n' +
    `${'!'.repeat(78)}\n\n`;

export function setup(): void {
  if (banner) process.stderr.write(banner);
}

export function teardown(): void {
  if (banner) process.stderr.write(banner);
}
