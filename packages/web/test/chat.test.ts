/**
 * The web app in real Chromium against a real server: two people register
 * and chat live, send a 1 MiB file by drag-and-drop, reload with and without
 * "Remember this device", rotate keys, change a password, revoke a session
 * from another browser and log out; hostile text, file names and usernames
 * stay text. Every page is watched for CSP violations, console errors and
 * dialogs, and every screen is checked with axe-core.
 *
 * The steps share two accounts (each costs the browser two 600,000-round
 * PBKDF2 derivations and an RSA key pair), so they run in order.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecureChatClient } from '@securechat/client';
import type { LiveServer } from '../../server/test/realtime-helpers.ts';
import {
  allProblems, axeSerious, CANARY, chatReady, conversationButton, describeAxe, dialogs, dumpStorage, findSecret, gotoApp, launchChromium, logIn, message,
  openConversation, openConversationBySearch, openPage, problemsOf, register, screenshot, watchFor, watchForMessage, sha256, signInScreen, skipBrowser, startServer, thread, unlock,
  type WatchedPage,
} from './browser.ts';

const ALICE = { username: 'alice', password: 'quartz-heron-7-lantern' };
const ALICE_NEW_PASSWORD = 'tundra-kettle-19-saffron';
const BOB = { username: 'bob', password: 'mossy-violin-42-ember' };
/** The server allows only [A-Za-z0-9@.+_-] in usernames, so no markup: these are the names that trip up JavaScript objects keyed by username. */
const HOSTILE_USERS = ['__proto__', 'constructor'];
const HOSTILE_PASSWORD = 'brackish-oboe-88-thistle';

const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '<script>alert(1)</script>';
const XSS_LINK = 'javascript:alert(1)';
/** Markup without a slash, for file names (a slash is a path separator). */
const XSS_SVG = '<svg onload=alert(1)>';
const RTL_NAME = 'invoice\u202Egnp.exe';
/** A 1×1 PNG, so an image attachment has something to preview. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

/** Click-to-visible latencies of live messages, for the report. */
const latencies: Record<string, number> = {};

