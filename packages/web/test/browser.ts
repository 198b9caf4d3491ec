/**
 * Harness for the browser tests: real Chromium (playwright-core, no bundled
 * browser) against a real listening SecureChat server that serves
 * packages/web/dist at `/`.
 *
 * Every page opened through `openPage` is watched for console errors,
 * uncaught exceptions, dialogs (alert/confirm/prompt) and Content Security
 * Policy violations; `allProblems()` lists them for the final assertion.
 * Nothing here bypasses the CSP: axe-core is evaluated through the DevTools
 * protocol (page.evaluate), which the page's CSP does not govern.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';
import { startLiveServer, type LiveServer } from '../../server/test/realtime-helpers.ts';
import { CHROMIUM_PATH, DIST_INDEX } from './skip.ts';

const DIST_DIR = dirname(DIST_INDEX);

export { CHROMIUM_PATH, DIST_INDEX, skipBanner, skipBrowser, skipReason } from './skip.ts';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
export const SCREENSHOTS = process.env.SCREENSHOTS === '1';

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: LAUNCH_ARGS });
}

/**
 * A real server with the web app at `/`; fails loudly when `/` is not the app.
 * It serves a private copy of packages/web/dist, so a rebuild while the tests
 * run (new asset hashes) cannot pull files from under the pages.
 */
export async function startServer(env: Record<string, string> = {}): Promise<LiveServer> {
  const root = mkdtempSync(join(tmpdir(), 'securechat-web-dist-'));
  cpSync(DIST_DIR, root, { recursive: true });
  const live = await startLiveServer({ env: { WEB_ROOT: root, ...env } });
  const server: LiveServer = { ...live, close: async () => (await live.close(), rmSync(root, { recursive: true, force: true })) };
  const response = await fetch(`${server.url}/`);
  const body = await response.text();
  if (response.status !== 200 || !/<html/i.test(body)) {
    await server.close();
    throw new Error(`The server does not serve the web app at / (GET / → ${response.status}: ${body.slice(0, 200)})`);
  }
  return server;
}

export interface Problem {
  page: string;
  kind: 'console' | 'pageerror' | 'dialog' | 'csp';
  text: string;
}

const problems: Problem[] = [];
const CSP_MARK = '[securitypolicyviolation]';

/** Pages named with this prefix provoke problems on purpose (the harness's self-checks); they are left out of allProblems(). */
export const CANARY = 'canary:';

/** Every console error, uncaught exception, dialog and CSP violation seen on any watched page so far (less the allowed ones and the canaries). */
export function allProblems(): Problem[] {
  return problems.filter((p) => !p.page.startsWith(CANARY));
}
export function problemsOf(page: string): Problem[] {
  return problems.filter((p) => p.page === page);
}
export function dialogs(): Problem[] {
  return allProblems().filter((p) => p.kind === 'dialog');
}

export interface WatchedPage {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Console errors matching one of these are expected (e.g. a 401 after a revoked session) and not reported. */
  allow: RegExp[];
  /** The session tokens this page received (register/login responses). */
  tokens: string[];
  /** Main-frame navigations (a reload or a `location` change counts; the first load too). */
  navigations: number;
}

const DESKTOP = { width: 1280, height: 800 };

