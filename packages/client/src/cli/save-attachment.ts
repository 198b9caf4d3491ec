/**
 * Saves an attachment inside a chosen directory and nowhere else: the sender
 * picks the name, so it is reduced to a plain file name, and an existing file
 * is never overwritten (nor a symlink followed: the file is created exclusively).
 */
import { mkdir, open } from 'node:fs/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import { replaceUnsafe } from './terminal-text.ts';

/**
 * A safe file name from whatever the sender wrote, e.g. `../../etc/passwd` → `passwd`;
 * controls and bidi overrides become `_`, so `invoice\u202Efdp.exe` cannot pass for a PDF.
 */
export function safeFileName(name: string, fallback: string): string {
  const base = replaceUnsafe(basename(name.replaceAll('\\', '/')), '_')
    .replace(/[/:*?"<>|]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim()
    .slice(0, 200);
  return base === '' ? fallback : base;
}

export async function saveAttachment(directory: string, name: string, data: Uint8Array, fallback: string): Promise<string> {
  const dir = resolve(directory);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fileName = safeFileName(name, fallback);
  const ext = extname(fileName);
  const stem = fileName.slice(0, fileName.length - ext.length);
  for (let n = 0; n < 1000; n++) {
    const candidate = join(dir, n === 0 ? fileName : `${stem} (${n})${ext}`);
    if (!candidate.startsWith(dir + sep)) throw new Error(`refusing to write outside ${dir}`);
    try {
      const file = await open(candidate, 'wx', 0o600);
      try {
        await file.writeFile(data);
      } finally {
        await file.close();
      }
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`too many files named like ${fileName} in ${dir}`);
}
