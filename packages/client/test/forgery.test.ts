/**
 * B 11: what someone holding the server's database can forge, and how the SDK
 * and the CLI show it. The server verifies signatures on send, so every
 * forgery here is written into its SQLite file directly, between a stop and a
 * restart of the real server (tamperable-server.ts):
 *
 * - a message re-labelled with another sender;
 * - ciphertext swapped between two messages;
 * - a replayed message (a copy row with the same client_id);
 * - a key version inserted without a valid chain link (and a message "from"
 *   its owner signed with it);
 * - a message signed by a rotated-out key claiming the new sender_key_id.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encryptMessage, generateKeyPair, generateSigningKeyPair, importPublicKey, importSigningKey, sealPrivateKey, signKeyLink, signMessage,
} from '@securechat/protocol';
import { SecureChatClient, UntrustedKeyError, type MailboxMessage } from '../src/index.ts';
import { runCli, type Run } from './run-cli.ts';
import { insertMessage, startTamperableServer, type Db, type TamperableServer } from './tamperable-server.ts';

const PASSWORD = 'ledger-otter-93-vouch';
const dir = mkdtempSync(join(tmpdir(), 'securechat-forgery-'));
let server: TamperableServer;
const clients: Record<'alice' | 'bob' | 'carol' | 'dave' | 'erin', SecureChatClient> = {} as never;
const names: Record<keyof typeof clients, string> = {} as never;
const ids: Record<string, number> = {};
const bobProfile = join(dir, 'bob.json');

const bobCli = (args: string[], stdin = `${PASSWORD}\n`): Promise<Run> => runCli(args, stdin, { SECURECHAT_CONFIG: bobProfile, SECURECHAT_SERVER: server.url });

async function inboxJson(): Promise<Array<Record<string, unknown>>> {
  const run = await bobCli(['--json', 'inbox']);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

async function bobInbox(): Promise<Map<number, MailboxMessage>> {
  const list: MailboxMessage[] = [];
  for await (const m of clients.bob.inbox()) list.push(m);
  return new Map(list.map((m) => [m.id, m]));
}

/** The CLI's inbox table row of message `id`, mark first. */
function row(table: string, id: number): string {
  return table.split('\n').find((l) => new RegExp(`^\\S*\\s+${id}\\s`).test(l)) ?? `(no row for #${id})`;
}

/** A message as a forger makes it: encrypted to the recipient's key, with a sender copy, signed by `signingKey`. */
async function forge(options: {
  sender: { id: number; username: string }; recipient: { id: number; username: string }; recipientKey: { key_id: number; public_key: string };
  senderKey: { key_id: number; public_key: string }; signingKey: CryptoKey; text: string;
}) {
  const fields = await encryptMessage({ text: options.text }, { recipient: await importPublicKey(options.recipientKey.public_key), sender: await importPublicKey(options.senderKey.public_key) });
  const client_id = randomUUID();
  const signature = await signMessage(options.signingKey, {
    sender: options.sender.username, recipient: options.recipient.username, client_id, key_id: options.recipientKey.key_id, sender_key_id: options.senderKey.key_id, ...fields,
  });
  return {
    sender_id: options.sender.id, recipient_id: options.recipient.id, key_id: options.recipientKey.key_id, sender_key_id: options.senderKey.key_id,
    ...fields, attachment_name: '', attachment_mime: '', has_attachment: 0, sent_at: new Date().toISOString(), client_id, signature,
  };
}

