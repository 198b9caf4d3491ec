/**
 * The CLI and B 11 against a real server: `verify` prints the same 60-digit
 * safety number on both sides and `--confirm` marks the contact verified;
 * `users`, `inbox`, `read` and `watch` mark what is not verified; pins live in
 * the profile file and survive logout. Forgeries are in forgery.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SecureChatClient } from '../src/index.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';
import { runCli, startCli, type Run, type RunningCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'securechat-cli-trust-'));
let server: LiveServer;
const running: RunningCli[] = [];
const PASSWORDS = { alice: 'copper-lantern-71-tide', bob: 'violet-anchor-28-moss', legacy: 'granite-sparrow-55-fern' };

function cli(profile: string, args: string[], stdin = '', env: Record<string, string> = {}): Promise<Run> {
  return runCli(args, stdin, { SECURECHAT_SERVER: server.url, SECURECHAT_CONFIG: join(dir, `${profile}.json`), ...env });
}

async function ok(profile: string, args: string[], stdin = ''): Promise<string> {
  const run = await cli(profile, args, stdin);
  expect(run.code, `securechat ${args.join(' ')}\n${run.stderr}`).toBe(0);
  return run.stdout;
}

const SAFETY_NUMBER = /\b(\d{5}(?: \d{5}){11})\b/;

beforeAll(async () => {
  server = await startLiveServer();
  await ok('alice', ['register', 'trust-alice'], `${PASSWORDS.alice}\n`);
  await ok('bob', ['register', 'trust-bob'], `${PASSWORDS.bob}\n`);
  await ok('legacy', ['register', 'trust-legacy', '--mode', 'server'], `${PASSWORDS.legacy}\n`);
});
afterEach(() => {
  for (const run of running.splice(0)) run.signal('SIGKILL');
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('securechat verify', () => {
  it('prints the same 60 digits on both sides, says how to compare them, and --confirm marks the contact verified', async () => {
    const fromAlice = await ok('alice', ['verify', 'trust-bob']);
    const fromBob = await ok('bob', ['verify', 'trust-alice']);
    const number = SAFETY_NUMBER.exec(fromAlice)?.[1];
    expect(number).toBeDefined();
    expect(SAFETY_NUMBER.exec(fromBob)?.[1]).toBe(number);
    expect(fromAlice).toBe(
      [
        'Safety number of you (trust-alice) and trust-bob:',
        '',
        `    ${number}`,
        '',
        "Compare it with the number trust-bob sees (securechat verify trust-alice, or the web client's verification screen), in person or on a call.",
        'trust-bob\'s key: version 1, the one you first saw.',
        'If all 60 digits match, run: securechat verify trust-bob --confirm',
        '',
      ].join('\n'),
    );

    expect(await ok('alice', ['users'])).toMatch(/^ +trust-bob\s+\d+\s+v1\s/m); // pinned, not verified yet
    expect(await ok('alice', ['verify', 'trust-bob', '--confirm'])).toMatch(/\ntrust-bob is now marked verified\.\n$/);
    const users = await ok('alice', ['users']);
    expect(users).toMatch(/^✓\s+trust-bob\s+\d+\s+v1\s/m);
    expect(users).toMatch(/^\?\s+trust-legacy\s+\d+\s+v1\s/m); // a server-mode account has no signing key
    expect(users).toMatch(/\nMarks: \? no signing key: their messages are unsigned\n {7}✓ safety number confirmed\n$/);
    const listed = JSON.parse(await ok('alice', ['--json', 'users']));
    expect(listed.find((u: { username: string }) => u.username === 'trust-bob')).toMatchObject({ key_change: 'none', signs: true, verified: true, trust_problem: null });
    expect(JSON.parse(await ok('alice', ['--json', 'verify', 'trust-bob']))).toEqual({
      username: 'trust-bob', safety_number: number, key_id: 1, key_change: 'none', verified: true, trust_problem: null,
    });

    // Bob rotates: the chain vouches for his new key, so he stays verified and the number stays the same.
    await ok('bob', ['rotate'], `${PASSWORDS.bob}\n`);
    const afterRotation = await ok('alice', ['verify', 'trust-bob']);
    expect(afterRotation).toContain(`    ${number}\n`);
    expect(afterRotation).toMatch(/trust-bob's key: version 2; each change since the key you first saw was vouched for by the key before it\.\ntrust-bob is verified: you confirmed this safety number on .* UTC\.\n$/);
  });

  it('refuses yourself, and a contact without a signing key with exit 8 and a sentence', async () => {
    const self = await cli('alice', ['verify', 'trust-alice']);
    expect(self.code).toBe(2);
    expect(self.stderr).toBe('securechat: That is you: compare safety numbers with someone else.\n');
    const legacy = await cli('alice', ['verify', 'trust-legacy']);
    expect(legacy.code).toBe(8);
    expect(legacy.stderr).toMatch(/^securechat: trust-legacy has no signing key \(a server-mode account, or one from before signatures\), so there is no safety number to compare/);
  });
});

describe('marks on messages', () => {
  it('inbox and read mark an unsigned message and leave a signed one unmarked; --json has signature and key_change', async () => {
    await ok('alice', ['send', 'trust-bob', 'signed by alice'], `${PASSWORDS.alice}\n`);
    await ok('legacy', ['send', 'trust-bob', 'from a server-mode account']);
    const inbox = await ok('bob', ['inbox'], `${PASSWORDS.bob}\n`);
    expect(inbox).toMatch(/^\?\s+\d+\s+trust-legacy\s+.*from a server-mode account$/m);
    expect(inbox).toMatch(/^ +\d+\s+trust-alice\s+.*signed by alice$/m);
    expect(inbox).toMatch(/\nMarks: \? unsigned: nothing proves who wrote it\n$/);
    const rows = JSON.parse(await ok('bob', ['--json', 'inbox'], `${PASSWORDS.bob}\n`));
    expect(rows.map((r: Record<string, unknown>) => [r.text, r.signature, r.key_change, r.verified])).toEqual([
      ['from a server-mode account', 'unsigned', 'none', false],
      ['signed by alice', 'valid', 'none', true],
    ]);
    const read = await ok('bob', ['read', String(rows[1].id)], `${PASSWORDS.bob}\n`);
    expect(read).toMatch(/^Message #\d+ from trust-alice to trust-bob, .* UTC\nSigned by trust-alice: valid\.\n\nsigned by alice\n$/);
    const unsigned = await ok('bob', ['read', String(rows[0].id)], `${PASSWORDS.bob}\n`);
    expect(unsigned).toMatch(/\n\? Unsigned: nothing proves that trust-legacy wrote this\.\n\nfrom a server-mode account\n$/);
  });

  it('watch prints a warning line for an unsigned message only, and --json carries signature and key_change', async () => {
    const human = startCli(['watch'], `${PASSWORDS.bob}\n`, { SECURECHAT_SERVER: server.url, SECURECHAT_CONFIG: join(dir, 'bob.json') });
    const json = startCli(['--json', 'watch'], `${PASSWORDS.bob}\n`, { SECURECHAT_SERVER: server.url, SECURECHAT_CONFIG: join(dir, 'bob.json') });
    running.push(human, json);
    await Promise.all([human, json].map((w) => w.until(({ stderr }) => stderr.includes('connected to'))));
    await ok('alice', ['send', 'trust-bob', 'live and signed'], `${PASSWORDS.alice}\n`);
    await ok('legacy', ['send', 'trust-bob', 'live and unsigned']);
    await human.until(({ stdout }) => stdout.includes('live and unsigned'));
    await json.until(({ stdout }) => stdout.includes('live and unsigned'));
    expect(human.stdout()).toMatch(/^Message #\d+ from trust-alice to trust-bob, .* UTC\nlive and signed\n\nMessage #\d+ from trust-legacy to trust-bob, .* UTC\n\? Unsigned: nothing proves that trust-legacy wrote this\.\nlive and unsigned\n\n$/);
    const events = json.stdout().trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => [e.text, e.signature, e.key_change])).toEqual([
      ['live and signed', 'valid', 'none'],
      ['live and unsigned', 'unsigned', 'none'],
    ]);
  });
});

describe('pins in the profile', () => {
  it('hold public keys only, and survive logout and login', async () => {
    const file = join(dir, 'alice.json');
    const before = JSON.parse(readFileSync(file, 'utf8'));
    const account = `${server.url} trust-alice`;
    expect(before.pins[account]['trust-bob']).toMatchObject({ username: 'trust-bob', signingPublicKey: expect.any(String), verifiedKey: expect.any(String) });
    expect(readFileSync(file, 'utf8')).not.toMatch(/PRIVATE|encrypted_/);

    expect(await ok('alice', ['logout'])).toMatch(/Logged out trust-alice/);
    expect((await cli('alice', ['whoami'])).code).toBe(3);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ pins: before.pins });
    await ok('alice', ['login', 'trust-alice'], `${PASSWORDS.alice}\n`);
    expect(JSON.parse(readFileSync(file, 'utf8')).pins).toEqual(before.pins);
    expect(await ok('alice', ['users'])).toMatch(/^✓\s+trust-bob\s/m);

    // An SDK client elsewhere that never saw bob still verifies his chain; the CLI's mark is the profile's.
    const elsewhere = new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 });
    await elsewhere.login('trust-alice', PASSWORDS.alice);
    expect(await elsewhere.contact('trust-bob')).toMatchObject({ keyChange: 'rotated', verified: false });
  });
});
