/**
 * What is PostgreSQL's alone (the `server-postgres` project only): several
 * Store instances on one database — each its own pool, as several server
 * instances would be (API B 12) — and the adapter's own choices (durability
 * setting, collation, attachments, schema).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDomain } from '../src/app.ts';
import { LocalFanOut, type FanOutEvent } from '../src/realtime/fan-out.ts';
import { openStore, UsernameTaken, type CatchUpPage, type InsertOutcome, type NewMessage, type Store } from '../src/store/index.ts';
import { testConfig } from './helpers.ts';
import { createSchema, type TestDatabase } from './test-database.ts';

const key = {
  public_key: 'pk', encrypted_private_key: 'epk', private_key_nonce: 'n', private_key_salt: 's', private_key_iterations: 100_000, sealed_by: 'server' as const,
};

async function user(store: Store, username: string): Promise<number> {
  return (await store.users.create({ username, passwordHash: 'x', key, now: new Date().toISOString() })).user.id;
}

function row(senderId: number, recipientId: number, fields: Partial<NewMessage> = {}): NewMessage {
  return {
    sender_id: senderId, recipient_id: recipientId, key_id: 1, sender_key_id: 1, encrypted_symmetric_key: 'k', sender_encrypted_symmetric_key: 'k',
    encrypted_message: 'bQ==', message_nonce: 'n', encrypted_attachment: '', attachment_nonce: '', attachment_name: '', attachment_mime: '',
    has_attachment: 0, sent_at: new Date().toISOString(), client_id: null, request_digest: null, ...fields,
  };
}

let database: TestDatabase;
/** Two instances on one database, and a third that only reads. */
let a: Store;
let b: Store;
let reader: Store;

beforeAll(async () => {
  database = await createSchema();
  a = await openStore(database.url);
  [b, reader] = await Promise.all([openStore(database.url), openStore(database.url)]);
});
afterAll(async () => {
  await Promise.all([a, b, reader].map((store) => store?.close()));
  await database?.drop();
});

describe('ids become visible in increasing order across instances (API B 9, B 12)', () => {
  it('a reader polling while two instances insert at once never sees an id without every smaller one', async () => {
    const [s1, s2, r] = [await user(a, 'order_s1'), await user(a, 'order_s2'), await user(a, 'order_r')];
    let inserting = true;
    const observations: number[][] = [];
    const catchUpIds = async (page: CatchUpPage) => (await reader.messages.catchUpMessages(page)).map((row) => row.id);
    const poll = (async () => {
      while (inserting) {
        // One statement, one snapshot: what a catch-up sees at once.
        observations.push(await catchUpIds({ userId: r, afterId: 0, upToId: Number.MAX_SAFE_INTEGER, limit: 1_000_000 }));
        const last = await reader.messages.lastIdOf(r);
        const upTo = await catchUpIds({ userId: r, afterId: 0, upToId: last, limit: 1_000_000 });
        // lastIdOf's snapshot came first: everything up to it must be in the later one.
        observations.push(upTo.filter((id) => id <= last));
      }
    })();
    // Waves of concurrent inserts from both instances; some rows large, so transactions last a while.
    const big = 'A'.repeat(256 * 1024);
    const sends = async (store: Store, sender: number) => {
      const ids: number[] = [];
      for (let wave = 0; wave < 25; wave++) {
        const outcomes = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.messages.insert(row(sender, r, { encrypted_message: (wave + i) % 5 === 0 ? big : 'bQ==' }))),
        );
        ids.push(...(outcomes as number[]));
      }
      return ids;
    };
    const [fromA, fromB] = await Promise.all([sends(a, s1), sends(b, s2)]);
    inserting = false;
    await poll;

    const all = [...fromA, ...fromB].sort((x, y) => x - y);
    expect(new Set(all).size).toBe(400);
    // Each instance's batches resolve in id order.
    for (const ids of [fromA, fromB]) for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    const final = await catchUpIds({ userId: r, afterId: 0, upToId: Number.MAX_SAFE_INTEGER, limit: 1_000_000 });
    expect(final).toEqual(all);
    expect(observations.length).toBeGreaterThan(10);
    let partial = 0;
    for (const seen of observations) {
      const top = seen.at(-1) ?? 0;
      // Every id up to the largest one seen, no gap that will ever fill.
      expect(seen).toEqual(final.filter((id) => id <= top));
      if (seen.length > 0 && seen.length < final.length) partial += 1;
    }
    expect(partial).toBeGreaterThan(0); // the reader did look while inserts were under way
  });

  it('Mail.send publishes after the commit, in increasing id order (300 concurrent sends from 5 senders)', async () => {
    const config = testConfig({ DATABASE_URL: database.url });
    const fanOut = new LocalFanOut((error) => {
      throw error;
    });
    const domain = buildDomain(a, config, fanOut);
    const users = await Promise.all(
      [0, 1, 2, 3, 4, 5].map(async (n) => (await domain.accounts.register({ username: `pub${n}_${process.pid}`, password: 'password-123', userAgent: '' })).user),
    );
    const [bob, ...senders] = users as [(typeof users)[0], ...typeof users];
    const published: number[] = [];
    const visibleAtPublish: Array<Promise<number>> = [];
    fanOut.subscribe(bob.id, (event: FanOutEvent) => {
      if (event.type !== 'message') return;
      published.push(event.id);
      // Through another instance's pool: committed means readable everywhere.
      visibleAtPublish.push(reader.messages.findWithoutAttachments([event.id]).then((rows) => rows.length));
    });
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => domain.mail.send(senders[i % 5]!, { recipient: bob.username, message: `#${i} ${'x'.repeat(i % 7 === 0 ? 40_000 : 10)}` })),
    );
    expect(published).toEqual(results.map((result) => result.message.id).sort((x, y) => x - y));
    expect(await Promise.all(visibleAtPublish)).toEqual(published.map(() => 1));
  });
});

