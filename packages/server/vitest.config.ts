import { configDefaults, defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.ts';

export default defineProject({
  ...sourceConditions,
  test: {
    name: 'server',
    // PostgreSQL's own tests run in the server-postgres project (vitest.postgres.config.ts) only.
    exclude: [...configDefaults.exclude, 'test/postgres-store.test.ts'],
    // Says loudly when server-postgres is not part of the run (no TEST_DATABASE_URL).
    globalSetup: ['test/postgres-banner.ts'],
    // Real RSA key generation and KDFs on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
