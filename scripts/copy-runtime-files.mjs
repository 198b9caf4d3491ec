#!/usr/bin/env node
/**
 * Part of `npm run build`, after tsc: copies the files of each package's src/
 * that tsc does not compile but the compiled code loads at run time (the
 * worker threads' plain-JavaScript entry points, found by
 * `new URL('./x.mjs', import.meta.url)`) to the same place under dist/.
 * Every non-TypeScript file is copied, except those that only exist to run
 * the sources (SOURCE_ONLY).
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PACKAGES = ['protocol', 'server', 'client'];
/** Registers tsx in a thread to load a .ts worker; the compiled cipher pool starts cipher-worker.js itself. */
const SOURCE_ONLY = new Set(['packages/server/src/crypto/cipher-thread.mjs']);

let copied = 0;
for (const name of PACKAGES) {
  const src = join(ROOT, 'packages', name, 'src');
  const dist = join(ROOT, 'packages', name, 'dist');
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || /\.(?:[cm]?ts|tsx)$/.test(entry.name)) continue;
    const from = join(entry.parentPath ?? entry.path, entry.name); // .path before Node 20.12
    if (SOURCE_ONLY.has(relative(ROOT, from).split('\\').join('/'))) continue;
    const to = join(dist, relative(src, from));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    copied += 1;
  }
}
console.log(`copied ${copied} runtime file(s) from src/ to dist/`);