describe('idempotent send (API B 10) across instances', () => {
  it('the same client_id from two instances at once: one row, the other told which (same body or not)', async () => {
    const [sender, recipient] = [await user(a, 'idem_s'), await user(a, 'idem_r')];
    for (let round = 0; round < 20; round++) {
      const clientId = randomUUID();
      const other = round % 2 === 0 ? 'd' : 'other';
      const outcomes: InsertOutcome[] = await Promise.all([
        a.messages.insert(row(sender, recipient, { client_id: clientId, request_digest: 'd' })),
        b.messages.insert(row(sender, recipient, { client_id: clientId, request_digest: other })),
      ]);
      const created = outcomes.filter((o): o is number => typeof o === 'number');
      expect(created).toHaveLength(1);
      // Whichever instance won, the other is told the winner's id, and whether its body was the same.
      expect(outcomes.find((o) => typeof o !== 'number')).toEqual({ existingId: created[0], sameRequest: other === 'd' });
      const winnerDigest = typeof outcomes[0] === 'number' ? 'd' : other;
      expect(await reader.messages.findByClientId(sender, clientId)).toEqual({ id: created[0], request_digest: winnerDigest });
    }
    const { n } = await reader.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('sender_id', '=', sender).executeTakeFirstOrThrow();
    expect(n).toBe(20);
  });

  it('inside one batch: one row per (sender, client_id); a bad row fails alone and the others commit', async () => {
    const [s, t] = [await user(a, 'batch_s'), await user(a, 'batch_t')];
    const id = randomUUID();
    const outcomes = await Promise.allSettled([
      a.messages.insert(row(s, t, { client_id: id, request_digest: 'd1', encrypted_message: 'first' })),
      a.messages.insert(row(s, t, { encrypted_message: 'no id' })),
      a.messages.insert(row(s, t, { client_id: id, request_digest: 'd1', encrypted_message: 'same again' })),
      a.messages.insert(row(s, 999_999_999, { encrypted_message: 'unknown recipient' })),
      a.messages.insert(row(s, t, { client_id: id, request_digest: 'd2', encrypted_message: 'other body' })),
      a.messages.insert(row(t, s, { client_id: id, request_digest: 'd3', encrypted_message: 'another sender' })),
    ]);
    const [first, none, same, bad, other, elsewhere] = outcomes;
    expect(first!.status).toBe('fulfilled');
    const firstId = (first as PromiseFulfilledResult<InsertOutcome>).value;
    expect(typeof firstId).toBe('number');
    expect(none).toMatchObject({ status: 'fulfilled', value: expect.any(Number) });
    expect(same).toEqual({ status: 'fulfilled', value: { existingId: firstId, sameRequest: true } });
    expect(bad).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ code: '23503' }) });
    expect(other).toEqual({ status: 'fulfilled', value: { existingId: firstId, sameRequest: false } });
    expect(elsewhere).toMatchObject({ status: 'fulfilled', value: expect.any(Number) });
    const texts = await reader.db.selectFrom('messages').select('encrypted_message').where('sender_id', 'in', [s, t]).orderBy('id').execute();
    expect(texts.map((m) => m.encrypted_message)).toEqual(['first', 'no id', 'another sender']);
  });
});

