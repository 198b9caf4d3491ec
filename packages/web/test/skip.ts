/** Whether the browser tests can run here (Chromium present, the app built), and the banner that says why not. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const DIST_INDEX = fileURLToPath(new URL('../dist/index.html', import.meta.url));

/** Why the browser tests cannot run here, or null when they can. */
function whySkip(): string | null {
  if (!existsSync(CHROMIUM_PATH)) {
    return (
      `Chromium not found at ${CHROMIUM_PATH}.\n` +
      'Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium binary, and run npm test again.'
    );
  }
  if (!existsSync(DIST_INDEX)) {
    return `The web app is not built: ${DIST_INDEX} is missing.\nRun \`npm run build\` (or \`npm run build -w @securechat/web\`) and run npm test again.`;
  }
  return null;
}

export const skipReason = whySkip();
export const skipBrowser = skipReason !== null;
/** Printed by global-setup.ts before and after the run (once, not once per file). */
export const skipBanner = skipReason
  ? `\n${'!'.repeat(78)}\n!! BROWSER TESTS SKIPPED: ${skipReason.replace(/\n/g, '\n!! ')}\n${'!'.repeat(78)}\n\n`
  : null;