/** A fresh browser context (its own cookies, storage and IndexedDB) with one watched page. */
export async function openPage(browser: Browser, name: string, options: BrowserContextOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true, ...options });
  await context.addInitScript(
    ({ mark }) => {
      document.addEventListener(
        'securitypolicyviolation',
        (e) => console.error(`${mark} ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber} sample=${JSON.stringify(e.sample)}`),
        true,
      );
    },
    { mark: CSP_MARK },
  );
  const page = await context.newPage();
  const watched: WatchedPage = { name, context, page, allow: [], tokens: [], navigations: 0 };
  page.on('console', (message) => {
    const text = message.text();
    if (text.startsWith(CSP_MARK) || /Content Security Policy/i.test(text)) {
      problems.push({ page: name, kind: 'csp', text });
      return;
    }
    if (message.type() !== 'error') return;
    if (watched.allow.some((re) => re.test(text))) return;
    const where = message.location();
    problems.push({ page: name, kind: 'console', text: `${text} (${where.url}:${where.lineNumber})` });
  });
  page.on('pageerror', (error) => problems.push({ page: name, kind: 'pageerror', text: String(error.stack ?? error) }));
  page.on('dialog', (dialog) => {
    problems.push({ page: name, kind: 'dialog', text: `${dialog.type()}: ${dialog.message()}` });
    void dialog.dismiss().catch(() => {});
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) watched.navigations += 1;
  });
  page.on('response', async (response) => {
    if (!/\/api\/auth\/(login|register)\/$/.test(new URL(response.url()).pathname) || response.status() >= 300) return;
    try {
      const body = await response.json();
      if (typeof body?.token === 'string') watched.tokens.push(body.token);
    } catch {
      // not JSON: nothing to learn
    }
  });
  return watched;
}

// ── the app's screens, by the accessible names in packages/web/README.md ──

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** An accessible name that starts with `text`. */
export const startsWith = (text: string) => new RegExp(`^${escapeRegExp(text)}`);

export const WAIT = { timeout: 30_000 };

export async function gotoApp(p: WatchedPage, url: string): Promise<void> {
  await p.page.goto(url);
  await p.page.getByRole('heading', { name: 'SecureChat' }).or(p.page.getByRole('heading', { name: 'Unlock' })).or(chatReady(p.page)).first().waitFor(WAIT);
}

/** Visible once the chat screen is up (unlocked). */
export function chatReady(page: Page): Locator {
  return page.getByRole('navigation', { name: 'Conversations' });
}

export function signInScreen(page: Page): Locator {
  return page.getByRole('tab', { name: 'Log in' });
}

/** Fills and submits "Create account"; resolves when the chat screen shows. */
export async function register(p: WatchedPage, username: string, password: string, options: { remember?: boolean } = {}): Promise<void> {
  const { page } = p;
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Repeat password').fill(password);
  const remember = page.getByRole('checkbox', { name: 'Remember this device' });
  if (options.remember) await remember.check();
  else await remember.uncheck();
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  // Seconds of key generation and PBKDF2: the button says what it is doing meanwhile.
  await page.getByRole('button', { name: 'Generating your keys…' }).or(chatReady(page)).first().waitFor();
  await chatReady(page).waitFor({ timeout: 60_000 });
}

/**
 * Fills and submits "Log in"; resolves when the chat screen shows.
 * `original`: ticks "Original client account" (server mode: accounts made by original clients or imported from the original backend).
 */
