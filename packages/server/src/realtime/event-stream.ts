/**
 * One realtime connection's stream of events (API B 9), whatever carries it
 * (websocket.ts, sse.ts): catch-up from the database, `ready`, then live
 * events from the fan-out — each message id at most once, in increasing
 * order.
 *
 * Why no message is missed or repeated (docs/realtime.md has the whole argument):
 * 1. subscribe to the fan-out first; live events are buffered from then on;
 * 2. read `upTo` = the user's largest message id, then every message in
 *    (after_id, upTo] from the database, oldest first, in pages, waiting for
 *    the socket to drain whenever the queue passes a high-water mark;
 * 3. send `ready` with `last_id` = upTo;
 * 4. go live: buffered events first, dropping every id ≤ the largest id sent
 *    (or ≤ upTo). Any id > upTo was not committed when upTo was read, so it
 *    was published after the subscription and is in the buffer or still to come.
 * If the buffer overflows during a long catch-up it is dropped and steps 2–3
 * are repeated from where the catch-up got to: the database has it all.
 *
 * @example
 * const stream = new EventStream(context, { userId, sessionId, tokenHash }, transport);
 * await stream.start(afterId);   // undefined: ready at once, then live
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Domain } from '../http/context.ts';
import { messageView, type MessageView } from '../domain/views.ts';
import type { FanOutEvent, MessageCommitted } from './fan-out.ts';

/** One event as the transports send it: WebSocket frame = `json`; SSE = `event:`, `id:`, `data:` lines. */
export interface OutgoingEvent {
  readonly type: 'message' | 'ready' | 'key_rotated' | 'session_revoked' | 'pong';
  /** Message events only: the message id (SSE `id:` line). */
  readonly id?: number;
  readonly json: string;
}

/** Close reasons, as WebSocket close codes (SSE simply ends the response). */
export const CLOSE = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policy: 1008,
  badRequest: 4400,
  unauthorized: 4401,
  tooSlow: 4408,
  tooMany: 4429,
  tryAgainLater: 1013,
});

export interface Transport {
  /** Queues one event; `whenWritten` runs once it has been handed to the socket. */
  send(event: OutgoingEvent, whenWritten?: () => void): void;
  /** Bytes queued for this connection and not yet written to its socket. */
  readonly queuedBytes: number;
  /** Ends the connection (a WebSocket with `code`); idempotent. */
  close(code: number, reason: string): void;
}

export interface RealtimeOptions {
  /** Connections (WebSocket + SSE) per user; the newest over it is refused. */
  maxConnectionsPerUser: number;
  /** Bytes queued for a live reader before its connection is closed (4408). */
  maxQueuedBytes: number;
  /** A WebSocket's first-frame authentication deadline. */
  authTimeoutMs: number;
  /** WebSockets still waiting for their auth frame, all users together; past it a new one is closed with 1013 (try again later). */
  maxUnauthenticated: number;
  /** WebSocket ping / SSE comment / session re-check period. */
  heartbeatMs: number;
  /** A connection that has answered nothing (no pong, no frame, nothing read) for this long is dropped. */
  deadAfterMs: number;
  /** Messages read from the database per catch-up page. */
  catchUpPageSize: number;
  /** Live events held while catching up; past it they are dropped and the catch-up goes on from the database. */
  maxBufferedEvents: number;
  /** On shutdown: how long connections get to answer the close before they are cut. */
  shutdownGraceMs: number;
}

export const DEFAULT_REALTIME_OPTIONS: Omit<RealtimeOptions, 'maxConnectionsPerUser' | 'maxQueuedBytes'> = Object.freeze({
  authTimeoutMs: 10_000,
  maxUnauthenticated: 1_000,
  heartbeatMs: 14_000, // under the 15 s the contract allows between SSE comments, with room for timer drift
  deadAfterMs: 60_000,
  catchUpPageSize: 50,
  maxBufferedEvents: 10_000,
  shutdownGraceMs: 2_000,
});

export interface StreamSession {
  userId: number;
  sessionId: number;
  /** SHA-256 of the token: the session is looked up again when sessions change and on every heartbeat. */
  tokenHash: string;
}

export interface StreamContext {
  domain: Domain;
  options: RealtimeOptions;
  log: FastifyBaseLogger;
}

const READY = (lastId: number): OutgoingEvent => ({ type: 'ready', json: `{"type":"ready","last_id":${lastId}}` });
const SESSION_REVOKED: OutgoingEvent = Object.freeze({ type: 'session_revoked', json: '{"type":"session_revoked"}' });
export const PONG: OutgoingEvent = Object.freeze({ type: 'pong', json: '{"type":"pong"}' });

/** A published message's events, built once however many connections take them. */
interface Encoded {
  json: string;
  inbox?: OutgoingEvent;
  sent?: OutgoingEvent;
}
const encodedByEvent = new WeakMap<MessageCommitted, Encoded>();

