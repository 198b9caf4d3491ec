/**
 * `npx tsx bench/web.ts`: what the web client costs, measured on the built
 * app (packages/web/dist, `npm run build` first) in the system's Chromium
 * against a real in-process server on 127.0.0.1.
 *
 * 1. JavaScript shipped, gzip (level 9): "initial" is every .js file that
 *    index.html references (module script, modulepreload) plus, recursively,
 *    their static imports (`import … from "./x.js"`, `import "./x.js"`,
 *    `export … from "./x.js"`); every other .js file in dist/assets is "lazy"
 *    (reached only through dynamic `import()`).
 * 2. Navigation → unlocked inbox of 50 messages: a reader with "Remember this
 *    device" and 50 messages from one writer (sent beforehand with the SDK in
 *    Node, e2e mode). Measured in the page: from navigation start
 *    (performance.timeOrigin) to the first frame in which the conversation
 *    list shows the writer with "50 unread" — i.e. the token and keys were read
 *    from IndexedDB, the mailbox page fetched, all 50 messages decrypted and
 *    rendered into the list. Median (and min/max) of 5 reloads.
 * 3. Decrypt and render 200 messages: a conversation holding 200 messages
 *    (a fresh reader, 200 from the writer; the app loads 50 per mailbox page).
 *    From the click on that conversation to the moment all 200 `article`s are
 *    in its log, scrolling the log to the top as soon as each older page has
 *    rendered (which is how the app loads older messages): the first 50 are
 *    already decrypted at load, so this is 3 further mailbox pages of 50
 *    fetched, decrypted (RSA-OAEP + AES-GCM per message) and rendered, plus
 *    rendering 200. Also reported: click → the first 50 rendered. Median of 3.
 *
 * Prints a table to stdout. Starts and stops its own server and browser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { SecureChatClient } from '@securechat/client';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPage, skipReason, type WatchedPage } from '../packages/web/test/browser.ts';
import { startLiveServer } from '../packages/server/test/realtime-helpers.ts';

const DIST = fileURLToPath(new URL('../packages/web/dist/', import.meta.url));
const log = (line: string) => process.stderr.write(`[bench:web] ${line}\n`);
const PASSWORD = 'bench-web-heliotrope-51';

// ── 1. JavaScript shipped ─────────────────────────────────────────────────

interface JsFile {
  file: string;
  gzip: number;
  raw: number;
  initial: boolean;
}

const STATIC_IMPORT = /(?:\bimport|\bexport)\s*(?:[\w$*{}\s,]*?\bfrom\s*)?["']([^"']+\.js)["']/g;

export function jsShipped(dist = DIST): JsFile[] {
  const assets = join(dist, 'assets');
  const files = readdirSync(assets).filter((f) => f.endsWith('.js'));
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const initial = new Set<string>();
  const visit = (file: string) => {
    if (initial.has(file) || !files.includes(file)) return;
    initial.add(file);
    const code = readFileSync(join(assets, file), 'utf8');
    for (const match of code.matchAll(STATIC_IMPORT)) visit(match[1]!.split('/').pop()!);
  };
  for (const match of html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+\.js)"/g)) visit(match[1]!.split('/').pop()!);
  return files.map((file) => {
    const bytes = readFileSync(join(assets, file));
    return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, initial: initial.has(file) };
  });
}

// ── the browser measurements ──────────────────────────────────────────────

/**
 * In-page probe (a string: tsx's helpers must not leak into page functions):
 * records performance.now() (ms since navigation start) of the first frame
 * after a DOM change in which `window.__probe.test()` holds.
 */
const PROBE = `
window.__probe = { test: null, at: null };
new MutationObserver(() => {
  const p = window.__probe;
  if (p.test && p.at === null && p.test()) p.at = performance.now();
}).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
`;