export async function logIn(p: WatchedPage, username: string, password: string, options: { remember?: boolean; original?: boolean } = {}): Promise<void> {
  const { page } = p;
  await page.getByRole('tab', { name: 'Log in' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  const remember = page.getByRole('checkbox', { name: 'Remember this device' });
  if (options.remember) await remember.check();
  else await remember.uncheck();
  if (options.original) await page.getByRole('checkbox', { name: 'Original client account (server-side keys, weaker)' }).check();
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByRole('button', { name: options.original ? 'Logging in…' : 'Deriving keys…' }).or(chatReady(page)).first().waitFor();
  await chatReady(page).waitFor({ timeout: 60_000 });
}

/** On the Unlock screen: types the password, resolves when the chat screen shows. */
export async function unlock(p: WatchedPage, password: string): Promise<void> {
  const { page } = p;
  await page.getByRole('heading', { name: 'Unlock' }).waitFor(WAIT);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await chatReady(page).waitFor({ timeout: 60_000 });
}

/** Finds `username` with "Search people" and opens the conversation with them. */
export async function openConversationBySearch(p: WatchedPage, username: string): Promise<Locator> {
  const result = await searchPeople(p, username);
  await result.button.click();
  return thread(p.page, username);
}

/** Types `username` into "Search people"; the result for exactly that name, and the key fingerprint it shows. */
export async function searchPeople(p: WatchedPage, username: string): Promise<{ button: Locator; fingerprint: string }> {
  const nav = chatReady(p.page);
  await nav.getByLabel('Search people').fill(username);
  const button = nav.getByRole('button', { name: username, exact: true });
  const item = nav.getByRole('listitem').filter({ has: p.page.getByRole('button', { name: username, exact: true }) }).filter({ hasText: /Key fingerprint: [0-9a-f]{4}/ });
  const text = await item.innerText(WAIT);
  return { button, fingerprint: /Key fingerprint: ([0-9a-f ]+)/.exec(text)![1]!.trim() };
}

/** Opens an existing conversation from the list. */
export async function openConversation(p: WatchedPage, username: string): Promise<Locator> {
  await conversationButton(p.page, username).click();
  return thread(p.page, username);
}

export function conversationButton(page: Page, username: string): Locator {
  return chatReady(page).getByRole('list').getByRole('button', { name: startsWith(username) }).first();
}

/** The message log of the open conversation with `username` (waits until it is there). */
export async function thread(page: Page, username: string): Promise<Locator> {
  await page.getByRole('main').getByRole('heading', { name: username, exact: true }).waitFor(WAIT);
  const log = page.getByRole('log', { name: `Messages with ${username}`, exact: true });
  await log.waitFor(WAIT);
  return log;
}

/** The (first) message, an `article` in the log, that contains `text`. */
export function message(log: Locator, text: string): Locator {
  return log.getByRole('article').filter({ hasText: text }).first();
}

/**
 * Starts watching `page` for an element matching `selector` whose text
 * contains `text`; the returned function resolves with the wall-clock time
 * (Date.now() in the page: the same clock as this process) of the first
 * animation frame after it entered the DOM. Measured in the page, so the
 * result does not depend on how often Playwright polls.
 */
export async function watchFor(page: Page, selector: string, text: string, timeoutMs = 10_000): Promise<() => Promise<number>> {
  const key = `${selector}\u0000${text}`;
  await page.evaluate(
    ({ key, selector, text }) => {
      const seen = ((window as unknown as { __arrivals?: Record<string, number | null> }).__arrivals ??= {});
      if (key in seen) return;
      seen[key] = null;
      const check = () => {
        if (!Array.from(document.querySelectorAll(selector)).some((element) => (element.textContent ?? '').includes(text))) return false;
        requestAnimationFrame(() => (seen[key] = Date.now()));
        return true;
      };
      if (check()) return;
      const observer = new MutationObserver(() => check() && observer.disconnect());
      observer.observe(document.documentElement, { subtree: true, childList: true, characterData: true });
    },
    { key, selector, text },
  );
  return async () => {
    const handle = await page.waitForFunction((key) => (window as unknown as { __arrivals: Record<string, number | null> }).__arrivals[key] ?? null, key, { timeout: timeoutMs });
    return Number(await handle.jsonValue());
  };
}

/** As watchFor, for a message (an `article` in a log) containing `text`. */
export function watchForMessage(page: Page, text: string, timeoutMs?: number): Promise<() => Promise<number>> {
  return watchFor(page, '[role="log"] article', text, timeoutMs);
}

export function composer(page: Page): Locator {
  return page.getByRole('textbox', { name: 'Message', exact: true });
}

/** Types `text` into the composer and clicks Send; returns Date.now() just before the click. */
export async function sendText(page: Page, text: string): Promise<number> {
  await composer(page).fill(text);
  const sendButton = page.getByRole('button', { name: 'Send', exact: true });
  const clickedAt = Date.now();
  await sendButton.click();
  return clickedAt;
}

// ── storage inspection ────────────────────────────────────────────────────

export interface StorageDump {
  /** database → store → number of records */
  indexedDb: Record<string, Record<string, number>>;
  /** CryptoKey objects found anywhere in IndexedDB. */
  cryptoKeys: number;
  /** Every string (and every byte array decoded as latin1) found in IndexedDB keys and values. */
  strings: string[];
  localStorage: Record<string, string>;
  sessionStorage: Record<string, string>;
  cookies: string;
}

/** Everything this origin keeps in the browser: IndexedDB (every database, store and record), localStorage, sessionStorage, cookies. */
export function dumpStorage(page: Page): Promise<StorageDump> {
  return page.evaluate(async () => {
    const dump: StorageDump = { indexedDb: {}, cryptoKeys: 0, strings: [], localStorage: {}, sessionStorage: {}, cookies: document.cookie };
    const seen = new Set<unknown>();
    const walk = (value: unknown): void => {
      if (value === null || value === undefined) return;
      if (typeof value === 'string') return void dump.strings.push(value);
      if (typeof value !== 'object') return void dump.strings.push(String(value));
      if (seen.has(value)) return;
      seen.add(value);
      if (value instanceof CryptoKey) return void (dump.cryptoKeys += 1);
      if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
        const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        let text = '';
        for (const b of bytes) text += String.fromCharCode(b);
        return void dump.strings.push(text);
      }
      if (value instanceof Map) return value.forEach((v, k) => (walk(k), walk(v)));
      if (value instanceof Set) return value.forEach((v) => walk(v));
      if (value instanceof Blob) return void dump.strings.push(`[Blob ${value.size}]`);
      for (const [k, v] of Object.entries(value)) {
        dump.strings.push(k);
        walk(v);
      }
    };
    const request = <T,>(r: IDBRequest<T>) => new Promise<T>((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
    for (const info of await indexedDB.databases()) {
      if (!info.name) continue;
      const db = await request(indexedDB.open(info.name));
      const stores: Record<string, number> = {};
      for (const storeName of Array.from(db.objectStoreNames)) {
        const store = db.transaction(storeName, 'readonly').objectStore(storeName);
        const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
        stores[storeName] = values.length;
        keys.forEach(walk);
        values.forEach(walk);
      }
      db.close();
      dump.indexedDb[info.name] = stores;
    }
    for (let i = 0; i < localStorage.length; i++) dump.localStorage[localStorage.key(i)!] = localStorage.getItem(localStorage.key(i)!)!;
    for (let i = 0; i < sessionStorage.length; i++) dump.sessionStorage[sessionStorage.key(i)!] = sessionStorage.getItem(sessionStorage.key(i)!)!;
    return dump;
  });
}

/** Where `secret` appears in a dump (empty when nowhere). */
export function findSecret(dump: StorageDump, secret: string): string[] {
  const hits: string[] = [];
  if (dump.strings.some((s) => s.includes(secret))) hits.push('IndexedDB');
  for (const [k, v] of Object.entries(dump.localStorage)) if (k.includes(secret) || v.includes(secret)) hits.push(`localStorage[${k}]`);
  for (const [k, v] of Object.entries(dump.sessionStorage)) if (k.includes(secret) || v.includes(secret)) hits.push(`sessionStorage[${k}]`);
  if (dump.cookies.includes(secret)) hits.push('document.cookie');
  return hits;
}

// ── axe-core ──────────────────────────────────────────────────────────────

const require = createRequire(import.meta.url);
let axeSource: string | null = null;

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core on the page as it is now and returns the violations of
 * impact "serious" or "critical". The script is evaluated over the DevTools
 * protocol, not added as a <script>, so the page's CSP stays as it is.
 */
export async function axeSerious(page: Page): Promise<AxeFinding[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: any[] }> } }).axe.run(document, {
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id as string,
      impact: (v.impact ?? null) as string | null,
      help: v.help as string,
      nodes: (v.nodes as Array<{ target: unknown; failureSummary?: string }>).map((n) => `${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export function describeAxe(screen: string, findings: AxeFinding[]): string {
  return `${screen}: ${findings.length} serious/critical axe violation(s)\n` + findings.map((f) => `  - [${f.impact}] ${f.id}: ${f.help}\n      ${f.nodes.slice(0, 5).join('\n      ')}`).join('\n');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png` });
}

export async function sha256(data: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}
