/**
 * Accounts and mail imported from the original backend (`npm run
 * import-original`), read with the SDK and the real `securechat` CLI in
 * server mode: old passwords and tokens work, every message opens byte for
 * byte for its recipient, a sender's own old mail says "sent before
 * SecureChat: no copy for the sender" instead of failing, and imported names
 * (non-ASCII, hostile) log in by their exact name and print safely.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOriginal } from '../../server/src/tools/import-original.ts';
import { standardOriginal } from '../../server/test/original-fixture.ts';
import { NO_SENDER_COPY, SecureChatClient, type MailboxMessage } from '../src/index.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';
import { runCli, type Run } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'securechat-imported-'));
let server: LiveServer;
let fixture: Awaited<ReturnType<typeof standardOriginal>>;

beforeAll(async () => {
  const source = join(dir, 'db.sqlite3');
  fixture = await standardOriginal(source);
  const databaseUrl = `sqlite:${join(dir, 'chat.db')}`;
  await importOriginal(source, databaseUrl, { tokenTtlDays: 30 });
  server = await startLiveServer({ DATABASE_URL: databaseUrl });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(profile: string, args: string[], stdin = ''): Promise<Run> {
  return runCli(args, stdin, { SECURECHAT_SERVER: server.url, SECURECHAT_CONFIG: join(dir, `${profile}.json`) });
}

async function ok(profile: string, args: string[], stdin = ''): Promise<string> {
  const run = await cli(profile, args, stdin);
  expect(run.code, `securechat ${args.join(' ')}\n${run.stderr}`).toBe(0);
  return run.stdout;
}

const json = async (profile: string, args: string[], stdin = '') => JSON.parse(await ok(profile, ['--json', ...args], stdin));

async function all(messages: AsyncIterable<MailboxMessage>): Promise<MailboxMessage[]> {
  const list: MailboxMessage[] = [];
  for await (const message of messages) list.push(message);
  return list;
}

describe('the SDK on imported accounts', () => {
  it('logs in with the old password and opens every message byte for byte; the one sent before a rotation says why not', async () => {
    const bob = new SecureChatClient({ baseUrl: server.url, mode: 'server' });
    await bob.login('bob', fixture.users.bob.password);
    const [withFile, beforeRotation] = await all(bob.inbox());
    expect(withFile).toMatchObject({ id: fixture.messages.withFile.id, readable: true, text: 'Grüße, Bob — 🔐 after the rotation', sentAt: '2025-11-18T08:15:00.000Z' });
    expect(withFile!.attachment?.name).toBe('résumé ✓.pdf');
    expect(withFile!.attachment?.mime).toBe('application/pdf');
    expect(Buffer.from(withFile!.attachment!.data)).toEqual(fixture.attachment);
    expect(beforeRotation).toMatchObject({ id: fixture.messages.beforeRotation.id, readable: false, text: null });
    expect(beforeRotation!.readable ? '' : beforeRotation!.reason).toMatch(/does not open with your key version 1/);
  });

  it('resumes an old token, reads the inbox, and shows its own old mail as having no sender copy', async () => {
    const { alice } = fixture.users;
    const client = new SecureChatClient({ baseUrl: server.url, mode: 'server', session: { token: fixture.tokens.alice, user: { id: alice.id, username: 'alice' } } });
    await client.unlock(alice.password);
    const inbox = await all(client.inbox());
    expect(inbox.map((m) => [m.id, m.readable, m.text])).toEqual([
      [fixture.messages.fromCarol.id, true, 'carol here'],
      [fixture.messages.fromZoe.id, true, 'from zoë'],
      [fixture.messages.toAlice.id, true, 'hello alice\nsecond line'],
    ]);
    expect(inbox[1]!.sender.username).toBe('Zoë');
    const sent = await all(client.sent());
    expect(sent.map((m) => m.id)).toEqual([fixture.messages.fileOnly.id, fixture.messages.withFile.id, fixture.messages.beforeRotation.id]);
    for (const m of sent) expect(m).toMatchObject({ readable: false, noSenderCopy: true, reason: NO_SENDER_COPY, text: null });
    expect(NO_SENDER_COPY).toBe('sent before SecureChat: no copy for the sender');
    // A message sent now has its sender copy.
    const now = await client.send('carol', { text: 'sent from SecureChat' });
    const read = await client.read(now.id);
    expect(read).toMatchObject({ readable: true, text: 'sent from SecureChat' });
    expect('noSenderCopy' in read).toBe(false);
  });
});

describe('the CLI on imported accounts (--mode server)', () => {
  it('reads the inbox and saves an attachment byte for byte', async () => {
    const { bob } = fixture.users;
    expect(await ok('bob', ['login', 'bob', '--mode', 'server'], `${bob.password}\n`)).toMatch(/Logged in as bob/);
    const inbox = await json('bob', ['inbox'], `${bob.password}\n`);
    expect(inbox.map((m: { id: number; readable: boolean; text: string | null }) => [m.id, m.readable, m.text])).toEqual([
      [fixture.messages.withFile.id, true, 'Grüße, Bob — 🔐 after the rotation'],
      [fixture.messages.beforeRotation.id, false, null],
    ]);
    const table = await ok('bob', ['inbox'], `${bob.password}\n`);
    expect(table).toMatch(/alice .*Grüße, Bob — 🔐 after the rotation\s+résumé ✓\.pdf 2\.9 KiB/);
    expect(table).toMatch(/\(cannot be decrypted: its wrapped key does not open with your key version 1\)/);
    const downloads = join(dir, 'downloads');
    const read = await json('bob', ['read', String(fixture.messages.withFile.id), '--save', downloads], `${bob.password}\n`);
    expect(read).toMatchObject({ text: 'Grüße, Bob — 🔐 after the rotation', sender: 'alice', sent_at: '2025-11-18T08:15:00.000Z' });
    expect(readFileSync(read.saved_to)).toEqual(fixture.attachment);
  });

  it('shows the sender\'s own old mail as "sent before SecureChat: no copy for the sender", exit 0', async () => {
    const { alice } = fixture.users;
    await ok('alice', ['login', 'alice', '--mode', 'server'], `${alice.password}\n`);
    const sent = await ok('alice', ['sent'], `${alice.password}\n`);
    expect(sent).toMatch(/Zoë .*\(sent before SecureChat: no copy for the sender\)/);
    expect(sent).not.toMatch(/cannot be decrypted/);
    const read = await cli('alice', ['read', String(fixture.messages.withFile.id)], `${alice.password}\n`);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toMatch(/^Message #2 from alice to bob, 2025-11-18 08:15 UTC$/m);
    expect(read.stdout).toMatch(/^\(sent before SecureChat: no copy for the sender\)$/m);
    const asJson = await json('alice', ['read', String(fixture.messages.withFile.id)], `${alice.password}\n`);
    expect(asJson).toMatchObject({ readable: false, reason: 'sent before SecureChat: no copy for the sender', text: null });
    // Her inbox reads as always.
    const inbox = await json('alice', ['inbox'], `${alice.password}\n`);
    expect(inbox.map((m: { text: string }) => m.text)).toEqual(['carol here', 'from zoë', 'hello alice\nsecond line']);
  });

  it('logs in an imported non-ASCII name by its exact name, and prints a hostile one safely', async () => {
    const { zoe, alice } = fixture.users;
    expect(await ok('zoe', ['login', 'Zoë', '--mode', 'server'], `${zoe.password}\n`)).toMatch(/Logged in as Zoë/);
    const [fileOnly] = await json('zoe', ['inbox'], `${zoe.password}\n`);
    expect(fileOnly).toMatchObject({ sender: 'alice', recipient: 'Zoë', text: '', attachment: { name: 'note.txt', mime: 'text/plain', size: 11 } });
    const users = await ok('alice', ['users'], `${alice.password}\n`);
    expect(users).toMatch(/Zoë\s+3\s+v1/);
    expect(users).toContain('eve\uFFFDtxt.exe');
    expect(users).not.toContain('\u202E');
  });
});
