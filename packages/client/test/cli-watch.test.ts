/**
 * `securechat watch` as a real process against a scripted realtime server:
 * --json is one object per line, human output is read's layout and
 * terminal-safe, status lines go to stderr, a reconnect resumes without
 * repeating a message, Ctrl-C exits 0 and a revoked session exits 3.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecureChatClient } from '../src/index.ts';
import { startFakeRealtimeServer, type FakeRealtimeServer } from './fake-realtime-server.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';
import { BOB, makeFixtures, PASSWORD, type Fixtures } from './realtime-fixtures.ts';
import { startCli, type RunningCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'securechat-watch-'));
let fake: FakeRealtimeServer;
let fixtures: Fixtures;
const running: RunningCli[] = [];

beforeAll(async () => {
  fixtures = await makeFixtures();
});
afterEach(() => {
  for (const cli of running.splice(0)) cli.signal('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function watch(args: string[]): RunningCli {
  const profile = join(dir, `bob-${Date.now()}.json`);
  writeFileSync(profile, JSON.stringify({ server: fake.url, mode: 'e2e', user: BOB, token: 'bob-token' }), { mode: 0o600 });
  const cli = startCli(['watch', ...args], `${PASSWORD}\n`, { SECURECHAT_CONFIG: profile });
  running.push(cli);
  return cli;
}

const messageEvent = (message: unknown) => ({ type: 'message', mailbox: 'inbox', message });
const lines = (text: string) => text.split('\n').filter((l) => l !== '');
const HOSTILE = 'hi\u001b[2J there \u202Efdp.exe\u009b31m\r\nline two';

describe('securechat watch (scripted server)', () => {
  beforeEach(async () => {
    fake = await startFakeRealtimeServer();
    fake.envelopes.push(fixtures.bobEnvelopes[0]!);
  });
  afterEach(() => fake.close());

  it('--json: one object per line, exact values escaped; survives a reconnect without repeating; Ctrl-C exits 0', async () => {
    const cli = watch(['--json', '--after', '0']);
    const first = await fake.nextConnection();
    expect(await first.auth).toEqual({ type: 'auth', token: 'bob-token', after_id: 0 });
    first.send(messageEvent(await fixtures.mail(fake, 1, HOSTILE)));
    first.send(messageEvent(await fixtures.mail(fake, 2, 'with a file', { attachment: new Uint8Array([1, 2, 3]), name: 'a\u202Etxt.exe', mime: 'text/plain' })));
    first.send({ type: 'ready', last_id: 2 });
    first.send(messageEvent(await fixtures.mail(fake, 3, 'live one')));
    await cli.until(({ stdout }) => lines(stdout).length === 3);
    await cli.until(({ stderr }) => /connected to http:\/\/127\.0\.0\.1:\d+ as bob/.test(stderr));

    first.close(1001, 'server shutting down');
    await cli.until(({ stderr }) => stderr.includes('reconnecting…'));
    const second = await fake.nextConnection();
    expect((await second.auth).after_id).toBe(3);
    second.send(messageEvent(await fixtures.mail(fake, 3, 'live one'))); // was in flight: sent again
    second.send(messageEvent(await fixtures.mail(fake, 4, 'sent while away')));
    second.send({ type: 'ready', last_id: 4 });
    await cli.until(({ stdout, stderr }) => lines(stdout).length === 4 && /\nconnected\n/.test(stderr));

    cli.signal('SIGINT');
    expect(await cli.exit).toBe(0);
    const out = cli.stdout();
    expect(out).not.toMatch(/[\u001b\u009b\u202e\r]/); // escaped, not raw
    const rows = lines(out).map((l) => JSON.parse(l));
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    expect(rows[0]).toEqual({
      id: 1, mailbox: 'inbox', sender: 'alice', recipient: 'bob', sent_at: '2026-11-25T17:56:00.000Z', readable: true, text: HOSTILE, attachment: null,
      // The scripted mail is unsigned (B 11).
      signature: 'unsigned', key_change: 'none', verified: false, replay_of: null, trust_problem: 'it is unsigned: nothing proves who wrote it',
    });
    expect(rows[1].attachment).toEqual({ name: 'a\u202Etxt.exe', mime: 'text/plain' });
    expect(rows.map((r) => r.text).slice(2)).toEqual(['live one', 'sent while away']);
    expect(cli.stderr()).not.toContain(PASSWORD);
  });

  it("prints read's layout, terminal-safe, and exits 3 when the session is revoked", async () => {
    const cli = watch([]);
    const conn = await fake.nextConnection();
    expect(await conn.auth).toEqual({ type: 'auth', token: 'bob-token' }); // no --after: live only
    conn.send({ type: 'ready', last_id: 0 });
    conn.send(messageEvent(await fixtures.mail(fake, 5, HOSTILE, { attachment: new Uint8Array(10), name: 'evil\u001b]0;x.pdf' })));
    const garbage = { ...(await fixtures.mail(fake, 6, 'x')), encrypted_symmetric_key: 'AAAA' };
    conn.send(messageEvent(garbage));
    await cli.until(({ stdout }) => stdout.includes('#6'));
    conn.send({ type: 'session_revoked' });
    conn.close(4401);
    expect(await cli.exit).toBe(3);
    expect(cli.stdout()).toBe(
      [
        'Message #5 from alice to bob, 2026-11-25 17:56 UTC',
        '? Unsigned: nothing proves that alice wrote this.',
        'hi\uFFFD[2J there \uFFFDfdp.exe\uFFFD31m',
        'line two',
        'Attachment: evil\uFFFD]0;x.pdf (application/pdf) — securechat read 5 --save DIR saves it',
        '',
        'Message #6 from alice to bob, 2026-11-25 17:56 UTC',
        '? Unsigned: nothing proves that alice wrote this.',
        '(cannot be decrypted: its wrapped key does not open with your key version 1)',
        '',
        '',
      ].join('\n'),
    );
    expect(cli.stderr()).toMatch(/This session was revoked\.\nsecurechat: The server refused the session token .*log in again\.\n$/);
  });

  it('a wrong password exits 3, a bad --after 2, before connecting', async () => {
    const profile = join(dir, 'wrong.json');
    writeFileSync(profile, JSON.stringify({ server: fake.url, mode: 'e2e', user: BOB, token: 'bob-token' }));
    const cli = startCli(['watch'], 'not-the-password\n', { SECURECHAT_CONFIG: profile });
    running.push(cli);
    expect(await cli.exit).toBe(3);
    const badAfter = startCli(['watch', '--after', 'abc'], `${PASSWORD}\n`, { SECURECHAT_CONFIG: profile });
    running.push(badAfter);
    expect(await badAfter.exit).toBe(2);
    expect(badAfter.stderr()).toMatch(/--after must be a positive whole number/);
    expect(fake.connectionCount()).toBe(0);
  });
});

describe('securechat watch (real server)', () => {
  const env = { DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` };
  let server: LiveServer;

  beforeAll(async () => {
    server = await startLiveServer(env);
  });
  afterAll(() => server.close());

  it('--json prints one line per message, decrypted, and survives a server restart without repeating one', async () => {
    const [alice, bob] = [0, 1].map(() => new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 }));
    await Promise.all([alice!.register('watch-alice', 'alice-password'), bob!.register('watch-bob', 'bob-password')]);
    const profile = join(dir, 'watch-bob.json');
    writeFileSync(profile, JSON.stringify({ server: server.url, mode: 'e2e', user: bob!.user, token: bob!.token }), { mode: 0o600 });
    const cli = startCli(['watch', '--json'], 'bob-password\n', { SECURECHAT_CONFIG: profile });
    running.push(cli);
    await cli.until(({ stderr }) => stderr.includes('connected to'));

    const texts = ['one', 'two: héllo 👋\nsecond line \u001b[2J'];
    for (const text of texts) await alice!.send('watch-bob', { text });
    await cli.until(({ stdout }) => lines(stdout).length === 2);

    const port = Number(new URL(server.url).port);
    await server.close();
    await cli.until(({ stderr }) => stderr.includes('reconnecting…'));
    server = await startLiveServer(env, { port });
    texts.push('three, after the restart');
    await alice!.send('watch-bob', { text: texts[2] });
    await cli.until(({ stdout, stderr }) => lines(stdout).length === 3 && /\nconnected\n/.test(stderr));
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up

    cli.signal('SIGINT');
    expect(await cli.exit).toBe(0);
    const rows = lines(cli.stdout()).map((l) => JSON.parse(l));
    expect(rows.map((r) => r.text)).toEqual(texts);
    expect(new Set(rows.map((r) => r.id)).size).toBe(3);
    expect(rows.every((r) => r.mailbox === 'inbox' && r.sender === 'watch-alice' && r.readable === true)).toBe(true);
  });
});