describe('the adapter', () => {
  it('commits durably on every connection (synchronous_commit = on, whatever the URL asks)', async () => {
    const show = async (store: Store, name: string) => (await sql<Record<string, string>>`SELECT current_setting(${name}) AS v`.execute(store.db)).rows[0]!.v;
    expect(await show(a, 'synchronous_commit')).toBe('on');
    expect((await sql<{ synchronous_commit: string }>`SHOW synchronous_commit`.execute(a.db)).rows[0]!.synchronous_commit).toBe('on');
    expect(await show(a, 'idle_in_transaction_session_timeout')).toBe('10s');
    const url = new URL(database.url);
    url.searchParams.set('options', `${url.searchParams.get('options')} -c synchronous_commit=off`);
    const careless = await openStore(url.toString());
    try {
      expect(await show(careless, 'synchronous_commit')).toBe('on');
    } finally {
      await careless.close();
    }
  });

  it('returns ids and counts as numbers', async () => {
    const id = await user(a, 'numbers');
    expect(typeof id).toBe('number');
    const { n } = await a.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(typeof n).toBe('number');
    expect(await a.messages.lastIdOf(id)).toBe(0);
  });

  it('searches usernames by prefix ignoring ASCII case, bytewise, and keeps them unique ignoring case', async () => {
    const names = ['Prefix_Alice', 'prefix_alina', 'PREFIX_ALBERT', 'prefix_bob', 'Prefix%al', 'prefixal'];
    const ids = new Map<string, number>();
    for (const name of names) ids.set(name, await user(a, name));
    const viewer = await user(a, 'prefix_viewer');
    const search = async (prefix: string) =>
      (await b.users.listPublicKeys({ exceptUserId: viewer, prefix, limit: 100, offset: 0 })).map((entry) => entry.username);
    expect(await search('PREFIX_AL')).toEqual(['Prefix_Alice', 'prefix_alina', 'PREFIX_ALBERT']);
    expect(await search('prefix_a')).toEqual(['Prefix_Alice', 'prefix_alina', 'PREFIX_ALBERT']);
    // No pattern characters: _ and % are themselves.
    expect(await search('prefix%')).toEqual(['Prefix%al']);
    expect(await search('PrEfIx')).toEqual(names);
    expect((await b.users.listPublicKeys({ exceptUserId: viewer, prefix: 'prefix', limit: 2, offset: 1 })).map((e) => e.username)).toEqual(names.slice(1, 3));
    // Names no registered user can have: nothing, not an error.
    expect(await search('\u212Aprefix')).toEqual([]);
    expect(await search('prefix\u0000')).toEqual([]);
    expect(await b.users.findByUsername('prefix\u0000')).toBeUndefined();
    expect(await b.users.findIdentity('PREFIX_ALICE')).toEqual({ id: ids.get('Prefix_Alice'), username: 'Prefix_Alice' });
    await expect(b.users.create({ username: 'PREFIX_alice', passwordHash: 'x', key, now: 'now' })).rejects.toBeInstanceOf(UsernameTaken);
  });

  it('rotates keys under a row lock: of racing rotations checked against one version, one wins', async () => {
    const id = await user(a, 'rotator');
    const outcomes = await Promise.all([a, b, a, b].map((store) => store.users.addKeyVersionAs(id, key, 'now', 10, 2)));
    expect(outcomes.filter((o) => o === 'raced')).toHaveLength(3);
    expect(outcomes.find((o) => o !== 'raced')).toMatchObject({ user_id: id, key_id: 2 });
    expect(await b.users.currentKeyId(id)).toBe(2);
    expect(await a.users.addKeyVersionAs(id, key, 'now', 2)).toBe('full');
  });

  it('a 2 MiB attachment round-trips byte-exact; a page and an event leave it unread (null), with its size', async () => {
    const [s, t] = [await user(a, 'big_s'), await user(a, 'big_t')];
    const attachment = Buffer.from(randomBytes(1536 * 1024).toString('base64'), 'latin1'); // 2 MiB of base64
    const small = randomBytes(300).toString('base64');
    const name = 'naïve\u0000名前.bin';
    const bigId = (await a.messages.insert(row(s, t, { encrypted_attachment: attachment, has_attachment: 1, attachment_name: name, attachment_mime: 'a/b' }))) as number;
    const smallId = (await a.messages.insert(row(s, t, { encrypted_attachment: small, has_attachment: 1 }))) as number;

    const byId = new Map((await b.messages.findByIds([bigId, smallId, 123_456_789])).map((m) => [m.id, m]));
    expect(byId.size).toBe(2);
    expect(byId.get(bigId)).toMatchObject({ encrypted_attachment: null, attachment_octets: attachment.length, attachment_name: name, attachment_mime: 'a/b' });
    expect(byId.get(bigId)).toMatchObject({ sender_username: 'big_s', recipient_username: 'big_t', has_attachment: 1, client_id: null, signature: null });
    expect(byId.get(smallId)!.encrypted_attachment).toEqual(Buffer.from(small, 'latin1'));
    expect((await b.messages.readAttachment(bigId)).equals(attachment)).toBe(true);
    expect(await b.messages.listPage({ userId: t, mailbox: 'inbox', limit: 10 })).toEqual([
      { id: smallId, attachment_octets: small.length },
      { id: bigId, attachment_octets: attachment.length },
    ]);
    expect(await b.messages.listPage({ userId: s, mailbox: 'sent', limit: 10, afterId: bigId })).toEqual([{ id: smallId, attachment_octets: small.length }]);
    const events = await b.messages.findWithoutAttachments([bigId, smallId]);
    expect(events.map((m) => [m.encrypted_attachment, m.attachment_octets]).sort()).toEqual([[null, small.length], [null, attachment.length]].sort());
    // Stored as the base64 text, uncompressed and out of line.
    const stored = await sql<{ octets: number; storage: string }>`
      SELECT octet_length(encrypted_attachment) AS octets, (SELECT attstorage FROM pg_attribute WHERE attrelid = 'messages'::regclass AND attname = 'encrypted_attachment') AS storage
      FROM messages WHERE id = ${bigId}`.execute(b.db);
    expect(stored.rows[0]).toEqual({ octets: attachment.length, storage: 'e' });
  });

  it('has the tables and index names of the SQLite schema, migrated once', async () => {
    const { rows } = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`.execute(a.db);
    expect(rows.map((r) => r.indexname)).toEqual(
      expect.arrayContaining([
        'messages_recipient', 'messages_sender', 'messages_sender_client_id', 'sessions_token_hash_key', 'sessions_user', 'user_keys_pk', 'users_username_lower_key',
      ]),
    );
    const migrations = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(a.db);
    expect(migrations.rows.map((r) => r.name)).toEqual(['0001_initial', '0002_message_client_id', '0003_signatures']);
  });

  it('pages and catch-ups are range scans of (recipient, id) and (sender, id); prefix search one of the username index', async () => {
    const plan = (query: string) =>
      a.db.transaction().execute(async (trx) => {
        // A near-empty table would be scanned whole: ask what the planner does when that is not an option.
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        return (await sql.raw<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`).execute(trx)).rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    expect(await plan('SELECT id FROM messages WHERE recipient_id = 1 AND id < 100 ORDER BY id DESC LIMIT 50')).toMatch(/Index (Only )?Scan Backward using messages_recipient/);
    expect(await plan('SELECT id FROM messages WHERE sender_id = 1 AND id > 5 ORDER BY id LIMIT 50')).toMatch(/Index (Only )?Scan using messages_sender/);
    const catchUp = await plan(
      '(SELECT id FROM messages WHERE recipient_id = 1 AND id > 0 AND id <= 100 ORDER BY id LIMIT 50) UNION ' +
        '(SELECT id FROM messages WHERE sender_id = 1 AND id > 0 AND id <= 100 ORDER BY id LIMIT 50) ORDER BY id LIMIT 50',
    );
    expect(catchUp).toMatch(/using messages_recipient/);
    expect(catchUp).toMatch(/using messages_sender/);
    expect(await plan(`SELECT id FROM users WHERE username_lower >= 'ab' AND username_lower < 'ab~' ORDER BY id`)).toMatch(/users_username_lower_key/);
  });

  it('close commits what is pending, then refuses inserts and pings fail', async () => {
    const store = await openStore(database.url);
    const [s, t] = [await user(store, 'closing_s'), await user(store, 'closing_t')];
    const pending = Array.from({ length: 20 }, () => store.messages.insert(row(s, t)));
    await store.close();
    expect((await Promise.all(pending)).every((id) => typeof id === 'number')).toBe(true);
    expect(await reader.messages.lastIdOf(t)).toBe(await Promise.all(pending).then((ids) => Math.max(...(ids as number[]))));
    await expect(store.messages.insert(row(s, t))).rejects.toThrow(/closed/);
    await expect(store.ping()).rejects.toThrow();
  });
});
