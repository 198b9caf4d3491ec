/**
 * A person on the `securechat` CLI (the real executable, its own profile) and
 * one in Chromium chat with each other through one real server: text both
 * ways, live in the browser, and a file from the terminal downloaded
 * byte-exact in the browser. Both show the same key fingerprint.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type Run } from '../../client/test/run-cli.ts';
import type { LiveServer } from '../../server/test/realtime-helpers.ts';
import {
  allProblems, conversationButton, gotoApp, launchChromium, message, openConversation, openConversationBySearch, openPage, register, searchPeople, sha256, skipBrowser,
  startServer, thread, type WatchedPage,
} from './browser.ts';

const CAROL = { username: 'carol', password: 'lichen-marimba-63-drizzle' }; // on the CLI
const DAVE = { username: 'dave', password: 'copper-walrus-28-meadow' }; // in the browser

describe.skipIf(skipBrowser)('the CLI and the web app talk to each other', () => {
  let server: LiveServer;
  let browser: Browser;
  let dave: WatchedPage;
  const dir = mkdtempSync(join(tmpdir(), 'securechat-web-cli-'));

  const cli = (args: string[], stdin = ''): Promise<Run> =>
    // SECURECHAT_PASSWORD: `send` signs, so it opens Carol's keys too.
    runCli(args, stdin, { SECURECHAT_SERVER: server.url, SECURECHAT_CONFIG: join(dir, 'carol.json'), SECURECHAT_PASSWORD: CAROL.password });
  async function ok(args: string[], stdin = ''): Promise<string> {
    const run = await cli(args, stdin);
    expect(run.code, `securechat ${args.join(' ')}\n${run.stderr}`).toBe(0);
    return run.stdout;
  }
  const json = async (args: string[], stdin = '') => JSON.parse(await ok(['--json', ...args], stdin));

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer(), launchChromium()]);
    dave = await openPage(browser, 'dave');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('text both ways, a file from the terminal downloaded in the browser, the same fingerprints', async () => {
    // Both register at once: the CLI in Node, Dave in Chromium.
    await Promise.all([
      ok(['register', CAROL.username], `${CAROL.password}\n`),
      gotoApp(dave, server.url).then(() => register(dave, DAVE.username, DAVE.password)),
    ]);

    // The fingerprint the browser shows for Carol is the one her CLI prints for her key.
    const [carolKey] = await json(['keys']);
    const shown = await searchPeople(dave, CAROL.username);
    expect(shown.fingerprint).toBe(carolKey.fingerprint);

    const log = await openConversationBySearch(dave, CAROL.username);
    const text = 'Hello Carol, from the browser <b>not bold</b>';
    await dave.page.getByRole('textbox', { name: 'Message', exact: true }).fill(text);
    await dave.page.getByRole('button', { name: 'Send', exact: true }).click();
    await message(log, text).waitFor();

    const inbox = await json(['inbox'], `${CAROL.password}\n`);
    expect(inbox.map((m: { sender: string; text: string }) => [m.sender, m.text])).toEqual([[DAVE.username, text]]);

    // Carol answers from the terminal; it shows live in the open thread.
    const reply = 'Hi Dave, from the terminal';
    const arrived = message(log, reply).waitFor({ timeout: 10_000 });
    await ok(['send', DAVE.username, reply]);
    await arrived;

    // And a file.
    const bytes = randomBytes(300 * 1024);
    const file = join(dir, 'notes.pdf');
    writeFileSync(file, bytes);
    await ok(['send', DAVE.username, 'the notes', '--file', file]);
    const button = log.getByRole('button', { name: 'Download notes.pdf' });
    await button.waitFor({ timeout: 10_000 });
    const [download] = await Promise.all([dave.page.waitForEvent('download'), button.click()]);
    expect(download.suggestedFilename()).toBe('notes.pdf');
    const received = await readFile((await download.path())!);
    expect(await sha256(received)).toBe(await sha256(readFileSync(file)));

    // The sent side as the CLI sees it.
    const sent = await json(['sent'], `${CAROL.password}\n`);
    expect(sent.map((m: { text: string }) => m.text)).toEqual(['the notes', reply]);

    // After a reload (no "Remember this device") Dave unlocks and reads all three.
    await dave.page.reload();
    await dave.page.getByRole('heading', { name: 'Unlock' }).waitFor();
    await dave.page.getByLabel('Password', { exact: true }).fill(DAVE.password);
    await dave.page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await conversationButton(dave.page, CAROL.username).waitFor({ timeout: 60_000 });
    const again = await openConversation(dave, CAROL.username);
    for (const t of [text, reply, 'the notes']) await message(again, t).waitFor();
    await thread(dave.page, CAROL.username);
  });

  it('no page reported a CSP violation, a console error, an uncaught exception or a dialog', () => {
    expect(allProblems()).toEqual([]);
  });
});
