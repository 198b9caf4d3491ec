import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'web',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    // Real Chromium against a real server: each account made in the browser
    // costs two 600,000-round PBKDF2 derivations and an RSA key pair.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
