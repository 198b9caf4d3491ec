/**
 * The catch-up/live hand-over of one connection (realtime/event-stream.ts),
 * with a scripted store that commits and publishes messages at the worst
 * moments: between the subscription and the catch-up, during a page read,
 * faster than the buffer holds. Each id must come exactly once, in order,
 * with `ready` after every id ≤ last_id. Also: events without a view (as a
 * cross-process fan-out would carry them) are read from the store, in order.
 */
import { describe, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import type { Domain } from '../src/http/context.ts';
import { EventStream, DEFAULT_REALTIME_OPTIONS, type OutgoingEvent, type RealtimeOptions, type Transport } from '../src/realtime/event-stream.ts';
import { LocalFanOut } from '../src/realtime/fan-out.ts';
import { messageView } from '../src/domain/views.ts';
import type { MessageRow } from '../src/store/index.ts';

const ME = 7;
const OTHER = 8;

function row(id: number, senderId = OTHER, recipientId = ME): MessageRow {
  return {
    id,
    sender_id: senderId,
    recipient_id: recipientId,
    key_id: 1,
    sender_key_id: 1,
    encrypted_symmetric_key: 'k',
    sender_encrypted_symmetric_key: 's',
    encrypted_message: `m${id}`,
    message_nonce: 'n',
    encrypted_attachment: null,
    attachment_nonce: '',
    attachment_name: '',
    attachment_mime: '',
    has_attachment: 0,
    sent_at: '2026-01-01T00:00:00.000Z',
    attachment_octets: 0,
    sender_username: `u${senderId}`,
    recipient_username: `u${recipientId}`,
  } as MessageRow;
}

/** A store of committed rows with hooks that run inside its reads, and a fan-out the hooks publish on. */
function scripted(options: Partial<RealtimeOptions> = {}) {
  const committed: MessageRow[] = [];
  const fanOut = new LocalFanOut((error) => {
    throw error;
  });
  const hooks: { lastIdOf?: () => void; catchUpIds?: () => void } = {};
  let nextId = 1;
  /** Commits a message, then publishes it (with or without its view), as Mail.send does. */
  const commit = (publish: 'view' | 'id-only' | 'not-yet' = 'view', senderId = OTHER, recipientId = ME) => {
    const r = row(nextId++, senderId, recipientId);
    committed.push(r);
    const announce = () =>
      fanOut.publish({ type: 'message', id: r.id, senderId, recipientId, view: publish === 'id-only' ? undefined : messageView(r) });
    if (publish !== 'not-yet') announce();
    return announce;
  };
  const store = {
    messages: {
      async lastIdOf(userId: number) {
        hooks.lastIdOf?.();
        return Math.max(0, ...committed.filter((r) => r.recipient_id === userId || r.sender_id === userId).map((r) => r.id));
      },
      async catchUpIds(page: { userId: number; afterId: number; upToId: number; limit: number }) {
        const ids = committed
          .filter((r) => (r.recipient_id === page.userId || r.sender_id === page.userId) && r.id > page.afterId && r.id <= page.upToId)
          .map((r) => r.id)
          .slice(0, page.limit);
        hooks.catchUpIds?.();
        return ids;
      },
      async catchUpMessages(page: { userId: number; afterId: number; upToId: number; limit: number }) {
        const ids = await this.catchUpIds(page);
        return committed.filter((r) => ids.includes(r.id));
      },
      async findWithoutAttachments(ids: number[]) {
        return committed.filter((r) => ids.includes(r.id)).reverse(); // any order
      },
    },
    sessions: {
      async findByTokenHash() {
        return { session: { id: 1, expires_at: '2999-01-01T00:00:00.000Z' }, user: { id: ME, username: 'me' } };
      },
    },
  };
  const sent: OutgoingEvent[] = [];
  const transport: Transport & { code?: number } = {
    send: (event, whenWritten) => {
      sent.push(event);
      whenWritten?.();
    },
    queuedBytes: 0,
    close(code) {
      this.code = code;
    },
  };
  const log = { error: (...args: unknown[]) => console.error(...args) } as unknown as FastifyBaseLogger;
  const stream = new EventStream(
    {
      domain: { store, fanOut } as unknown as Domain,
      options: { ...DEFAULT_REALTIME_OPTIONS, maxConnectionsPerUser: 20, maxQueuedBytes: 1 << 20, catchUpPageSize: 2, ...options },
      log,
    },
    { userId: ME, sessionId: 1, tokenHash: 'h' },
    transport,
  );
  const order = () => sent.map((e) => (e.type === 'message' ? e.id : e.type === 'ready' ? `ready:${JSON.parse(e.json).last_id}` : e.type));
  return { commit, hooks, stream, sent, order, transport };
}

describe('EventStream: catch-up, then live, with no window', () => {
  it('a message committed between the subscription and the catch-up read, and one committed during a page read, each come once, in order', async () => {
    const t = scripted();
    for (let i = 0; i < 5; i++) t.commit('not-yet'); // ids 1..5, announced long ago
    let announceSix: (() => void) | null = null;
    t.hooks.lastIdOf = () => {
      t.hooks.lastIdOf = undefined;
      announceSix = t.commit('not-yet'); // 6: committed before upTo is read, published later
    };
    t.hooks.catchUpIds = () => {
      t.hooks.catchUpIds = undefined;
      announceSix!(); // 6's publish arrives during the catch-up: must not be sent twice
      t.commit('view'); // 7: committed after upTo was read, published at once: must come after ready
    };
    await t.stream.start(2);
    expect(t.order()).toEqual([3, 4, 5, 6, 'ready:6', 7]);
    t.commit('view');
    expect(t.order()).toEqual([3, 4, 5, 6, 'ready:6', 7, 8]);
  });

  it('without after_id: ready at once with the largest id, then only later ids', async () => {
    const t = scripted();
    t.commit('not-yet');
    let announceTwo: (() => void) | null = null;
    t.hooks.lastIdOf = () => {
      t.hooks.lastIdOf = undefined;
      announceTwo = t.commit('not-yet'); // 2 is committed before ready: ready.last_id covers it
    };
    await t.stream.start(undefined);
    announceTwo!();
    t.commit('view', ME, OTHER); // 3, sent by me
    expect(t.order()).toEqual(['ready:2', 3]);
    expect(JSON.parse(t.sent[1]!.json)).toMatchObject({ type: 'message', mailbox: 'sent' });
  });

  it('a buffer overflow during the catch-up falls back to the database: still every id once, in order', async () => {
    const t = scripted({ maxBufferedEvents: 3 });
    for (let i = 0; i < 4; i++) t.commit('view');
    let rounds = 0;
    t.hooks.catchUpIds = () => {
      if (++rounds > 6) return;
      for (let i = 0; i < 4; i++) t.commit('view'); // more than the buffer holds, each time
    };
    await t.stream.start(0);
    t.hooks.catchUpIds = undefined;
    t.commit('view');
    const ids = t.order().filter((x) => typeof x === 'number') as number[];
    const total = 4 + 6 * 4 + 1;
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const ready = t.order().findIndex((x) => typeof x === 'string' && x.startsWith('ready'));
    const lastId = Number(String(t.order()[ready]).split(':')[1]);
    expect(ids.slice(0, ready).every((id) => id <= lastId)).toBe(true);
    expect(ids.slice(ready).every((id) => id > lastId)).toBe(true);
  });

  it('a long catch-up gives the event loop a turn after every page', async () => {
    const t = scripted({ catchUpPageSize: 2 });
    for (let i = 0; i < 10; i++) t.commit('not-yet');
    let sentWhenOtherWorkRan = -1;
    setImmediate(() => (sentWhenOtherWorkRan = t.sent.length));
    await t.stream.start(0);
    expect(t.order().at(-1)).toBe('ready:10');
    expect(sentWhenOtherWorkRan).toBe(2); // after the first page, not after the whole catch-up
  });

  it('events without a view (a cross-process fan-out) are read by id and still sent in publish order', async () => {
    const t = scripted();
    await t.stream.start(undefined);
    t.commit('id-only'); // 1: needs a read
    t.commit('view'); // 2: has its view, must still wait for 1
    t.commit('id-only'); // 3
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(t.order()).toEqual(['ready:0', 1, 2, 3]);
    const message = JSON.parse(t.sent[1]!.json).message;
    expect(message).not.toHaveProperty('encrypted_attachment');
    expect(message).toMatchObject({ id: 1, encrypted_message: 'm1', sender: { id: OTHER, username: `u${OTHER}` } });
  });

  it('another user’s events never reach the stream; a closed stream sends nothing more', async () => {
    const t = scripted();
    await t.stream.start(undefined);
    t.commit('view', OTHER, OTHER);
    t.commit('view');
    t.stream.close(4401, 'test');
    t.commit('view');
    expect(t.order()).toEqual(['ready:0', 2]);
    expect(t.transport.code).toBe(4401);
  });
});
