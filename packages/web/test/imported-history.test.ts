/**
 * Mail imported from the original backend (`npm run import-original`) in the
 * web app, in real Chromium against a real server whose SQLite file the
 * import tool filled from an original `db.sqlite3` (the fixture the server
 * and client import tests use):
 *
 * - alice logs in with her old password ("Original client account": the
 *   original's keys are server-made) and her own imported messages show a
 *   quiet note, "Sent before SecureChat — no copy was kept for you, the
 *   sender." (the original wrapped each message key for its recipient only),
 *   in the muted style, never the red "This message cannot be read" error;
 *   bob's message to her reads as usual.
 * - bob, the recipient, logs in with his old password and reads the same
 *   message's text; the one sent before his key rotation in the original
 *   (no key opens it any more) keeps the error display, and his own
 *   imported reply shows the quiet note.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOriginal } from '../../server/src/tools/import-original.ts';
import { standardOriginal } from '../../server/test/original-fixture.ts';
import type { LiveServer } from '../../server/test/realtime-helpers.ts';
import {
  allProblems, axeSerious, conversationButton, describeAxe, gotoApp, launchChromium, logIn, message, openConversation, openPage, screenshot, skipBrowser,
  startServer, WAIT, type WatchedPage,
} from './browser.ts';

const NOTE = 'Sent before SecureChat — no copy was kept for you, the sender.';
const ERROR = /cannot be read/i;
/** --muted in styles.css; the error style is --danger (#b42318). */
const MUTED = 'rgb(83, 91, 102)';

describe.skipIf(skipBrowser)('history imported from the original backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'securechat-web-imported-'));
  let fixture: Awaited<ReturnType<typeof standardOriginal>>;
  let server: LiveServer;
  let browser: Browser;
  let alice: WatchedPage;
  let bob: WatchedPage;

  beforeAll(async () => {
    const source = join(dir, 'db.sqlite3');
    const databaseUrl = `sqlite:${join(dir, 'securechat.db')}`;
    [fixture, browser] = await Promise.all([standardOriginal(source), launchChromium()]);
    const report = await importOriginal(source, databaseUrl, { tokenTtlDays: 30 });
    expect(report.counts.messages).toBe(6);
    server = await startServer({ DATABASE_URL: databaseUrl });
    [alice, bob] = await Promise.all([openPage(browser, 'alice'), openPage(browser, 'bob')]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The message in `log` sent at `sentAt` (ISO), i.e. one message whichever side shows it. */
  const sentAt = (log: Locator, iso: string) => log.getByRole('article').filter({ has: log.page().locator(`time[datetime="${iso}"]`) });
  const WITH_FILE_AT = '2025-11-18T08:15:00.000Z';
  const BEFORE_ROTATION_AT = '2025-11-16T09:38:58.701Z';
  const TO_ALICE_AT = '2025-11-18T08:16:01.000Z';
  const WITH_FILE_TEXT = 'Grüße, Bob — 🔐 after the rotation';

  it("the sender's own imported messages show a quiet note, not an error", async () => {
    await gotoApp(alice, server.url);
    await logIn(alice, 'alice', fixture.users.alice.password, { original: true });
    // Her last message to Zoë is one of them: the list says so calmly too.
    await expect(conversationButton(alice.page, 'Zoë').innerText(WAIT)).resolves.toContain('You: Sent before SecureChat');

    const log = await openConversation(alice, 'bob');
    await message(log, 'hello alice').waitFor(WAIT);
    const mine = log.getByRole('article').filter({ hasText: NOTE });
    await expect(mine.count()).resolves.toBe(2);
    for (const iso of [BEFORE_ROTATION_AT, WITH_FILE_AT]) {
      const article = sentAt(log, iso);
      await expect(article.innerText()).resolves.toContain(NOTE);
      await expect(article.innerText()).resolves.not.toMatch(ERROR);
      const note = article.getByText(NOTE, { exact: true });
      expect(await note.evaluate((el) => getComputedStyle(el).color)).toBe(MUTED);
      expect(await note.getAttribute('class')).not.toMatch(/unreadable/);
    }
    await expect(log.innerText()).resolves.not.toMatch(ERROR);
    await expect(message(log, 'hello alice').innerText()).resolves.toContain('hello alice\nsecond line');

    await screenshot(alice.page, 'imported-history');
    const findings = await axeSerious(alice.page);
    expect(findings, describeAxe('imported history', findings)).toEqual([]);
  });

  it("the recipient reads the same message's text; one no key opens any more is still an error", async () => {
    await gotoApp(bob, server.url);
    await logIn(bob, 'bob', fixture.users.bob.password, { original: true });
    const log = await openConversation(bob, 'alice');
    const withFile = sentAt(log, WITH_FILE_AT);
    await withFile.getByText(WITH_FILE_TEXT, { exact: true }).waitFor(WAIT);
    await withFile.getByRole('button', { name: 'Download résumé ✓.pdf' }).waitFor(WAIT);
    await expect(withFile.innerText()).resolves.not.toContain(NOTE);

    // Sent before bob rotated his key in the original, which discarded the old one: genuinely unreadable, said as such.
    const lost = sentAt(log, BEFORE_ROTATION_AT);
    await expect(lost.innerText()).resolves.toMatch(/This message cannot be read: its wrapped key does not open with your key version 1\./);
    await expect(lost.innerText()).resolves.not.toContain(NOTE);
    // His own imported reply to her has no sender copy either: the same quiet note, on that message only.
    await expect(log.getByRole('article').filter({ hasText: NOTE }).count()).resolves.toBe(1);
    await expect(sentAt(log, TO_ALICE_AT).innerText()).resolves.toContain(NOTE);
  });

  it('no page reported a CSP violation, a console error, an uncaught exception or a dialog', () => {
    expect(allProblems()).toEqual([]);
  });
});
