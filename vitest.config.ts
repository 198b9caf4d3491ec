import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      'packages/*',
      // The server tests again on PostgreSQL, when there is one to test against (packages/server/vitest.postgres.config.ts).
      ...(process.env.TEST_DATABASE_URL ? ['packages/server/vitest.postgres.config.ts'] : []),
    ],
  },
});
