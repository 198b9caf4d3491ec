/**
 * Small random values needed per request — a send's message key and nonces,
 * a large body's placeholder nonce (http/large-json.ts) — sliced from blocks
 * drawn from the CSPRNG a few KiB at a time. Each randomBytes() call has a
 * fixed cost of ~6 µs (a job object per call), against ~0.5 µs for a slice;
 * a send needs two or three. Every byte is handed out once, and a block is
 * never refilled — its slices may still be in use — a new one is drawn.
 */
import { randomBytes } from 'node:crypto';

const BLOCK_BYTES = 4096;

let block = Buffer.alloc(0);
let offset = 0;

export function randomSlice(size: number): Buffer {
  if (size > BLOCK_BYTES / 4) return randomBytes(size);
  if (offset + size > block.length) {
    block = randomBytes(BLOCK_BYTES);
    offset = 0;
  }
  const slice = block.subarray(offset, offset + size);
  offset += size;
  return slice;
}