describe.skipIf(skipBrowser)('SecureChat web app in Chromium', () => {
  let server: LiveServer;
  let browser: Browser;
  let alice: WatchedPage;
  let bob: WatchedPage;
  let alice2: WatchedPage;
  let hostileClients: SecureChatClient[] = [];
  const axeReport: string[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServer(), launchChromium()]);
    [alice, bob] = await Promise.all([openPage(browser, 'alice'), openPage(browser, 'bob')]);
  });

  afterAll(async () => {
    console.log(`live message latencies (click → visible on the other page, ms): ${JSON.stringify(latencies)}`);
    await browser?.close();
    await server?.close();
  });

  it('the harness sees a CSP violation, a dialog and an uncaught exception when a page has one', async () => {
    const canary = await openPage(browser, `${CANARY}csp`);
    await gotoApp(canary, server.url);
    await canary.page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
      const image = document.createElement('img');
      image.src = 'http://127.0.0.2:9/x.png'; // another origin (loopback): img-src refuses it before any request
      document.body.append(image);
    });
    await expect.poll(() => problemsOf(canary.name).filter((p) => p.kind === 'csp').length).toBeGreaterThanOrEqual(2);
    expect(await canary.page.evaluate(() => 'inlineRan' in window)).toBe(false);
    await canary.page.evaluate(() => setTimeout(() => alert('canary'), 0));
    await expect.poll(() => problemsOf(canary.name).filter((p) => p.kind === 'dialog').length).toBe(1);
    await canary.page.evaluate(() => setTimeout(() => {
      throw new Error('canary');
    }, 0));
    await expect.poll(() => problemsOf(canary.name).filter((p) => p.kind === 'pageerror').length).toBe(1);
    await canary.context.close();
  });

  it('shows the sign-in and create-account screens, which pass axe', async () => {
    await Promise.all([gotoApp(alice, server.url), gotoApp(bob, server.url)]);
    const page = alice.page;
    await page.getByRole('heading', { name: 'SecureChat' }).waitFor();
    await signInScreen(page).waitFor();
    await screenshot(page, 'sign-in');
    let findings = await axeSerious(page);
    if (findings.length) axeReport.push(describeAxe('sign-in', findings));
    await page.getByRole('tab', { name: 'Create account' }).click();
    await page.getByLabel('Repeat password').waitFor();
    findings = await axeSerious(page);
    if (findings.length) axeReport.push(describeAxe('create account', findings));
    expect(axeReport.join('\n')).toBe('');
  });

  it('two people register and chat live: each message appears on the other page without a reload', async () => {
    // Bob remembers this device (checked in the reload test), Alice does not.
    const working = watchFor(alice.page, 'button', 'Generating your keys…', 60_000);
    await Promise.all([register(alice, ALICE.username, ALICE.password), register(bob, BOB.username, BOB.password, { remember: true })]);
    await (await working)();
    await Promise.all([
      alice.page.getByRole('status').filter({ hasText: 'Live' }).waitFor(),
      bob.page.getByRole('status').filter({ hasText: 'Live' }).waitFor(),
    ]);

    // The first message: it appears in Bob's conversation list, with an unread count.
    const aliceLog = await openConversationBySearch(alice, BOB.username);
    const listed = await watchFor(bob.page, 'nav[aria-label="Conversations"] [role="list"] button', ALICE.username);
    let clickedAt = await sendTextIn(alice, 'Hello Bob, this is Alice.');
    latencies.firstMessageInList = (await listed()) - clickedAt;
    await message(aliceLog, 'Hello Bob, this is Alice.').waitFor();
    await bob.page.getByRole('list').getByRole('button', { name: /1 unread/ }).waitFor();

    const bobLog = await openConversation(bob, ALICE.username);
    await message(bobLog, 'Hello Bob, this is Alice.').waitFor();

    // Then both ways with both threads open.
    for (const [from, to, text, key] of [
      [bob, alice, 'Hi Alice! Bob here.', 'bobToAlice'],
      [alice, bob, 'Nice, it is live.', 'aliceToBob'],
      [bob, alice, 'Line one\nline two', 'bobToAlice2'],
      [alice, bob, 'And one more from Alice.', 'aliceToBob2'],
    ] as const) {
      const arrived = await watchForMessage(to.page, text);
      clickedAt = await sendTextIn(from, text);
      latencies[key] = (await arrived()) - clickedAt;
    }
    // Every message arrived live (each watcher above fails the test if it never does). How fast is a
    // benchmark's question, not a test's on a shared 2-core machine: printed here for the record.
    process.stderr.write(`[web] Send → shown on the other page, ms: ${JSON.stringify(latencies)}\n`);
    // Shift+Enter made a newline, not a send: one message with both lines.
    await expect(message(aliceLog, 'Line one').innerText()).resolves.toMatch(/Line one\s*\n\s*line two/);

    await screenshot(bob.page, 'chat');
    const findings = await axeSerious(bob.page);
    expect(findings, describeAxe('chat', findings)).toEqual([]);
  });

  it('a 1 MiB file dropped on the composer is downloaded byte-exact on the other side', async () => {
    const bytes = randomBytes(1024 * 1024);
    const name = 'random-1MiB.bin';
    await dropFile(alice, name, bytes, 'application/octet-stream');
    await alice.page.getByText(name).first().waitFor();
    await alice.page.getByRole('button', { name: 'Remove attachment' }).waitFor();
    const bobLog = await thread(bob.page, ALICE.username);
    const arrived = await watchFor(bob.page, '[role="log"] article button', `Download ${name}`, 30_000);
    const progressShown = await watchFor(alice.page, 'progress[aria-label="Upload progress"]', '', 30_000);
    const clickedAt = await sendTextIn(alice, 'The random file');
    latencies.attachment1MiB = (await arrived()) - clickedAt;
    await progressShown();
    // Sent: the composer lets go of the file.
    await alice.page.getByRole('button', { name: 'Remove attachment' }).waitFor({ state: 'detached' });

    const [download] = await Promise.all([bob.page.waitForEvent('download'), bobLog.getByRole('button', { name: `Download ${name}` }).click()]);
    expect(download.suggestedFilename()).toBe(name);
    const received = await readFile((await download.path())!);
    expect(received.length).toBe(bytes.length);
    expect(await sha256(received)).toBe(await sha256(bytes));
  });

  it('a file over the server\'s limit is refused with a sentence and not sent; "Attach file" attaches one too', async () => {
    const limit = (await (await fetch(`${server.url}/api/limits/`)).json()).max_attachment_bytes as number;
    // Made in the page (zeros), so no 25 MiB cross the DevTools protocol.
    const dataTransfer = await alice.page.evaluateHandle((size) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(size)], 'too-big.bin', { type: 'application/octet-stream' }));
      return transfer;
    }, limit + 1);
    const box = alice.page.getByRole('textbox', { name: 'Message', exact: true });
    for (const event of ['dragenter', 'dragover', 'drop']) await box.dispatchEvent(event, { dataTransfer });
    await dataTransfer.dispose();
    const alert = alice.page.getByRole('main').getByRole('alert').filter({ hasText: 'too-big.bin' });
    await expect(alert.innerText()).resolves.toMatch(/\w+ \w+.*\./);
    expect(await alice.page.getByRole('button', { name: 'Remove attachment' }).count()).toBe(0);
    // Sending now sends only the text.
    await sendTextIn(alice, 'no file with this one');
    const bobLog = await thread(bob.page, ALICE.username);
    await message(bobLog, 'no file with this one').waitFor();
    expect(await message(bobLog, 'no file with this one').getByRole('button').count()).toBe(0);

    // The other way in: the "Attach file" input.
    await alice.page.getByLabel('Attach file').setInputFiles({ name: 'chosen.txt', mimeType: 'text/plain', buffer: Buffer.from('picked, not dropped') });
    await alice.page.getByRole('button', { name: 'Remove attachment' }).waitFor();
    await sendTextIn(alice, 'a chosen file');
    await message(bobLog, 'a chosen file').getByRole('button', { name: 'Download chosen.txt' }).waitFor();
  });

  it('hostile text, file names and usernames are shown as text, never markup', async () => {
    const aliceLog = await thread(alice.page, BOB.username);
    const bobLog = await thread(bob.page, ALICE.username);
    const texts = [XSS_IMG, XSS_SCRIPT, `click ${XSS_LINK} now`, `RTL ${RTL_NAME} end`];
    for (const text of texts) {
      const arrived = message(bobLog, text).waitFor({ timeout: 10_000 });
      await sendTextIn(alice, text);
      await arrived;
    }
    // An image whose name is markup (previewed: alt = the name) and a file whose name carries an RTL override.
    await dropFile(alice, `${XSS_IMG}.png`, PNG, 'image/png');
    await sendTextIn(alice, 'image with a hostile name');
    await dropFile(alice, RTL_NAME, Buffer.from('not really an exe'), 'application/octet-stream');
    await sendTextIn(alice, 'file with an RTL override in its name');
    await dropFile(alice, 'drawing.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'), 'image/svg+xml');
    await sendTextIn(alice, 'an SVG, never previewed');
    await bobLog.getByRole('button', { name: `Download ${XSS_IMG}.png` }).waitFor();
    await bobLog.getByRole('button', { name: `Download ${RTL_NAME}` }).waitFor();
    await bobLog.getByRole('button', { name: 'Download drawing.svg' }).waitFor();

    // Users whose names are JavaScript's own property names, writing from the SDK.
    const hostile = await Promise.all(
      HOSTILE_USERS.map(async (username) => {
        const client = new SecureChatClient({ baseUrl: server.url });
        await client.register(username, HOSTILE_PASSWORD);
        await client.send(BOB.username, { text: `${XSS_IMG} from ${username}`, attachment: { data: PNG, name: `${XSS_SVG}.png`, mime: 'image/png' } });
        return client;
      }),
    );
    for (const username of HOSTILE_USERS) await conversationButton(bob.page, username).waitFor({ timeout: 10_000 });

    for (const [page, log] of [[alice.page, aliceLog], [bob.page, bobLog]] as const) {
      for (const text of texts) await message(log, text).first().waitFor();
      const shown = await log.innerText();
      expect(shown).toContain(XSS_IMG);
      expect(shown).toContain(XSS_SCRIPT);
      expect(shown).toContain(RTL_NAME);
      // The hostile image name is the preview's alt text, and its source a blob: URL.
      const preview = log.getByRole('img', { name: `${XSS_IMG}.png`, exact: true });
      await preview.waitFor();
      expect(await preview.getAttribute('src')).toMatch(/^blob:/);
      expect(await log.getByRole('img', { name: 'drawing.svg' }).count()).toBe(0);
      expect(await page.locator('img[src="x"], script:not([src]), a[href^="javascript:" i], [onerror], [onload]').count()).toBe(0);
    }
    for (const username of HOSTILE_USERS) {
      const log = await openConversation(bob, username);
      await message(log, `${XSS_IMG} from ${username}`).waitFor();
      await log.getByRole('img', { name: `${XSS_SVG}.png`, exact: true }).waitFor();
      // And the other way: Bob answers, the SDK reads it.
      await sendTextIn(bob, `hello ${username}`);
      await message(log, `hello ${username}`).waitFor();
    }
    hostileClients = hostile;
    for (const [i, client] of hostile.entries()) {
      const inbox = [];
      for await (const m of client.inbox({ limit: 5 })) inbox.push(m.text);
      expect(inbox).toContain(`hello ${HOSTILE_USERS[i]}`);
    }
    expect(await bob.page.locator('img[src="x"]').count()).toBe(0);
    expect(dialogs()).toEqual([]);
    await openConversation(bob, ALICE.username);
  });

  it('scrolling a thread to the top loads older messages', async () => {
    const writer = hostileClients[1]!;
    const who = HOSTILE_USERS[1]!;
    for (let i = 1; i <= 70; i++) await writer.send(BOB.username, { text: `older page test ${String(i).padStart(2, '0')}` });
    // From a fresh load (Bob's device is remembered), which fetches only the newest page of each mailbox.
    await bob.page.reload();
    const log = await openConversation(bob, who);
    await message(log, 'older page test 70').waitFor();
    for (let round = 0; round < 10 && (await message(log, 'older page test 01').count()) === 0; round++) {
      await log.evaluate((element) => element.scrollTo({ top: 0 }));
      await bob.page.waitForTimeout(300);
    }
    await message(log, 'older page test 01').waitFor();
    await message(log, `${XSS_IMG} from ${who}`).waitFor();
    expect(await log.getByRole('article').count()).toBe(72); // 70, the first message and Bob's answer
    await openConversation(bob, ALICE.username);
  });

  it('without "Remember this device" a reload asks for the password, and the history reads after it', async () => {
    await alice.page.reload();
    await alice.page.getByRole('heading', { name: 'Unlock' }).waitFor();
    await alice.page.getByRole('button', { name: 'Log out' }).waitFor();
    await screenshot(alice.page, 'unlock');
    const findings = await axeSerious(alice.page);
    expect(findings, describeAxe('unlock', findings)).toEqual([]);

    // A wrong password is a sentence in an alert, not a crash (the envelopes open here: no request fails).
    await alice.page.getByLabel('Password', { exact: true }).fill('not-the-password-at-all');
    await alice.page.getByRole('button', { name: 'Unlock', exact: true }).click();
    await expect(alice.page.getByRole('alert').filter({ hasText: /\w/ }).first().innerText({ timeout: 60_000 })).resolves.toMatch(/\w+ \w+/);

    await unlock(alice, ALICE.password);
    const log = await openConversation(alice, BOB.username);
    for (const text of ['Hello Bob, this is Alice.', 'Hi Alice! Bob here.', 'The random file', XSS_SCRIPT]) await message(log, text).waitFor();
  });

  it('with "Remember this device" a reload goes straight into the chat', async () => {
    const navigations = bob.navigations;
    await bob.page.reload();
    await chatReady(bob.page).waitFor();
    expect(bob.navigations).toBe(navigations + 1);
    expect(await bob.page.getByRole('heading', { name: 'Unlock' }).count()).toBe(0);
    const log = await openConversation(bob, ALICE.username);
    for (const text of ['Hello Bob, this is Alice.', 'Nice, it is live.', XSS_IMG]) await message(log, text).waitFor();
    // Kept: non-extractable keys only.
    const kept = await dumpStorage(bob.page);
    expect(kept.cryptoKeys).toBeGreaterThan(0);
  });

  it('rotating keys and changing the password keep old and new messages readable in both contexts', async () => {
    const { page } = alice;
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Rotate keys' }).click();
    await page.getByLabel('Password', { exact: true }).fill(ALICE.password);
    await page.getByRole('button', { name: 'Rotate', exact: true }).click();
    await page.getByRole('status').filter({ hasText: /rotat|key version|new key/i }).first().waitFor({ timeout: 60_000 });

    await screenshot(page, 'settings');
    let findings = await axeSerious(page);
    expect(findings, describeAxe('settings', findings)).toEqual([]);

    // A message to the new key (sent by Bob after the rotation) and one from Alice.
    await page.getByRole('button', { name: 'Back to chat' }).click();
    const aliceLog = await openConversation(alice, BOB.username);
    const bobLog = await thread(bob.page, ALICE.username);
    let arrived = message(aliceLog, 'to your new key').waitFor({ timeout: 10_000 });
    await sendTextIn(bob, 'to your new key');
    await arrived;
    arrived = message(bobLog, 'from after the rotation').waitFor({ timeout: 10_000 });
    await sendTextIn(alice, 'from after the rotation');
    await arrived;

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Current password').fill(ALICE.password);
    await page.getByLabel('New password', { exact: true }).fill(ALICE_NEW_PASSWORD);
    await page.getByLabel('Repeat new password').fill(ALICE_NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').filter({ hasText: /password/i }).first().waitFor({ timeout: 60_000 });
    findings = await axeSerious(page);
    expect(findings, describeAxe('settings after a password change', findings)).toEqual([]);

    // Both pages from scratch: Alice unlocks with the new password (every key version re-sealed), Bob from his device.
    await Promise.all([alice.page.reload(), bob.page.reload()]);
    await unlock(alice, ALICE_NEW_PASSWORD);
    await chatReady(bob.page).waitFor();
    const logs = await Promise.all([openConversation(alice, BOB.username), openConversation(bob, ALICE.username)]);
    for (const log of logs) {
      for (const text of ['Hello Bob, this is Alice.', 'Hi Alice! Bob here.', 'to your new key', 'from after the rotation']) await message(log, text).waitFor();
    }
    await expect(logs[0].getByText(/cannot be decrypted|can't be decrypted|unreadable/i).count()).resolves.toBe(0);
    await expect(logs[1].getByText(/cannot be decrypted|can't be decrypted|unreadable/i).count()).resolves.toBe(0);
  });

  it('a session revoked from another browser is logged out live, without a reload', async () => {
    alice2 = await openPage(browser, 'alice-2');
    await gotoApp(alice2, server.url);
    await logIn(alice2, ALICE.username, ALICE_NEW_PASSWORD);
    await alice2.page.getByRole('button', { name: 'Settings' }).click();
    const others = alice2.page.getByRole('listitem').filter({ has: alice2.page.getByRole('button', { name: 'Revoke' }) });
    await others.first().waitFor();
    expect(await others.count()).toBe(1);
    await alice2.page.getByRole('listitem').filter({ hasText: 'This device' }).waitFor();

    // The revoked page learns it from its live connection's close: no request of its fails (console stays clean).
    const navigations = alice.navigations;
    const signedOut = await watchFor(alice.page, '[role="tab"]', 'Log in');
    const clickedAt = Date.now();
    await others.getByRole('button', { name: 'Revoke' }).click();
    latencies.revokedToSignIn = (await signedOut()) - clickedAt;
    await signInScreen(alice.page).waitFor();
    expect(latencies.revokedToSignIn).toBeLessThan(5000);
    expect(alice.navigations).toBe(navigations);
    const sentence = alice.page.getByRole('alert').or(alice.page.getByRole('status')).filter({ hasText: /\w+ \w+/ });
    await sentence.first().waitFor();
    // Nothing of the revoked session is left in that tab.
    const left = await dumpStorage(alice.page);
    expect(left.cryptoKeys).toBe(0);
    for (const token of alice.tokens) expect(findSecret(left, token)).toEqual([]);
    // The list on the other page no longer offers it.
    await expect.poll(() => others.count(), { timeout: 10_000 }).toBe(0);
  });

  it('log out leaves no token and no key in IndexedDB, localStorage or sessionStorage', async () => {
    // Bob's device remembers him: before logging out, his token and keys are stored.
    const before = await dumpStorage(bob.page);
    expect(before.cryptoKeys).toBeGreaterThan(0);
    expect(bob.tokens.length).toBeGreaterThan(0);
    expect(bob.tokens.some((token) => findSecret(before, token).length > 0)).toBe(true);
    expect(alice2.tokens.some((token) => findSecret(before, token).length > 0)).toBe(false);

    for (const p of [bob, alice2]) {
      await p.page.getByRole('button', { name: 'Log out', exact: true }).click();
      await signInScreen(p.page).waitFor();
      const after = await dumpStorage(p.page);
      expect(after.cryptoKeys, `${p.name}: CryptoKeys left in IndexedDB ${JSON.stringify(after.indexedDb)}`).toBe(0);
      for (const token of p.tokens) expect(findSecret(after, token), `${p.name}: token left`).toEqual([]);
      expect(Object.keys(after.sessionStorage).filter((k) => k.startsWith('securechat')), `${p.name}: sessionStorage`).toEqual([]);
      // And a reload is the sign-in screen, not Unlock.
      await p.page.reload();
      await signInScreen(p.page).waitFor();
      expect(await p.page.getByRole('heading', { name: 'Unlock' }).count()).toBe(0);
    }
  });

  it('no page reported a CSP violation, a console error, an uncaught exception or a dialog', () => {
    expect(allProblems()).toEqual([]);
  });
});

/** Types into the composer and presses Send; returns Date.now() just before the click. */
async function sendTextIn(p: WatchedPage, text: string): Promise<number> {
  const box = p.page.getByRole('textbox', { name: 'Message', exact: true });
  if (text.includes('\n')) {
    // Shift+Enter is a newline.
    await box.fill('');
    const [first, ...rest] = text.split('\n');
    await box.pressSequentially(first!);
    for (const line of rest) {
      await box.press('Shift+Enter');
      await box.pressSequentially(line);
    }
  } else {
    await box.fill(text);
  }
  const send = p.page.getByRole('button', { name: 'Send', exact: true });
  const clickedAt = Date.now();
  await send.click();
  // Sent: the composer empties itself (and the upload progress goes) once the server stored the message.
  const progress = p.page.getByRole('progressbar', { name: 'Upload progress' });
  await expect.poll(async () => (await box.inputValue()) === '' && (await progress.count()) === 0, { timeout: 60_000 }).toBe(true);
  return clickedAt;
}

/** Drops a file (made in the page from `bytes`) on the composer with dragenter, dragover and drop. */
async function dropFile(p: WatchedPage, name: string, bytes: Uint8Array, type: string): Promise<void> {
  const dataTransfer = await p.page.evaluateHandle(
    ({ base64, name, type }) => {
      const binary = atob(base64);
      const data = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) data[i] = binary.charCodeAt(i);
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], name, { type }));
      return transfer;
    },
    { base64: Buffer.from(bytes).toString('base64'), name, type },
  );
  const target = p.page.getByRole('textbox', { name: 'Message', exact: true });
  for (const event of ['dragenter', 'dragover', 'drop']) await target.dispatchEvent(event, { dataTransfer });
  await dataTransfer.dispose();
  await p.page.getByRole('button', { name: 'Remove attachment' }).waitFor();
}

