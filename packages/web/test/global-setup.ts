/**
 * Says LOUDLY, once per run (before and again after the tests), when the
 * browser tests are skipped and how to make them run.
 */
import { skipBanner } from './skip.ts';

export function setup(): void {
  if (skipBanner) process.stderr.write(skipBanner);
}

export function teardown(): void {
  if (skipBanner) process.stderr.write(skipBanner);
}
