/**
 * The real `securechat` process against a real listening server: two users
 * register, exchange a text and a file, read them back, rotate, read an old
 * message, change a password and revoke a session.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMON_PASSWORD_DETAIL } from '@securechat/protocol';
import { SecureChatClient } from '../src/index.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';
import { runCli, type Run } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'securechat-cli-'));
let server: LiveServer;

function cli(profile: string, args: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  return runCli(args, stdin, { SECURECHAT_SERVER: server.url, SECURECHAT_CONFIG: join(dir, `${profile}.json`), ...env });
}

async function ok(profile: string, args: string[], stdin = ''): Promise<string> {
  const run = await cli(profile, args, stdin);
  expect(run.code, `securechat ${args.join(' ')}\n${run.stderr}`).toBe(0);
  return run.stdout;
}

const json = async (profile: string, args: string[], stdin = '') => JSON.parse(await ok(profile, ['--json', ...args], stdin));

beforeAll(async () => {
  server = await startLiveServer();
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('securechat CLI', () => {
  it('two users exchange a text and a file, rotate, change a password and revoke a session', async () => {
    expect(await ok('alice', ['register', 'alice'], 'alice-password\n')).toMatch(/Registered and logged in as alice/);
    await ok('bob', ['register', 'bob'], 'bob-password-1\n');
    const profile = join(dir, 'alice.json');
    expect(statSync(profile).mode & 0o777).toBe(0o600);
    expect(readFileSync(profile, 'utf8')).not.toContain('alice-password');

    expect(await ok('alice', ['users'])).toMatch(/bob\s+\d+\s+v1\s+[0-9a-f]{4}(?: [0-9a-f]{4}){15}/);
    // Sends are signed: the password opens the signing key (asked for only when needed).
    expect(await ok('alice', ['send', 'bob', 'Hello Bob, text only'], 'alice-password\n')).toMatch(/Sent message #\d+ to bob/);
    const file = join(dir, 'report.pdf');
    const fileBytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    writeFileSync(file, fileBytes);
    const sentFile = await json('alice', ['send', 'bob', 'the report', '--file', file], 'alice-password\n');

    const inbox = await json('bob', ['inbox'], 'bob-password-1\n');
    expect(inbox.map((m: { text: string }) => m.text)).toEqual(['the report', 'Hello Bob, text only']);
    expect(inbox[0].attachment).toEqual({ name: 'report.pdf', mime: 'application/pdf', size: 70_000 });
    const table = await ok('bob', ['inbox'], 'bob-password-1\n');
    expect(table).toMatch(/ID\s+FROM\s+SENT/);
    expect(table).toMatch(/alice.*the report.*report\.pdf 68\.4 KiB/);

    const downloads = join(dir, 'downloads');
    const read = await json('bob', ['read', String(sentFile.id), '--save', downloads], 'bob-password-1\n');
    expect(read.saved_to).toBe(join(downloads, 'report.pdf'));
    expect(readFileSync(read.saved_to).equals(fileBytes)).toBe(true);
    // Saving again never overwrites.
    const again = await json('bob', ['read', String(sentFile.id), '--save', downloads], 'bob-password-1\n');
    expect(again.saved_to).toBe(join(downloads, 'report (1).pdf'));

    const sent = await json('alice', ['sent'], 'alice-password\n');
    expect(sent.map((m: { text: string }) => m.text)).toEqual(['the report', 'Hello Bob, text only']);

    // Rotation: the old message still reads, the new one uses key v2.
    expect(await ok('bob', ['rotate'], 'bob-password-1\n')).toMatch(/New key version 2 is current/);
    await ok('alice', ['send', 'bob', 'after rotation'], 'alice-password\n');
    expect((await json('bob', ['read', String(sentFile.id)], 'bob-password-1\n')).text).toBe('the report');
    expect((await json('bob', ['inbox', '--limit', '1'], 'bob-password-1\n'))[0].text).toBe('after rotation');
    expect((await json('bob', ['keys'])).map((k: { key_id: number }) => k.key_id)).toEqual([2, 1]);

    // A second session, listed and revoked from the first.
    await ok('bob-laptop', ['login', 'bob'], 'bob-password-1\n');
    const sessions = await json('bob', ['sessions']);
    expect(sessions).toHaveLength(2);
    const laptop = sessions.find((s: { current: boolean }) => !s.current);
    expect(await ok('bob', ['revoke', String(laptop.id)])).toMatch(/revoked/);
    const revoked = await cli('bob-laptop', ['whoami']);
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/token/i);

    // Password change: old and new on stdin, one per line.
    expect(await ok('bob', ['passwd'], 'bob-password-1\nbob-password-2\n')).toMatch(/Password changed; 2 key version/);
    expect((await cli('bob', ['inbox'], 'bob-password-1\n')).code).toBe(3);
    expect((await json('bob', ['inbox'], 'bob-password-2\n'))).toHaveLength(3);

    expect(await ok('bob', ['logout'])).toMatch(/Logged out bob/);
    expect((await cli('bob', ['whoami'])).code).toBe(3);
  });

  it('never saves an attachment outside the chosen directory', async () => {
    const mallory = new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 });
    await mallory.register('mallory', 'mallory-password');
    await ok('victim', ['register', 'victim'], 'victim-password\n');
    const evil = await mallory.send('victim', { text: 'look', attachment: { data: new TextEncoder().encode('pwned'), name: '../../escaped.txt' } });
    const dotfile = await mallory.send('victim', { attachment: { data: new TextEncoder().encode('x'), name: '/etc/.bashrc' } });
    const target = join(dir, 'victim-downloads', 'inner');
    const first = await json('victim', ['read', String(evil.id), '--save', target], 'victim-password\n');
    expect(first.saved_to).toBe(join(target, 'escaped.txt'));
    const second = await json('victim', ['read', String(dotfile.id), '--save', target], 'victim-password\n');
    expect(second.saved_to).toBe(join(target, 'bashrc'));
    expect(readdirSync(join(dir, 'victim-downloads'))).toEqual(['inner']);
    expect(readdirSync(dir)).not.toContain('escaped.txt');
  });

  it('gives scripts clear messages and exit codes', async () => {
    await ok('carol', ['register', 'carol'], 'carol-password\n');
    const unknownUser = await cli('carol', ['send', 'nobody-here', 'hi']);
    expect(unknownUser.code).toBe(4);
    expect(unknownUser.stderr).toMatch(/^securechat: User not found\./);

    const wrongPassword = await cli('carol', ['inbox'], 'not-my-password\n');
    expect(wrongPassword.code).toBe(3);

    const noPassword = await cli('carol', ['inbox'], '');
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/No password given/);

    const passwordInArgv = await cli('carol', ['login', 'carol', '--password', 'carol-password']);
    expect(passwordInArgv.code).toBe(2);

    const unreachable = await cli('carol', ['users'], '', { SECURECHAT_SERVER: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(7);
    expect(unreachable.stderr).toMatch(/Cannot reach the SecureChat server at http:\/\/127\.0\.0\.1:9/);

    const badId = await cli('carol', ['read', 'abc'], 'carol-password\n');
    expect(badId.code).toBe(2);

    const notLoggedIn = await cli('nobody', ['inbox']);
    expect(notLoggedIn.code).toBe(3);
    expect(notLoggedIn.stderr).toMatch(/Not logged in/);

    const tooShort = await cli('dave', ['register', 'dave'], 'short\n');
    expect(tooShort.code).toBe(5);
    expect(tooShort.stderr).toMatch(/Password must be 8 to 1024 characters/);

    // Common passwords are refused by the client itself (the server only sees a login secret in e2e mode).
    const common = await cli('dave', ['register', 'dave'], 'Password123\n');
    expect(common.code).toBe(5);
    expect(common.stderr).toBe(`securechat: ${COMMON_PASSWORD_DETAIL}\n`);
    const commonNew = await cli('carol', ['passwd'], 'carol-password\npassword123\n');
    expect(commonNew.code).toBe(5);
    expect(commonNew.stderr).toBe(`securechat: ${COMMON_PASSWORD_DETAIL}\n`);

    const fromEnv = await cli('carol', ['--json', 'inbox'], '', { SECURECHAT_PASSWORD: 'carol-password' });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toEqual([]);

    // The text on stdin, so the password (for the signing key) from the environment.
    const piped = await cli('carol', ['send', 'carol'], 'a note piped on stdin\n', { SECURECHAT_PASSWORD: 'carol-password' });
    expect(piped.code).toBe(0);
    expect((await json('carol', ['inbox'], 'carol-password\n'))[0].text).toBe('a note piped on stdin');
  });
});
