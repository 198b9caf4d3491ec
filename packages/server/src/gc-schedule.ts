/**
 * The server process's garbage-collection schedule: V8 marks the heap for a
 * major collection in one pause (in parallel on its helper threads) instead
 * of incrementally alongside the program.
 *
 * Why: a send with an attachment allocates several hundred KB of Buffer
 * memory on the event loop (socket reads, the request body, the ciphertext
 * back from its threads, the response). Under a stream of such sends V8's
 * incremental marking could fall into a state it did not leave while the
 * load lasted: a marking cycle every 60–150 ms, each freeing ~2 MB of a
 * ~28 MB heap, with V8's helper threads spending ~0.6 CPU ms per send on
 * marking — about what the benchmark's floor spends on a whole send. Whether a
 * run fell into it depended on what the process had done before (it
 * followed idle periods more often). With atomic marking, major collections
 * happen only when the heap or external-memory limits are reached: a few in
 * a load run instead of ten a second. docs/performance.md has the numbers.
 *
 * Set at run time because NODE_OPTIONS does not accept this flag; it is
 * imported first by main.ts, before any worker thread exists, and V8 reads it
 * whenever it considers starting a marking cycle.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-incremental-marking');
