/**
 * A full garbage collection after handling a large attachment.
 *
 * V8 frees a dead Buffer's memory only when it collects garbage, and it
 * collects for external (Buffer) memory only once about 64 MiB more of it
 * has piled up since the last collection. One 25 MiB attachment leaves a
 * few dead copies of itself (socket chunks, decoded and encrypted slices,
 * the request body), so without help they stay resident while the next
 * large message arrives, and peak memory is several times what is alive.
 * Collecting right after each large body is read and each large response
 * is written keeps the peak near the live data. It costs a few milliseconds
 * per large attachment, and nothing for other requests.
 *
 * The collector is V8's `gc()`, which Node exposes after `--expose-gc`; it
 * is switched on here at run time (the same way jest-leak-detector does).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as ((options: { type: 'major'; execution: 'async' }) => Promise<void>) | undefined;

/** Smaller work leaves too little behind to be worth a full collection. */
const RELEASE_FROM_BYTES = 4 * 1024 * 1024;

let scheduled = false;

/**
 * After work on `bytes` bytes, collects once the current I/O callbacks have
 * run (several calls in a row collect once).
 */
export function releaseMemorySoon(bytes: number): void {
  if (bytes < RELEASE_FROM_BYTES || scheduled || !gc) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    // 'async' runs the collection in a later task, after the current callbacks; it is one pause, marked in parallel on V8's helper threads.
    void gc({ type: 'major', execution: 'async' });
  });
}