/** The message object of `GET /api/messages/{id}/` without `encrypted_attachment`, as JSON. */
export function eventMessageJson(view: MessageView): string {
  const { encrypted_attachment: _omitted, ...message } = view;
  return JSON.stringify(message);
}

function messageEvent(mailbox: 'inbox' | 'sent', id: number, messageJson: string): OutgoingEvent {
  return { type: 'message', id, json: `{"type":"message","mailbox":"${mailbox}","message":${messageJson}}` };
}

export class EventStream {
  readonly #context: StreamContext;
  readonly #session: StreamSession;
  readonly #transport: Transport;
  #phase: 'idle' | 'catching-up' | 'live' | 'closed' = 'idle';
  /** Live events that arrived during the catch-up, in publish order. */
  #buffer: FanOutEvent[] = [];
  #overflowed = false;
  /** Live events waiting for their turn (a message that must be read from the store delays those behind it). */
  #queue: FanOutEvent[] = [];
  #pumping = false;
  /** The largest message id this connection has sent (or declared with `ready`); nothing at or below it is sent again. */
  #floor = 0;
  #unsubscribe: (() => void) | null = null;

  constructor(context: StreamContext, session: StreamSession, transport: Transport) {
    this.#context = context;
    this.#session = session;
    this.#transport = transport;
  }

  /** Read through a getter: the phase changes across awaits, which TypeScript's narrowing does not see. */
  get closed(): boolean {
    return this.#phase === 'closed';
  }

  get userId(): number {
    return this.#session.userId;
  }

