/**
 * The real `securechat` process against a hostile server (a proxy in front
 * of a real one that rewrites its answers) and hostile senders: an unusable
 * key, an undecryptable message, and escape sequences, C1 and bidi controls
 * in everything a server or sender chooses.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '@securechat/protocol';
import { SecureChatClient } from '../src/index.ts';
import { startHostileProxy, type HostileProxy } from './hostile-proxy.ts';
import { startLiveServer, type LiveServer } from './live-server.ts';
import { runCli } from './run-cli.ts';

const PASSWORD = 'pass-phrase-1';
const dir = mkdtempSync(join(tmpdir(), 'securechat-cli-hostile-'));
/** What must never reach the terminal raw (newline and tab may: they separate lines and cells). */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
let server: LiveServer;
let proxy: HostileProxy;
let n = 0;

beforeAll(async () => {
  server = await startLiveServer();
  proxy = await startHostileProxy(server.url);
});
beforeEach(() => proxy.reset());
afterAll(async () => {
  await proxy.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A user registered through the SDK, with a CLI profile pointing at the hostile proxy. */
async function account(prefix: string) {
  const client = new SecureChatClient({ baseUrl: server.url, kdfIterations: 100_000 });
  const { user, token } = await client.register(`${prefix}${++n}`, PASSWORD);
  const config = join(dir, `${user.username}.json`);
  writeFileSync(config, JSON.stringify({ server: proxy.url, mode: 'e2e', user, token }), { mode: 0o600 });
  const cli = (args: string[], stdin = '') => runCli(args, stdin, { SECURECHAT_CONFIG: config, SECURECHAT_SERVER: proxy.url });
  return { client, name: user.username, cli };
}

/** Applies `change` to every object (or list of objects) the proxy answers at that path. */
function tamperEach<T>(path: string, change: (item: T) => T) {
  proxy.tamper(path, (body) => (Array.isArray(body) ? body.map(change) : body && typeof body === 'object' ? change(body) : body));
}

describe('an unusable public key', () => {
  it('is shown as such in users, and send to its owner fails clearly without sending', async () => {
    const [alice, bob, mallory] = await Promise.all([account('alice'), account('bob'), account('mallory')]);
    tamperEach<{ user: { username: string }; public_key: string }>('/api/users/', (entry) =>
      entry.user?.username === mallory.name ? { ...entry, public_key: `junk\n${entry.public_key}` } : entry,
    );

    const users = await alice.cli(['users']);
    expect(users.code).toBe(0);
    expect(users.stdout).toMatch(new RegExp(`${bob.name}\\s+\\d+\\s+v1\\s+[0-9a-f]{4}(?: [0-9a-f]{4}){15}\\n`));
    expect(users.stdout).toMatch(new RegExp(`${mallory.name}\\s+\\d+\\s+v1\\s+unusable key: it is not exactly one PEM PUBLIC KEY block\\n`));
    const listed = JSON.parse((await alice.cli(['--json', 'users'])).stdout);
    expect(listed.find((u: { username: string }) => u.username === mallory.name)).toMatchObject({ fingerprint: null, key_error: 'it is not exactly one PEM PUBLIC KEY block' });
    expect(listed.find((u: { username: string }) => u.username === bob.name)).toMatchObject({ fingerprint: expect.stringMatching(/^[0-9a-f]{4}( [0-9a-f]{4}){15}$/), key_error: null });

    const send = await alice.cli(['send', mallory.name, 'hello']);
    expect(send.code).toBe(7);
    expect(send.stderr).toBe(`securechat: ${mallory.name}'s public key is unusable: it is not exactly one PEM PUBLIC KEY block. Nothing was sent.\n`);
    expect(proxy.requests.filter((r) => r.startsWith('POST /api/messages/send/'))).toEqual([]);
  });
});

describe('a message that cannot be decrypted', () => {
  it('is listed as unreadable by inbox and sent, and read says so with exit 7; a wrong password is still exit 3', async () => {
    const [alice, victim] = await Promise.all([account('alice'), account('victim')]);
    const first = await alice.client.send(victim.name, { text: 'first' });
    const broken = await alice.client.send(victim.name, { text: 'broken' });
    const garbage = randomBytes(256).toString('base64');
    tamperEach<Message>('/api/messages/', (m) => (m.id === broken.id ? { ...m, encrypted_symmetric_key: garbage, sender_encrypted_symmetric_key: garbage } : m));
    const reason = 'its wrapped key does not open with your key version 1';

    const inbox = await victim.cli(['inbox'], `${PASSWORD}\n`);
    expect(inbox.code).toBe(0);
    expect(inbox.stdout).toMatch(new RegExp(`${broken.id}\\s+${alice.name}\\s+\\S+ \\S+\\s+\\(cannot be decrypted: ${reason}\\)\\n`));
    expect(inbox.stdout).toMatch(new RegExp(`${first.id}\\s+${alice.name}\\s+\\S+ \\S+\\s+first`));
    // The broken message is the newest: even a page of one still works.
    const newest = JSON.parse((await victim.cli(['--json', 'inbox', '--limit', '1'], `${PASSWORD}\n`)).stdout);
    expect(newest).toEqual([
      {
        id: broken.id, sender: alice.name, recipient: victim.name, sent_at: broken.sent_at, readable: false, reason, text: null, attachment: null,
        // The wrapped keys are signed too: the tampering shows in the signature as well (B 11).
        signature: 'invalid', key_change: 'none', verified: false, replay_of: null, trust_problem: expect.stringMatching(/signature does not match/),
      },
    ]);
    const sent = JSON.parse((await alice.cli(['--json', 'sent'], `${PASSWORD}\n`)).stdout);
    expect(sent.map((m: { readable: boolean; text: string | null }) => [m.readable, m.text])).toEqual([[false, null], [true, 'first']]);

    const read = await victim.cli(['read', String(broken.id)], `${PASSWORD}\n`);
    expect(read.code).toBe(7);
    expect(read.stdout).toMatch(new RegExp(`^Message #${broken.id} from ${alice.name} to ${victim.name}, \\S+ \\S+ UTC\\n! NOT VERIFIED — the signature is invalid: .*\\n$`));
    expect(read.stderr).toBe(`securechat: Message #${broken.id} cannot be decrypted: ${reason}.\n`);
    const readJson = await victim.cli(['--json', 'read', String(broken.id)], `${PASSWORD}\n`);
    expect(readJson.code).toBe(7);
    expect(JSON.parse(readJson.stdout)).toMatchObject({ id: broken.id, readable: false, reason, text: null, saved_to: null });
    expect((await victim.cli(['read', String(first.id)], `${PASSWORD}\n`)).stdout).toMatch(/\n\nfirst\n$/);

    const wrongPassword = await victim.cli(['inbox'], 'not-the-password\n');
    expect(wrongPassword.code).toBe(3);
    expect(wrongPassword.stderr).toBe('securechat: The password does not open any of your keys.\n');
  });
});

describe('text chosen by a sender or the server', () => {
  const ESC = '\u001b';
  const text = `Hi${ESC}[2J${ESC}]0;owned\u0007 \u009b31m\u202Egnp.exe\r\nline two\twith tab\rOVERWRITE`;
  const shownText = 'Hi\uFFFD[2J\uFFFD]0;owned\uFFFD \uFFFD31m\uFFFDgnp.exe\nline two\twith tab\uFFFDOVERWRITE';
  const senderName = `mal${ESC}[31mlory\u202E`;
  const shownSender = 'mal\uFFFD[31mlory\uFFFD';

  it('is printed with every control replaced, in tables, read, errors and JSON', async () => {
    const [mallory, victim] = await Promise.all([account('mallory'), account('victim')]);
    const sent = await mallory.client.send(victim.name, { text, attachment: { data: new TextEncoder().encode('%PDF'), name: 'plain.txt', mime: 'text/plain' } });
    tamperEach<Message>('/api/messages/', (m) => ({
      ...m,
      sender: { ...m.sender, username: senderName },
      attachment_name: 'invoice\u202Efdp.exe',
      attachment_mime: `application/pdf${ESC}]8;;http://evil.example${ESC}\\`,
    }));
    tamperEach<{ user_agent: string }>('/api/auth/sessions/', (s) => ({ ...s, user_agent: `${ESC}]8;;http://evil.example\u0007click\u009b2J` }));
    tamperEach<{ user: { username: string } }>('/api/users/', (u) => (u.user ? { ...u, user: { ...u.user, username: `${u.user.username}${ESC}[2J\u2066` } } : u));
    proxy.tamper('/api/users/nobody', (body, status) => (status === 404 ? { detail: `User not found.${ESC}]0;pwned\u0007\u202E`, errors: { [`user${ESC}`]: ['\u009b1m'] } } : body));

    const inbox = await victim.cli(['inbox'], `${PASSWORD}\n`);
    expect(inbox.code).toBe(0);
    expect(inbox.stdout).not.toMatch(UNSAFE);
    expect(inbox.stdout).toMatch(new RegExp(`${sent.id}\\s+${escapeRegExp(shownSender)}\\s+\\S+ \\S+\\s+Hi\uFFFD\\[2J\uFFFD\\]0;owned\uFFFD \uFFFD31m\uFFFDgnp\\.exe\\s+invoice\uFFFDfdp\\.exe 4 B\\n`));

    const downloads = join(dir, 'downloads');
    const read = await victim.cli(['read', String(sent.id), '--save', downloads], `${PASSWORD}\n`);
    expect(read.code).toBe(0);
    expect(read.stdout).not.toMatch(UNSAFE);
    expect(read.stdout).toContain(`from ${shownSender} to ${victim.name}`);
    expect(read.stdout).toContain(`\n\n${shownText}\n\n`);
    expect(read.stdout).toContain(`Attachment: invoice\uFFFDfdp.exe (application/pdf\uFFFD]8;;http://evil.example\uFFFD\\, 4 B) saved to ${join(downloads, 'invoice_fdp.exe')}\n`);
    expect(readdirSync(downloads)).toEqual(['invoice_fdp.exe']);

    // --json keeps the exact values, with every control escaped.
    const json = await victim.cli(['--json', 'inbox'], `${PASSWORD}\n`);
    expect(json.stdout).not.toMatch(UNSAFE);
    expect(json.stdout).toContain('\\u009b31m\\u202egnp.exe');
    expect(JSON.parse(json.stdout)[0]).toMatchObject({ sender: senderName, text, attachment: { name: 'invoice\u202Efdp.exe' } });

    const users = await victim.cli(['users']);
    expect(users.stdout).not.toMatch(UNSAFE);
    expect(users.stdout).toContain(`${mallory.name}\uFFFD[2J\uFFFD `);
    const sessions = await victim.cli(['sessions']);
    expect(sessions.stdout).not.toMatch(UNSAFE);
    expect(sessions.stdout).toContain('\uFFFD]8;;http://evil.example\uFFFDclick\uFFFD2J');
    const error = await victim.cli(['send', 'nobody', 'hi']);
    expect(error.code).toBe(4);
    expect(error.stderr).toBe('securechat: User not found.\uFFFD]0;pwned\uFFFD\uFFFD\n  user\uFFFD: \uFFFD1m\n');

    tamperEach<{ public_key: string; created_at: string }>('/api/keys/', (k) => ({ ...k, public_key: `${ESC}[2J`, created_at: `2026-01-01T00:00${ESC}[5m` }));
    const keys = await victim.cli(['keys']);
    expect(keys.code).toBe(0);
    expect(keys.stdout).toMatch(/v1 \(current\)\s+2026-01-01 00:00\s+100000\s+\(unusable key\)\n/);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
