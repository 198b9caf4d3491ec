#!/usr/bin/env node
/**
 * Last step of `npm run build`: the web client's Vite build
 * (`npm run build --workspace @securechat/web --if-present`, into
 * packages/web/dist, which the server serves at /). Skipped, saying so,
 * while packages/web has no index.html yet (a Vite build would fail without
 * its entry page); any failure of the build itself fails `npm run build`.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

if (!existsSync(new URL('../packages/web/index.html', import.meta.url))) {
  console.log('packages/web has no index.html yet: web client build skipped');
  process.exit(0);
}
const args = ['run', 'build', '--workspace', '@securechat/web', '--if-present'];
// Under npm, npm_execpath is npm's own CLI script; run it with this node.
const npm = process.env.npm_execpath;
const run = npm ? spawnSync(process.execPath, [npm, ...args], { cwd: ROOT, stdio: 'inherit' }) : spawnSync('npm', args, { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
if (run.error) throw run.error;
process.exit(run.status ?? 1);
