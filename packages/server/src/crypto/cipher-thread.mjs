/**
 * Entry point of a cipher-pool thread (cipher-pool.ts) when the server runs
 * from its TypeScript sources (tests, bench tools); the compiled server starts
 * dist/crypto/cipher-worker.js directly, and this file is not copied to dist/.
 * A worker thread starts without the TypeScript loader its parent runs under
 * (tsx, or vitest's), so this registers tsx (a dev dependency) for this thread
 * and then loads the worker itself: the thread runs the very same hybrid.ts as
 * the event loop.
 */
import { register } from 'tsx/esm/api';

register();
await import('./cipher-worker.ts');
