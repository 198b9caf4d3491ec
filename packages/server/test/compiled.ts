/**
 * The compiled JavaScript that tests run as child processes: npm start's
 * packages/server/dist/main.js, the securechat bin's packages/client/dist/.
 * Such a test proves the shipped artefact, so a dist/ missing, or older than
 * its package's src/ (edited since the last build), fails it with a clear
 * message instead of silently testing old code. `npm test` builds first;
 * before running one test file, `npm run build:js`.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));
const checked = new Set<string>();

function newestFile(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Throws unless each named package (`'server'`, …) has a dist/ built since its src/ last changed; checks each once per process. */
export function assertBuilt(...packages: string[]): void {
  for (const name of packages) {
    if (checked.has(name)) continue;
    const src = join(PACKAGES, name, 'src');
    const dist = join(PACKAGES, name, 'dist');
    if (!existsSync(dist)) throw new Error(`packages/${name}/dist is missing: run npm run build:js (npm test builds first)`);
    if (newestFile(src) > newestFile(dist)) throw new Error(`packages/${name}/src changed after packages/${name}/dist was built: run npm run build:js (npm test builds first)`);
    checked.add(name);
  }
}
