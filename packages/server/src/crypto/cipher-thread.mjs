/**
 * Entry point of a cipher-pool thread (cipher-pool.ts). A worker thread
 * starts without the TypeScript loader its parent runs under (tsx, or
 * vitest's), so this registers tsx for this thread and then loads the
 * worker itself: the thread runs the very same hybrid.ts as the event loop.
 */
import { register } from 'tsx/esm/api';

register();
await import('./cipher-worker.ts');
