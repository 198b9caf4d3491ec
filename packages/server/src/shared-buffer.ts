/**
 * Buffers that may be handed to the writer thread (store/writer-thread.ts).
 * A large one lives in a SharedArrayBuffer, so posting it to the thread
 * shares the memory instead of copying megabytes. Small ones stay ordinary:
 * V8 reads and writes shared memory with atomic-safe copies, slower than
 * copying a small buffer once.
 */
const SHARE_FROM_BYTES = 1024 * 1024;

export function allocPassable(size: number): Buffer {
  return size >= SHARE_FROM_BYTES ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafe(size);
}
