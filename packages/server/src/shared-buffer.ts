/**
 * Buffers that cross between threads (the cipher and writer threads) without
 * being copied: copying even 64 KiB into another thread costs more than
 * encrypting it.
 *
 * A large buffer lives in a SharedArrayBuffer, so posting it shares the
 * memory instead of copying megabytes. Smaller ones stay ordinary and are
 * moved (transferred) when they are the whole of their memory: V8 reads and
 * writes shared memory with atomic-safe copies, slower than ordinary memory.
 */
const SHARE_FROM_BYTES = 1024 * 1024;

export function allocPassable(size: number): Buffer {
  return size >= SHARE_FROM_BYTES ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafe(size);
}

/**
 * A buffer that is the whole of a non-shared ArrayBuffer: its memory can be
 * moved to another thread, and nothing else loses bytes when it is. (A small
 * Buffer is usually a slice of Node's shared pool and must be copied.)
 */
export function ownsItsMemory(bytes: Uint8Array): boolean {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.byteLength > 0;
}

/** A Buffer over the same memory: structured clone delivers plain Uint8Arrays. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
