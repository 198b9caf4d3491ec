/**
 * The ordering claim behind realtime delivery (docs/realtime.md): Mail.send
 * publishes each message after it is committed, in increasing id order — on
 * the writer thread (database file) and the in-thread group commit
 * (`:memory:`) alike, with many concurrent senders (and so multi-row batches
 * and several cipher threads finishing out of order).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDomain } from '../src/app.ts';
import { LocalFanOut, type FanOutEvent } from '../src/realtime/fan-out.ts';
import { openStore } from '../src/store/index.ts';
import { testConfig } from './helpers.ts';

describe.each([
  ['the writer thread (database file)', true],
  ['the in-thread group commit (:memory:)', false],
])('publish order on %s', (_name, file) => {
  it('300 concurrent sends from 5 senders are published once each, after their commit, in increasing id order', async () => {
    const dir = file ? mkdtempSync(join(tmpdir(), 'securechat-order-')) : null;
    const config = testConfig(dir ? { DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` } : {});
    const store = await openStore(config.databaseUrl);
    try {
      const fanOut = new LocalFanOut((error) => {
        throw error;
      });
      const domain = buildDomain(store, config, fanOut);
      const users = await Promise.all(
        [0, 1, 2, 3, 4, 5].map(async (n) => (await domain.accounts.register({ username: `order${n}_${process.pid}`, password: 'password-123', userAgent: '' })).user),
      );
      const [bob, ...senders] = users as [(typeof users)[0], ...typeof users];
      const published: number[] = [];
      const visibleAtPublish: Array<Promise<number>> = [];
      fanOut.subscribe(bob.id, (event: FanOutEvent) => {
        if (event.type !== 'message') return;
        published.push(event.id);
        // The read runs now, synchronously, on the main connection: the row must already be committed.
        visibleAtPublish.push(store.messages.findWithoutAttachments([event.id]).then((rows) => rows.length));
      });

      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => domain.mail.send(senders[i % 5]!, { recipient: bob.username, message: `#${i} ${'x'.repeat(i % 7 === 0 ? 40_000 : 10)}` })),
      );
      const ids = results.map((r) => r.message.id);
      expect(published).toHaveLength(300);
      expect(published).toEqual([...ids].sort((a, b) => a - b));
      for (let i = 1; i < published.length; i++) expect(published[i]).toBeGreaterThan(published[i - 1]!);
      expect(await Promise.all(visibleAtPublish)).toEqual(published.map(() => 1));
    } finally {
      await store.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
});
