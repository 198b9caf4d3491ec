import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.ts';

export default defineProject({
  ...sourceConditions,
  test: {
    name: 'client',
    // Real key generation and 600,000-round login secrets on a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
