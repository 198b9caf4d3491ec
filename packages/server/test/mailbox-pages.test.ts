/**
 * A mailbox page carries at most PAGE_ATTACHMENT_BYTES of attachments and
 * ends early with its Link; large attachments are read one at a time as the
 * client takes the page, so a client that stops reading cannot make the
 * server hold a whole page of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '@securechat/protocol';
import { b64, call, register, send, startApp, type Account, type TestApp } from './helpers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
let dir: string;
let t: TestApp;
let alice: Account;
let bob: Account;
let carol: Account;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pages-'));
  // A database file: large attachments are read on the writer thread, as in production.
  t = await startApp({ DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`, PAGE_ATTACHMENT_BYTES: String(3 * MiB) });
  [alice, bob, carol] = [await register(t.app), await register(t.app), await register(t.app)];
});
afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every message of a mailbox, following the Link headers; and how many pages that took. */
async function walk(account: Account, url: string): Promise<{ messages: Message[]; pages: number }> {
  const messages: Message[] = [];
  let pages = 0;
  for (let next: string | undefined = url; next; pages++) {
    const res = await call(t.app, 'GET', next, { token: account.token });
    expect(res.statusCode).toBe(200);
    messages.push(...(res.json() as Message[]));
    next = /<([^>]+)>; rel="next"/.exec(String(res.headers.link ?? ''))?.[1];
  }
  return { messages, pages };
}

describe('pages bounded by attachment bytes', () => {
  let sent: Message[];

  beforeAll(async () => {
    // 1.2 MiB attachments: 1.6 MB of base64 each, so a 3 MiB page holds one... and a second would pass the budget.
    sent = [];
    for (let i = 0; i < 4; i++) sent.push(await send(t.app, alice, { recipient: bob.username, message: `file ${i}`, attachment_data: b64(Buffer.alloc(1.2 * MiB, i + 1)) }));
    sent.push(await send(t.app, alice, { recipient: bob.username, message: 'no file' }));
  });

  it('ends a page early with a Link, so that following links yields every message once, in order', async () => {
    const first = await call(t.app, 'GET', '/api/messages/?limit=50', { token: bob.token });
    expect(first.json()).toHaveLength(2); // the text-only message, then one attachment: the next would pass 3 MiB
    expect(first.headers.link).toMatch(/before_id=/);

    const { messages, pages } = await walk(bob, '/api/messages/?limit=50');
    expect(messages.map((m) => m.id)).toEqual(sent.map((m) => m.id).reverse());
    expect(pages).toBe(4);
    for (const message of messages) {
      const alone = await call(t.app, 'GET', `/api/messages/${message.id}/`, { token: bob.token });
      expect(alone.json()).toEqual(message);
    }
  });

  it('reads from the database only the messages the page sends', async () => {
    const messages = t.store.messages;
    const findByIds = messages.findByIds.bind(messages);
    const requested: number[] = [];
    messages.findByIds = (ids: number[]) => {
      requested.push(...ids);
      return findByIds(ids);
    };
    try {
      const res = await call(t.app, 'GET', '/api/messages/?direction=sent&limit=200', { token: alice.token });
      const sentIds = (res.json() as Message[]).map((m) => m.id);
      expect(sentIds).toHaveLength(2);
      expect(requested.every((id) => sentIds.includes(id))).toBe(true);
    } finally {
      messages.findByIds = findByIds;
    }
  });

  it('does the same when catching up with after_id, oldest first', async () => {
    const { messages } = await walk(bob, `/api/messages/?after_id=${sent[0]!.id}`);
    expect(messages.map((m) => m.id)).toEqual(sent.slice(1).map((m) => m.id));
  });

  it('still sends a single message larger than the budget, alone', async () => {
    const big = await send(t.app, carol, { recipient: carol.username, attachment_data: b64(Buffer.alloc(3 * MiB, 9)) });
    const res = await call(t.app, 'GET', '/api/messages/?limit=10', { token: carol.token });
    const page = res.json() as Message[];
    expect(page.map((m) => m.id)).toEqual([big.id]);
    expect(page[0]!.encrypted_attachment).toBe(big.encrypted_attachment);
  });
});

describe('a client that stops reading a page', () => {
  it('makes the server read no attachment beyond the one being written, and the page is whole once read', async () => {
    // A 64 MiB budget: a page of three 10 MiB attachments is one streamed page. Each is larger than what
    // loopback's socket buffers can absorb (a few MB), so a stalled client leaves the server writing the first.
    const own = await startApp({ DATABASE_URL: `sqlite:${join(dir, 'reader.sqlite')}`, PAGE_ATTACHMENT_BYTES: String(64 * MiB) });
    let response: IncomingMessage | undefined;
    try {
      const reader = await register(own.app);
      const sent = [];
      for (let i = 0; i < 3; i++) sent.push(await send(own.app, reader, { recipient: reader.username, attachment_data: b64(Buffer.alloc(10 * MiB, i + 1)) }));
      await own.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = own.app.server.address() as AddressInfo;

      const messages = own.store.messages;
      const readAttachment = messages.readAttachment.bind(messages);
      let reads = 0;
      messages.readAttachment = (id: number) => {
        reads++;
        return readAttachment(id);
      };
      response = await new Promise<IncomingMessage>((resolve, reject) => {
        get({ port, host: '127.0.0.1', path: '/api/messages/?direction=sent&limit=3', headers: { 'x-auth-token': reader.token } }, resolve).on('error', reject);
      });
      response.pause(); // stops reading: the answer backs up into the server
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(reads).toBe(1);

      const chunks: Buffer[] = [];
      const answer = response;
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      await new Promise((resolve) => answer.on('end', resolve).resume());
      const page = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Message[];
      expect(page.map((m) => m.id)).toEqual(sent.map((m) => m.id).reverse());
      expect(page.map((m) => m.encrypted_attachment)).toEqual(sent.map((m) => m.encrypted_attachment).reverse());
      expect(reads).toBe(3);
    } finally {
      response?.destroy();
      await own.close();
    }
  });
});