  /** Catch-up (with `afterId`) or none, `ready`, then live. Resolves when the stream is live (or closed). */
  async start(afterId: number | undefined): Promise<void> {
    if (this.#phase !== 'idle') throw new Error('stream already started');
    this.#phase = 'catching-up';
    this.#unsubscribe = this.#context.domain.fanOut.subscribe(this.#session.userId, (event) => this.#onEvent(event));
    try {
      const lastId = await this.#catchUp(afterId);
      if (this.closed) return;
      this.#floor = Math.max(this.#floor, lastId);
      this.#transport.send(READY(lastId));
      this.#phase = 'live';
      const buffered = this.#buffer;
      this.#buffer = [];
      for (const event of buffered) this.#enqueue(event);
    } catch (error) {
      this.#context.log.error({ err: error, userId: this.#session.userId }, 'realtime catch-up failed');
      this.close(1011, 'Internal error.');
    }
  }

  /** Stops the stream and closes its transport with `code`. */
  close(code: number, reason: string): void {
    if (this.#phase === 'closed') return;
    this.detach();
    this.#transport.close(code, reason);
  }

  /** Stops listening without touching the transport (it is already gone). */
  detach(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#buffer = [];
    this.#queue = [];
  }

  /**
   * Sends `session_revoked` and closes with 4401 unless the session is still
   * valid and unexpired. Checks may overlap (an event during a heartbeat's
   * check): each reads the session afresh, and only the first to find it gone acts.
   */
  async checkSession(now = new Date()): Promise<void> {
    if (this.#phase === 'closed') return;
    const found = await this.#context.domain.store.sessions.findByTokenHash(this.#session.tokenHash);
    const valid = found !== undefined && found.session.id === this.#session.sessionId && found.session.expires_at > now.toISOString();
    if (valid || this.closed) return;
    this.#transport.send(SESSION_REVOKED);
    this.close(CLOSE.unauthorized, 'Session revoked.');
  }

  #onEvent(event: FanOutEvent): void {
    if (this.#phase === 'closed') return;
    if (event.type === 'sessions_changed' || event.type === 'recheck') {
      // A re-check (events may have been lost) also re-checks the session, and reads messages below.
      if (event.type === 'recheck' && this.#phase === 'live') this.#enqueue(event);
      void this.checkSession().catch((error: unknown) => this.#context.log.error({ err: error }, 'realtime session check failed'));
      return;
    }
    if (this.#phase === 'live') {
      this.#enqueue(event);
    } else if (this.#buffer.push(event) > this.#context.options.maxBufferedEvents) {
      this.#buffer = [];
      this.#overflowed = true;
    }
  }

  /**
   * Reads every message in (afterId, upTo] and returns upTo, the user's
   * largest id when the last round began. Without `afterId`, none: upTo at once.
   */
  async #catchUp(afterId: number | undefined): Promise<number> {
    const { store } = this.#context.domain;
    const userId = this.#session.userId;
    if (afterId === undefined) return store.messages.lastIdOf(userId);
    let cursor = afterId;
    for (;;) {
      this.#overflowed = false;
      const upTo = await store.messages.lastIdOf(userId);
      while (cursor < upTo) {
        const limit = this.#context.options.catchUpPageSize;
        const rows = await store.messages.catchUpMessages({ userId, afterId: cursor, upToId: upTo, limit });
        for (const row of rows) {
          if (this.closed) return upTo;
          if (row.id <= this.#floor) continue;
          this.#floor = row.id;
          await this.#sendPaced(messageEvent(row.recipient_id === userId ? 'inbox' : 'sent', row.id, eventMessageJson(messageView(row))));
        }
        if (rows.length < limit) break;
        cursor = rows.at(-1)!.id;
        // A fast reader never makes a send wait, and the reads are synchronous underneath: without a
        // turn of the event loop per page, 100,000 messages would hold it for seconds.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.closed || !this.#overflowed) return Math.max(upTo, this.#floor);
      cursor = Math.max(cursor, upTo);
    }
  }

  /** Sends, and past the high-water mark waits until the socket has taken what is queued. */
  #sendPaced(event: OutgoingEvent): Promise<void> | void {
    if (this.#transport.queuedBytes < this.#highWater()) {
      this.#transport.send(event);
      return;
    }
    return new Promise<void>((resolve) => this.#transport.send(event, resolve));
  }

  #highWater(): number {
    return Math.max(16 * 1024, Math.min(256 * 1024, this.#context.options.maxQueuedBytes >> 2));
  }

  #enqueue(event: FanOutEvent): void {
    this.#queue.push(event);
    if (!this.#pumping) void this.#pump();
  }

  /** Sends queued live events in order; runs synchronously while no message has to be read from the store. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && this.#phase === 'live') {
        const event = this.#queue.shift()!;
        if (event.type === 'key_rotated') {
          this.#sendLive({ type: 'key_rotated', json: `{"type":"key_rotated","key_id":${event.keyId}}` });
        } else if (event.type === 'recheck') {
          await this.#sendFromDatabase(await this.#context.domain.store.messages.lastIdOf(this.#session.userId));
        } else if (event.type === 'message' && event.id > this.#floor && !this.#context.domain.fanOut.ordered) {
          // Across instances events can cross: 105 may arrive before 104. Every id up to 105 is
          // committed once 105 is (the store's visibility order), so the database has them all.
          await this.#sendFromDatabase(event.id);
        } else if (event.type === 'message' && event.id > this.#floor) {
          // The in-process fan-out carries the view: no await, so delivery happens within publish().
          const encoded = encodedByEvent.get(event) ?? this.#encodeView(event) ?? (await this.#readAndEncode(event));
          if (encoded === null || this.#phase !== 'live' || event.id <= this.#floor) continue;
          this.#floor = event.id;
          const mailbox = event.recipientId === this.#session.userId ? 'inbox' : 'sent';
          this.#sendLive((encoded[mailbox] ??= messageEvent(mailbox, event.id, encoded.json)));
        }
      }
    } catch (error) {
      this.#context.log.error({ err: error, userId: this.#session.userId }, 'realtime delivery failed');
      this.close(1011, 'Internal error.');
    } finally {
      this.#pumping = false;
    }
  }

  /** Sends the user's messages in (floor, upTo] from the database, oldest first. */
  async #sendFromDatabase(upTo: number): Promise<void> {
    const { store } = this.#context.domain;
    const userId = this.#session.userId;
    while (this.#floor < upTo && this.#phase === 'live') {
      const limit = this.#context.options.catchUpPageSize;
      // One statement for ids and rows: a cross-instance event costs its receiver one query.
      const rows = await store.messages.catchUpMessages({ userId, afterId: this.#floor, upToId: upTo, limit });
      for (const row of rows) {
        if (this.#phase !== 'live' || row.id <= this.#floor) continue;
        this.#floor = row.id;
        this.#sendLive(messageEvent(row.recipient_id === userId ? 'inbox' : 'sent', row.id, eventMessageJson(messageView(row))));
      }
      if (rows.length < limit) return;
    }
  }

  #encodeView(event: MessageCommitted): Encoded | undefined {
    if (!event.view) return undefined;
    const encoded = { json: eventMessageJson(event.view) };
    encodedByEvent.set(event, encoded);
    return encoded;
  }

  /** An event without a view (from another process): the message is read by id. */
  async #readAndEncode(event: MessageCommitted): Promise<Encoded | null> {
    const [row] = await this.#context.domain.store.messages.findWithoutAttachments([event.id]);
    if (!row) return null;
    const encoded = { json: eventMessageJson(messageView(row)) };
    encodedByEvent.set(event, encoded);
    return encoded;
  }

  /** A live event; a reader that lets more than maxQueuedBytes pile up is closed (4408). */
  #sendLive(event: OutgoingEvent): void {
    this.#transport.send(event);
    if (this.#transport.queuedBytes > this.#context.options.maxQueuedBytes) {
      this.close(CLOSE.tooSlow, 'Too much queued for a slow reader.');
    }
  }

  /** A pong for the client's ping; counts towards the slow-reader limit like any event. */
  pong(): void {
    if (this.#phase === 'closed') return;
    this.#sendLive(PONG);
  }
}