/** Polls (a function, not a string: the page's CSP forbids eval) until the probe has fired; the time is the page's own. */
async function waitProbe(page: Page, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = await page.evaluate(() => (window as unknown as { __probe?: { at: number | null } }).__probe?.at ?? null).catch(() => null);
    if (at !== null) return at;
    if (Date.now() > deadline) {
      const shown = await page.evaluate(() => (document.querySelector('nav') ?? document.body).outerHTML.slice(0, 1500));
      throw new Error(`timed out waiting for the page, which shows: ${shown}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const articleCountAtLeast = (page: Page, count: number) =>
  page.waitForFunction((n) => document.querySelectorAll('[role="log"] article').length >= n, count, { polling: 'raf', timeout: 60_000 });

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function sdkUser(baseUrl: string, username: string): Promise<SecureChatClient> {
  const client = new SecureChatClient({ baseUrl });
  await client.register(username, PASSWORD);
  return client;
}

async function sendMany(writer: SecureChatClient, to: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await writer.send(to, { text: `Message ${i} of ${count} to ${to}: ${'lorem ipsum dolor sit amet '.repeat(3)}` });
}

async function logInRemembered(p: WatchedPage, url: string, username: string): Promise<void> {
  await p.page.goto(url);
  await p.page.getByRole('tab', { name: 'Log in' }).click();
  await p.page.getByLabel('Username').fill(username);
  await p.page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await p.page.getByRole('checkbox', { name: 'Remember this device' }).check();
  await p.page.getByRole('button', { name: 'Log in', exact: true }).click();
  await p.page.getByRole('navigation', { name: 'Conversations' }).waitFor({ timeout: 120_000 });
}

async function inbox50(browser: Browser, url: string, writer: SecureChatClient): Promise<number[]> {
  await sdkUser(url, 'reader50');
  await sendMany(writer, 'reader50', 50);
  const p = await openPage(browser, 'reader50');
  await p.context.addInitScript({
    content: `${PROBE}
window.__probe.test = () => Array.from(document.querySelectorAll('nav[aria-label="Conversations"] [role="list"] button'))
  .some((b) => b.querySelector('bdi')?.textContent === 'writer' && b.textContent.includes('50 unread'));`,
  });
  await logInRemembered(p, url, 'reader50');
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    await p.page.reload();
    times.push(await waitProbe(p.page));
  }
  await p.context.close();
  return times;
}

async function thread200(browser: Browser, url: string, writer: SecureChatClient): Promise<{ first50: number[]; all200: number[] }> {
  await sdkUser(url, 'reader200');
  await sendMany(writer, 'reader200', 200);
  const p = await openPage(browser, 'reader200');
  await logInRemembered(p, url, 'reader200');
  const first50: number[] = [];
  const all200: number[] = [];
  for (let round = 0; round < 3; round++) {
    await p.page.reload();
    const button = p.page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: /^writer/ });
    await button.waitFor({ timeout: 60_000 });
    const log = p.page.getByRole('log', { name: 'Messages with writer' });
    const articles = log.getByRole('article');
    const start = Date.now();
    await button.click();
    await articleCountAtLeast(p.page, 50);
    first50.push(Date.now() - start);
    // Scroll to the top whenever the count grows, until all 200 are there.
    for (let seen = 0; seen < 200; ) {
      seen = await articles.count();
      if (seen >= 200) break;
      await log.evaluate((element) => element.scrollTo({ top: 0 }));
      await articleCountAtLeast(p.page, seen + 1);
    }
    all200.push(Date.now() - start);
  }
  await p.context.close();
  return { first50, all200 };
}

async function main() {
  if (skipReason) throw new Error(skipReason);
  const files = jsShipped();
  const sum = (list: JsFile[], key: 'gzip' | 'raw') => list.reduce((total, f) => total + f[key], 0);
  const initial = files.filter((f) => f.initial);
  const lazy = files.filter((f) => !f.initial);
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

  log('starting the server and Chromium; registering users with the SDK (600,000-round PBKDF2)…');
  const server = await startLiveServer({ env: {} });
  const browser = await launchChromium();
  try {
    const writer = await sdkUser(server.url, 'writer');
    log('50-message inbox: 5 reloads…');
    const inbox = await inbox50(browser, server.url, writer);
    log('200-message thread: 3 rounds…');
    const thread = await thread200(browser, server.url, writer);

    const ms = (values: number[]) => `${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}, n=${values.length})`;
    const lines = [
      'SecureChat web client — bench/web.ts',
      `JavaScript shipped, gzip -9: initial ${kib(sum(initial, 'gzip'))} (${initial.length} file(s), ${kib(sum(initial, 'raw'))} raw), lazy ${kib(sum(lazy, 'gzip'))} (${lazy.length} file(s), ${kib(sum(lazy, 'raw'))} raw), total ${kib(sum(files, 'gzip'))}`,
      ...files.map((f) => `  ${f.initial ? 'initial' : 'lazy   '}  ${f.file.padEnd(40)} ${kib(f.gzip).padStart(10)} gzip  ${kib(f.raw).padStart(10)} raw`),
      `Navigation → unlocked inbox of 50 (remembered device, "50 unread" shown): median ${ms(inbox)}`,
      `Open a 200-message conversation → first 50 rendered: median ${ms(thread.first50)}`,
      `Open a 200-message conversation → all 200 decrypted and rendered (3 older pages of 50 by scrolling up): median ${ms(thread.all200)}, ${(median(thread.all200) / 200).toFixed(1)} ms per message`,
      `(Chromium ${browser.version()}, ${process.platform}, server in-process on 127.0.0.1)`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await browser.close();
    await server.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
