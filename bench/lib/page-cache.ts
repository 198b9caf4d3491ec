/**
 * What this machine charges for writing into the page cache: into pages the
 * kernel must take from free memory (a growing file) against pages just
 * freed. On a VM that hands free memory back to its host (free page
 * reporting, as on Firecracker), the first is many times slower, and it is
 * what a server writing attachments into a growing database file pays
 * (docs/performance.md, "Attachments on a VM that returns free memory").
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const CHUNK = Buffer.alloc(64 * 1024, 1);

export interface PageCacheRates {
  /** GB/s written into a new file, no fsync */
  newPagesGBps: number;
  /** GB/s written into another new file right after the first was deleted: its freed pages are reused */
  reusedPagesGBps: number;
}

function writeNewFile(path: string, bytes: number): number {
  const fd = openSync(path, 'w');
  const start = performance.now();
  for (let offset = 0; offset < bytes; offset += CHUNK.length) writeSync(fd, CHUNK, 0, CHUNK.length, offset);
  const seconds = (performance.now() - start) / 1000;
  closeSync(fd);
  return bytes / seconds / 1e9;
}

export function measurePageCacheWrites(dir: string, bytes: number): PageCacheRates {
  const first = join(dir, 'page-cache-1');
  const second = join(dir, 'page-cache-2');
  try {
    const newPagesGBps = writeNewFile(first, bytes);
    rmSync(first);
    const reusedPagesGBps = writeNewFile(second, bytes);
    return { newPagesGBps, reusedPagesGBps };
  } finally {
    rmSync(first, { force: true });
    rmSync(second, { force: true });
  }
}
