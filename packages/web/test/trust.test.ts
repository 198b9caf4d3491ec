/**
 * Who said what (API.md B 11) in the web app, in real Chromium against a real
 * server whose database the test can change behind its back:
 *
 * - Bob and Alice each open "Verify …" and see the same 60-digit safety
 *   number, in 12 groups of five, that the SDK computes in Node; "Mark as
 *   verified" shows "Verified" in the thread header, and it survives a reload
 *   (Bob: a remembered device, pins in IndexedDB; Alice: a tab session, pins
 *   in sessionStorage).
 * - Alice rotates her keys (version 2, vouched for by version 1): a quiet
 *   note in Bob's thread, no alert, still Verified.
 * - A message from a server-mode account (no signature) is marked "Unsigned".
 * - Alice's current key replaced in the database by a version without a
 *   valid chain link (plus a message "from Alice" signed with it): Bob's
 *   thread shows the role="alert" banner, the forged message "Not verified: …"
 *   and "Key not vouched for"; sending is refused with a sentence and the
 *   draft is kept; after "Accept new key" it is sent, and the acceptance
 *   survives a reload.
 * - A replayed copy of a real message is marked "Repeated message …".
 *
 * The accounts are made with the SDK in Node (100,000 PBKDF2 rounds instead
 * of the browser's 600,000), then logged in in the browser.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecureChatClient } from '@securechat/client';
import {
  encryptMessage, generateKeyPair, generateSigningKeyPair, importPublicKey, importSigningKey, sealPrivateKey, signKeyLink, signMessage,
} from '@securechat/protocol';
import {
  allProblems, axeSerious, chatReady, composer, describeAxe, gotoApp, launchChromium, logIn, message, openConversation, openPage, screenshot, skipBrowser,
  thread, unlock, WAIT, watchFor, type WatchedPage,
} from './browser.ts';
import { startTamperableWebServer, type Db, type TamperableWebServer } from './tamperable-server.ts';

const ALICE = { username: 'alice', password: 'gravel-sonnet-58-osprey' };
const BOB = { username: 'bob', password: 'juniper-anvil-27-comet' };
const CAROL = { username: 'carol', password: 'saffron-gazebo-64-tidal' }; // a server-mode account: sends unsigned

const FIRST = 'Hello Bob, signed by Alice.';
const UNSIGNED_TEXT = 'Greetings from an original client.';
const ROTATED_TEXT = 'Signed with my new key.';
const FORGED_TEXT = 'It is Alice, new number: call me on this one.';
const DRAFT = 'Is this really you, Alice?';
const BANNER = `alice's key changed without a signed link from their previous key. The server, or someone with its database, may be impersonating them. Compare safety numbers before trusting new messages.`;

describe.skipIf(skipBrowser)('trust in the web app: safety numbers, unsigned messages, key changes', () => {
  let server: TamperableWebServer;
  let browser: Browser;
  let alice: WatchedPage;
  let bob: WatchedPage;
  const sdk: Record<'alice' | 'bob' | 'carol', SecureChatClient> = {} as never;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTamperableWebServer(), launchChromium()]);
    const account = async (name: 'alice' | 'bob' | 'carol', password: string, mode: 'e2e' | 'server' = 'e2e') => {
      sdk[name] = new SecureChatClient({ baseUrl: server.url, mode, kdfIterations: 100_000 });
      await sdk[name].register(name, password);
    };
    await Promise.all([account('alice', ALICE.password), account('bob', BOB.password), account('carol', CAROL.password, 'server')]);
    ids.first = (await sdk.alice.send('bob', { text: FIRST })).id;
    ids.unsigned = (await sdk.carol.send('bob', { text: UNSIGNED_TEXT })).id;

    [alice, bob] = await Promise.all([openPage(browser, 'alice'), openPage(browser, 'bob')]);
    await Promise.all([gotoApp(alice, server.url), gotoApp(bob, server.url)]);
    // Bob remembers this device (pins in IndexedDB), Alice does not (pins in sessionStorage).
    await Promise.all([logIn(alice, ALICE.username, ALICE.password), logIn(bob, BOB.username, BOB.password, { remember: true })]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('both sides see the SDK’s 60-digit safety number in 12 groups; Mark as verified shows Verified, also after a reload', async () => {
    const expected = await sdk.bob.safetyNumber('alice');
    expect(expected).toMatch(/^\d{5}( \d{5}){11}$/);
    expect(await sdk.alice.safetyNumber('bob')).toBe(expected);

    const bobLog = await openConversation(bob, ALICE.username);
    await message(bobLog, FIRST).waitFor(WAIT);
    // About 0.4 s of hashing: the screen says so meanwhile.
    const computing = await watchFor(bob.page, '[role="status"]', 'Computing safety number…');
    await openVerify(bob.page, ALICE.username);
    expect(await shownSafetyNumber(bob.page)).toBe(expected);
    await computing();
    await bob.page.getByText(/compare this safety number with the one alice sees/i).waitFor();
    await screenshot(bob.page, 'verify');
    const findings = await axeSerious(bob.page);
    expect(findings, describeAxe('verify', findings)).toEqual([]);

    await openConversation(alice, BOB.username);
    await openVerify(alice.page, BOB.username);
    expect(await shownSafetyNumber(alice.page)).toBe(expected);

    for (const [p, peer] of [[bob, ALICE.username], [alice, BOB.username]] as const) {
      await p.page.getByRole('button', { name: 'Mark as verified' }).click();
      await p.page.getByRole('status').filter({ hasText: `${peer} is now marked as verified.` }).waitFor(WAIT);
      await p.page.getByRole('button', { name: 'Mark as verified' }).waitFor({ state: 'detached' });
      await p.page.getByRole('button', { name: 'Back to chat' }).click();
      await thread(p.page, peer);
      await verifiedBadge(p.page).waitFor(WAIT);
    }

    // Bob (remembered device) reloads straight into the chat; Alice (tab session) unlocks: both still show Verified.
    await Promise.all([bob.page.reload(), alice.page.reload()]);
    await chatReady(bob.page).waitFor(WAIT);
    await unlock(alice, ALICE.password);
    for (const [p, peer] of [[bob, ALICE.username], [alice, BOB.username]] as const) {
      await openConversation(p, peer);
      await verifiedBadge(p.page).waitFor(WAIT);
    }
  });

  it('a rotation vouched for by the previous key is a quiet note, not an alert, and keeps Verified', async () => {
    // Bob's thread with alice is open: her next message, from her new key, makes the page look her keys up again.
    const log = await thread(bob.page, ALICE.username);
    await sdk.alice.rotateKeys(ALICE.password);
    await sdk.alice.send('bob', { text: ROTATED_TEXT });
    const rotated = message(log, ROTATED_TEXT);
    await rotated.waitFor(WAIT);
    expect(await rotated.innerText()).not.toMatch(/Unsigned|Not verified|Key not vouched for|Repeated message/);
    const main = bob.page.getByRole('main');
    await main.getByText('alice rotated their key (signed by their previous key).').waitFor(WAIT);
    await verifiedBadge(bob.page).waitFor();
    expect(await main.getByRole('alert').count()).toBe(0);
  });

  it('a message from a server-mode account is marked Unsigned, a signed one is not marked', async () => {
    const carolLog = await openConversation(bob, CAROL.username);
    const unsigned = message(carolLog, UNSIGNED_TEXT);
    await unsigned.waitFor(WAIT);
    await unsigned.getByText('Unsigned', { exact: true }).waitFor();
    expect(await unsigned.innerText()).not.toMatch(/Not verified|Key not vouched for/);
    await unsigned.getByText('Unsigned', { exact: true }).hover();
    expect(await unsigned.locator('[title]').first().getAttribute('title')).toMatch(/older client|server-mode/);
    await bob.page.getByRole('main').getByText(/carol has no signing key/).waitFor();

    // No safety number without a signing key: the Verify screen says why.
    await bob.page.getByRole('main').getByRole('button', { name: 'Verify carol', exact: true }).click();
    await bob.page.getByRole('alert').filter({ hasText: 'carol has no signing key' }).waitFor(WAIT);
    await expect(bob.page.getByRole('button', { name: 'Mark as verified' }).count()).resolves.toBe(0);
    await bob.page.getByRole('button', { name: 'Back to chat' }).click();

    const aliceLog = await openConversation(bob, ALICE.username);
    const signed = message(aliceLog, FIRST);
    await signed.waitFor(WAIT);
    expect(await signed.innerText()).not.toMatch(/Unsigned|Not verified|Key not vouched for|Repeated message/);
  });

  it('alice’s key replaced without a chain link: a loud banner, marks on the forged message, sending refused (draft kept) until Accept new key', async () => {
    // A forger's keys as alice's version 3, vouched for by nobody (the link is signed by the forger's own key, not by her version 2).
    const [mallory, mallorySigning] = await Promise.all([generateKeyPair(), generateSigningKeyPair()]);
    const mallorySigningKey = await importSigningKey(mallorySigning.privateKey);
    const sealed = await sealPrivateKey(mallory.privateKey, 'the forger knows this one', { iterations: 100_000, signingKey: mallorySigning.privateKey });
    const keyLink = await signKeyLink(mallorySigningKey, { username: 'alice', keyId: 3, publicKeyPem: mallory.publicKey, signingPublicKey: mallorySigning.publicKey });
    const [bobKey] = await sdk.bob.keys();
    const fields = await encryptMessage({ text: FORGED_TEXT }, { recipient: await importPublicKey(bobKey!.public_key), sender: await importPublicKey(mallory.publicKey) });
    const clientId = randomUUID();
    const signature = await signMessage(mallorySigningKey, {
      sender: 'alice', recipient: 'bob', client_id: clientId, key_id: bobKey!.key_id, sender_key_id: 3, ...fields,
    });
    const aliceId = sdk.alice.user!.id;
    const bobId = sdk.bob.user!.id;

    // Pages see the restart: their live connection is cut (reset mid-handshake) or refused until the server is back.
    for (const p of [alice, bob]) p.allow.push(/WebSocket connection to .* failed: .*ERR_CONNECTION_(?:REFUSED|RESET)/);
    await server.tamper((db: Db) => {
      db.prepare(
        `INSERT INTO user_keys (user_id, key_id, public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, sealed_by, created_at,
           signing_public_key, key_signature, encrypted_signing_key, signing_key_nonce)
         VALUES (@user_id, 3, @public_key, @encrypted_private_key, @private_key_nonce, @private_key_salt, @private_key_iterations, 'client', @created_at,
           @signing_public_key, @key_signature, @encrypted_signing_key, @signing_key_nonce)`,
      ).run({ user_id: aliceId, public_key: mallory.publicKey, ...sealed, created_at: new Date().toISOString(), signing_public_key: mallorySigning.publicKey, key_signature: keyLink });
      db.prepare('UPDATE users SET current_key_id = 3 WHERE id = ?').run(aliceId);
      const forged = {
        sender_id: aliceId, recipient_id: bobId, key_id: bobKey!.key_id, sender_key_id: 3, ...fields, attachment_name: '', attachment_mime: '',
        has_attachment: 0, sent_at: new Date().toISOString(), client_id: clientId, signature,
      };
      const columns = Object.keys(forged);
      ids.forged = Number(db.prepare(`INSERT INTO messages (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(forged).lastInsertRowid);
    });

    // A fresh look at the mailbox (the restart also dropped the live connection).
    await bob.page.reload();
    await chatReady(bob.page).waitFor(WAIT);
    const log = await openConversation(bob, ALICE.username);
    const main = bob.page.getByRole('main');
    const banner = main.getByRole('alert').filter({ hasText: 'key changed without a signed link' });
    await banner.waitFor(WAIT);
    expect(normalise(await banner.locator('p').first().innerText())).toBe(`⚠ ${BANNER}`);
    await banner.getByText(/alice's key version 3 carries a key signature that does not verify/).waitFor();
    // The verified mark went with the key.
    await expect(verifiedBadge(bob.page).count()).resolves.toBe(0);

    const forged = message(log, FORGED_TEXT);
    await forged.waitFor(WAIT);
    expect(normalise(await forged.innerText())).toMatch(/Not verified: .+\./);
    await forged.getByText('Key not vouched for', { exact: true }).waitFor();

    // Sending to the unvouched key is refused with a sentence; the draft stays in the composer.
    await composer(bob.page).fill(DRAFT);
    await bob.page.getByRole('button', { name: 'Send', exact: true }).click();
    const refused = bob.page.locator('form').getByRole('alert');
    await refused.filter({ hasText: "alice's key changed and nothing vouches for the new one" }).waitFor(WAIT);
    expect(await refused.innerText()).toMatch(/Nothing was sent\. Compare safety numbers with alice; .*Accept new key/);
    await expect(composer(bob.page).inputValue()).resolves.toBe(DRAFT);
    expect(await log.getByRole('article').filter({ hasText: DRAFT }).count()).toBe(0);
    await screenshot(bob.page, 'key-warning');
    const findings = await axeSerious(bob.page);
    expect(findings, describeAxe('key warning', findings)).toEqual([]);

    // Verify from the banner: the number covers alice's first key only, so it cannot be marked; the draft survives the detour.
    await banner.getByRole('button', { name: 'Verify alice', exact: true }).click();
    await bob.page.getByRole('heading', { name: 'Verify alice' }).waitFor(WAIT);
    await bob.page.getByText(/covers that first key only/).waitFor(WAIT);
    await bob.page.getByRole('group', { name: 'Safety number' }).waitFor(WAIT);
    await expect(bob.page.getByRole('button', { name: 'Mark as verified' }).count()).resolves.toBe(0);
    await bob.page.getByRole('button', { name: 'Back to chat' }).click();
    await expect(composer(bob.page).inputValue()).resolves.toBe(DRAFT);

    // Accept new key: the banner and the refusal go, and the same draft is sent.
    await banner.getByRole('button', { name: 'Accept new key' }).click();
    await banner.waitFor({ state: 'detached', ...WAIT });
    await expect.poll(() => refused.count()).toBe(0);
    await bob.page.getByRole('button', { name: 'Send', exact: true }).click();
    await message(log, DRAFT).waitFor(WAIT);
    await expect(composer(bob.page).inputValue()).resolves.toBe('');

    // The acceptance is kept on this remembered device: no banner after a reload, and sending works.
    await bob.page.reload();
    await chatReady(bob.page).waitFor(WAIT);
    const again = await openConversation(bob, ALICE.username);
    await message(again, DRAFT).waitFor(WAIT);
    await bob.page.getByRole('main').getByRole('button', { name: 'Verify alice', exact: true }).waitFor();
    expect(await main.getByRole('alert').count()).toBe(0);
    await composer(bob.page).fill('Second try, to the accepted key.');
    await bob.page.getByRole('button', { name: 'Send', exact: true }).click();
    await message(again, 'Second try, to the accepted key.').waitFor(WAIT);
  });

  it('a replayed copy of a signed message is marked as a repeat; the original is not', async () => {
    await server.tamper((db: Db) => {
      // The same row again, same client_id (the unique index that refuses this, and any later send, goes: this test is the last to send).
      db.exec('DROP INDEX messages_sender_client_id');
      const columns = (db.prepare("SELECT name FROM pragma_table_info('messages') WHERE name != 'id'").pluck().all() as string[]).join(', ');
      ids.replay = Number(db.prepare(`INSERT INTO messages (${columns}) SELECT ${columns} FROM messages WHERE id = ?`).run(ids.first).lastInsertRowid);
    });
    await bob.page.reload();
    await chatReady(bob.page).waitFor(WAIT);
    const log = await openConversation(bob, ALICE.username);
    const copies = log.getByRole('article').filter({ hasText: FIRST });
    await expect.poll(() => copies.count(), WAIT).toBe(2);
    await copies.nth(1).getByText('Repeated message (replay of an earlier one)').waitFor(WAIT);
    expect(await copies.nth(0).innerText()).not.toMatch(/Repeated message|Not verified/);
  });

  it('no console errors, CSP violations or dialogs on any page', () => {
    expect(allProblems()).toEqual([]);
  });
});

/** The thread header's "Verify USERNAME" (the first one: a key-change banner has another). */
async function openVerify(page: Page, username: string): Promise<void> {
  await page.getByRole('main').getByRole('button', { name: `Verify ${username}`, exact: true }).first().click();
  await page.getByRole('heading', { name: `Verify ${username}`, exact: true }).waitFor(WAIT);
}

/** The digits in the element named "Safety number" (waiting while "Computing safety number…" shows): 12 groups of 5. */
async function shownSafetyNumber(page: Page): Promise<string> {
  const group = page.getByRole('group', { name: 'Safety number', exact: true });
  await group.waitFor(WAIT);
  const groups = (await group.innerText()).trim().split(/\s+/);
  expect(groups).toHaveLength(12);
  for (const g of groups) expect(g).toMatch(/^\d{5}$/);
  const font = await group.evaluate((element) => getComputedStyle(element).fontFamily);
  expect(font).toMatch(/mono/i);
  return groups.join(' ');
}

function verifiedBadge(page: Page) {
  return page.getByRole('main').getByText(/^✓?\s*Verified$/);
}

function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
