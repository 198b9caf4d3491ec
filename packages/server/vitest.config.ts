import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.ts';

export default defineProject({
  ...sourceConditions,
  test: {
    name: 'server',
    // Real RSA key generation and KDFs on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