beforeAll(async () => {
  server = await startTamperableServer();
  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin'] as const) {
    clients[name] = new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 });
    await clients[name].register(`forgery-${name}`, PASSWORD);
    names[name] = clients[name].user!.username;
  }
  const { alice, bob, carol, dave, erin } = clients;
  writeFileSync(bobProfile, JSON.stringify({ server: server.url, mode: 'e2e', user: bob.user, token: bob.token }), { mode: 0o600 });

  // Honest mail first.
  ids.relabelled = (await alice.send(names.bob, { text: 'pay carol 100' })).id;
  ids.swapA = (await alice.send(names.bob, { text: 'first of two' })).id;
  ids.swapB = (await alice.send(names.bob, { text: 'second of two' })).id;
  ids.original = (await alice.send(names.bob, { text: 'meet at noon' })).id;
  ids.daveHonest = (await dave.send(names.bob, { text: 'dave, before rotating' })).id;
  ids.erinHonest = (await erin.send(names.bob, { text: 'erin, honestly' })).id;
  // Dave rotates; his version 1 signing key is "rotated out" (say it leaked).
  const daveV1Signing = dave.deviceSigningKeys().find(([keyId]) => keyId === 1)![1].privateKey;
  await dave.rotateKeys(PASSWORD);
  const [daveV2] = await dave.keys();
  const [bobKey] = await bob.keys();

  // Bob's CLI and SDK have seen everyone once: their first keys are pinned.
  const users = await bobCli(['users']);
  expect(users.code, users.stderr).toBe(0);
  for (const name of ['alice', 'carol', 'dave', 'erin'] as const) expect((await bob.contact(names[name])).keyChange).not.toBe('unverified');
  const pins = JSON.parse(readFileSync(bobProfile, 'utf8')).pins;
  expect(Object.keys(Object.values(pins)[0] as object).sort()).toEqual([names.alice, names.carol, names.dave, names.erin].sort());

  // The forger's own keys, for Erin's inserted version.
  const [mallory, mallorySigning] = await Promise.all([generateKeyPair(), generateSigningKeyPair()]);
  const mallorySigningKey = await importSigningKey(mallorySigning.privateKey);
  const sealed = await sealPrivateKey(mallory.privateKey, 'the forger knows this one', { iterations: 100_000, signingKey: mallorySigning.privateKey });
  const fakeV2 = { key_id: 2, public_key: mallory.publicKey };
  const fakeLink = await signKeyLink(mallorySigningKey, { username: names.erin, keyId: 2, publicKeyPem: mallory.publicKey, signingPublicKey: mallorySigning.publicKey });

  const forgedByOldKey = await forge({ sender: dave.user!, recipient: bob.user!, recipientKey: bobKey!, senderKey: daveV2!, signingKey: daveV1Signing, text: 'dave (really his old key): send money' });
  const forgedByInserted = await forge({ sender: erin.user!, recipient: bob.user!, recipientKey: bobKey!, senderKey: fakeV2, signingKey: mallorySigningKey, text: 'erin (really mallory): new number' });

  await server.tamper((db: Db) => {
    db.prepare('UPDATE messages SET sender_id = ? WHERE id = ?').run(carol.user!.id, ids.relabelled);

    const swapped = ['encrypted_message', 'message_nonce', 'encrypted_symmetric_key', 'sender_encrypted_symmetric_key'];
    const read = db.prepare(`SELECT ${swapped.join(', ')} FROM messages WHERE id = ?`);
    const [a, b] = [read.get(ids.swapA), read.get(ids.swapB)] as Record<string, string>[];
    const write = db.prepare(`UPDATE messages SET ${swapped.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`);
    write.run({ ...b, id: ids.swapA });
    write.run({ ...a, id: ids.swapB });

    ids.oldKeyForgery = insertMessage(db, forgedByOldKey);

    db.prepare(
      `INSERT INTO user_keys (user_id, key_id, public_key, encrypted_private_key, private_key_nonce, private_key_salt, private_key_iterations, sealed_by, created_at,
         signing_public_key, key_signature, encrypted_signing_key, signing_key_nonce)
       VALUES (@user_id, 2, @public_key, @encrypted_private_key, @private_key_nonce, @private_key_salt, @private_key_iterations, 'client', @created_at,
         @signing_public_key, @key_signature, @encrypted_signing_key, @signing_key_nonce)`,
    ).run({ user_id: erin.user!.id, public_key: mallory.publicKey, ...sealed, created_at: new Date().toISOString(), signing_public_key: mallorySigning.publicKey, key_signature: fakeLink });
    db.prepare('UPDATE users SET current_key_id = 2 WHERE id = ?').run(erin.user!.id);
    ids.insertedKeyForgery = insertMessage(db, forgedByInserted);
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('forgeries by the server, detected by the SDK and shown by the CLI', () => {
  it('a message re-labelled with another sender: signature invalid (it names its real sender)', async () => {
    const m = (await bobInbox()).get(ids.relabelled!)!;
    expect(m).toMatchObject({ sender: { username: names.carol }, readable: true, text: 'pay carol 100', signature: 'invalid', verified: false });
    expect(m.trustProblem).toMatch(/signature does not match/);

    const json = (await inboxJson()).find((r) => r.id === ids.relabelled)!;
    expect(json).toMatchObject({ sender: names.carol, signature: 'invalid', verified: false });
    const table = (await bobCli(['inbox'])).stdout;
    expect(row(table, ids.relabelled!)).toMatch(new RegExp(`^!\\s+${ids.relabelled}\\s+${names.carol}\\s`));
    expect(table).toMatch(/\nMarks: ! invalid signature/);
    const read = await bobCli(['read', String(ids.relabelled)]);
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(new RegExp(`^Message #${ids.relabelled} from ${names.carol} to ${names.bob}, .* UTC\\n! NOT VERIFIED — the signature is invalid: .*Do not trust that ${names.carol} wrote this\\.\\n`));
  });

  it('ciphertext swapped between two messages: both still decrypt (to each other’s text), both signatures invalid', async () => {
    const inbox = await bobInbox();
    expect([inbox.get(ids.swapA!), inbox.get(ids.swapB!)].map((m) => [m!.text, m!.signature, m!.verified])).toEqual([
      ['second of two', 'invalid', false],
      ['first of two', 'invalid', false],
    ]);
    const json = await inboxJson();
    for (const id of [ids.swapA!, ids.swapB!]) expect(json.find((r) => r.id === id)).toMatchObject({ signature: 'invalid', key_change: 'none' });
    const table = (await bobCli(['inbox'])).stdout;
    expect(row(table, ids.swapA!)).toMatch(/^!\s/);
    expect(row(table, ids.swapB!)).toMatch(/^!\s/);
  });

  it('a message signed by a rotated-out key claiming the new sender_key_id: invalid; dave’s honest mail stays valid', async () => {
    const inbox = await bobInbox();
    expect(inbox.get(ids.oldKeyForgery!)).toMatchObject({ text: 'dave (really his old key): send money', signature: 'invalid', keyChange: 'rotated', verified: false });
    expect(inbox.get(ids.oldKeyForgery!)!.raw.sender_key_id).toBe(2);
    expect(inbox.get(ids.daveHonest!)).toMatchObject({ signature: 'valid', keyChange: 'none', verified: true });
    expect((await inboxJson()).find((r) => r.id === ids.oldKeyForgery)).toMatchObject({ signature: 'invalid', key_change: 'rotated' });
    const table = (await bobCli(['inbox'])).stdout;
    expect(row(table, ids.oldKeyForgery!)).toMatch(/^!\s/);
    expect(row(table, ids.daveHonest!)).toMatch(/^\s/); // unmarked
  });

  it('a key version inserted without a valid chain link: unverified everywhere, and nothing is encrypted to it without consent', async () => {
    const { bob } = clients;
    const status = await bob.contact(names.erin, { refresh: true });
    expect(status).toMatchObject({ keyId: 2, keyChange: 'unverified', verified: false, problem: `${names.erin}'s key version 2 carries a key signature that does not verify` });
    const inbox = await bobInbox();
    expect(inbox.get(ids.insertedKeyForgery!)).toMatchObject({ text: 'erin (really mallory): new number', signature: 'invalid', keyChange: 'unverified', verified: false });
    expect(inbox.get(ids.erinHonest!)).toMatchObject({ signature: 'valid', keyChange: 'none' }); // her real key still verifies her real mail

    const refused = await bob.send(names.erin, { text: 'for erin?' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UntrustedKeyError);
    expect((refused as Error).message).toMatch(/Nothing was sent\. Compare safety numbers .* acceptNewKey/);

    // The CLI: marked in inbox and users, send refused with exit 8 and a sentence.
    expect((await inboxJson()).find((r) => r.id === ids.insertedKeyForgery)).toMatchObject({ signature: 'invalid', key_change: 'unverified' });
    expect(row((await bobCli(['inbox'])).stdout, ids.insertedKeyForgery!)).toMatch(/^!K\s/);
    const users = (await bobCli(['users'])).stdout;
    expect(users).toMatch(new RegExp(`^K\\s+${names.erin}\\s`, 'm'));
    expect(users).toMatch(new RegExp(`^\\s+${names.alice}\\s`, 'm'));
    expect(users).toMatch(/\nMarks: K key changed without a chain/);
    const usersJson = JSON.parse((await bobCli(['--json', 'users'])).stdout);
    expect(usersJson.find((u: { username: string }) => u.username === names.erin)).toMatchObject({ key_change: 'unverified', verified: false, trust_problem: expect.stringMatching(/does not verify/) });

    const send = await bobCli(['send', names.erin, 'for erin?']);
    expect(send.code).toBe(8);
    expect(send.stderr).toBe(
      `securechat: ${names.erin}'s key changed and nothing vouches for the new one (${names.erin}'s key version 2 carries a key signature that does not verify). ` +
        `Nothing was sent. Compare safety numbers with ${names.erin} (securechat verify ${names.erin}); if you trust the new key, send again with --accept-new-key.\n`,
    );
    const verify = await bobCli(['verify', names.erin]);
    expect(verify.stdout).toMatch(new RegExp(`\\nK WARNING: ${names.erin}'s key changed and nothing vouches for the new one: .*\\n${names.erin} cannot be marked verified while`));
    const confirm = await bobCli(['verify', names.erin, '--confirm']);
    expect(confirm.code).toBe(8);
    expect(confirm.stderr).toMatch(/cannot be verified with a safety number/);

    const accepted = await bobCli(['send', names.erin, 'I accept the risk', '--accept-new-key']);
    expect(accepted.code, accepted.stderr).toBe(0);
    // Accepted: the CLI now pins that key (the forged one, with the user's consent); the earlier pin is kept for older mail.
    const after = JSON.parse((await bobCli(['--json', 'users'])).stdout).find((u: { username: string }) => u.username === names.erin);
    expect(after).toMatchObject({ key_change: 'none', verified: false });
    expect((await inboxJson()).find((r) => r.id === ids.erinHonest)).toMatchObject({ signature: 'valid' });
  });

  it('a replayed message (a copy row with the same client_id): the later copy is invalid, naming the original', async () => {
    await server.tamper((db) => {
      // The unique index would refuse the copy: someone with the database just drops it.
      db.exec('DROP INDEX messages_sender_client_id');
      const columns = (db.prepare("SELECT name FROM pragma_table_info('messages') WHERE name != 'id'").pluck().all() as string[]).join(', ');
      ids.replay = Number(db.prepare(`INSERT INTO messages (${columns}) SELECT ${columns} FROM messages WHERE id = ?`).run(ids.original).lastInsertRowid);
    });
    const inbox = await bobInbox();
    expect(inbox.get(ids.replay!)!.raw.client_id).toBe(inbox.get(ids.original!)!.raw.client_id);
    expect(inbox.get(ids.original!)).toMatchObject({ text: 'meet at noon', signature: 'valid', replayOf: null });
    expect(inbox.get(ids.replay!)).toMatchObject({ text: 'meet at noon', signature: 'invalid', replayOf: ids.original, verified: false, trustProblem: expect.stringMatching(/replay/) });

    const json = await inboxJson();
    expect(json.find((r) => r.id === ids.replay)).toMatchObject({ signature: 'invalid', replay_of: ids.original });
    expect(json.find((r) => r.id === ids.original)).toMatchObject({ signature: 'valid', replay_of: null });
    const table = (await bobCli(['inbox'])).stdout;
    expect(row(table, ids.replay!)).toMatch(/^!\s/);
    expect(row(table, ids.original!)).toMatch(/^\s/);
    // (A replay shows once both copies have been seen by one client: `read` of the copy alone cannot know.)
  });
});
