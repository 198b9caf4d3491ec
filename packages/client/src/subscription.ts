/**
 * Realtime delivery (API.md Part B 9): one WebSocket to `GET /api/ws/`,
 * authenticated by a first `auth` frame (never a token in the URL), that
 * catches up from a message id and then stays live, reconnecting with
 * exponential backoff and full jitter and resuming from the largest id seen.
 *
 * Runs in browsers (their global `WebSocket`) and in Node 20 (the `ws`
 * package, imported only when there is no global WebSocket).
 *
 * Guarantees to the caller:
 * - `onMessage` is called once per message id per subscription, in increasing
 *   id order, one at a time (a returned promise is awaited before the next
 *   event is handled, so a slow handler slows the stream instead of racing it).
 * - A message that cannot be parsed or decrypted is delivered with
 *   `readable: false` and a `reason`; nothing a server or sender sends throws
 *   out of the subscription or stops it.
 * - Every message is checked like `read` checks it (`signature`,
 *   `keyChange`, … see trust.ts). The event omits the attachment's
 *   ciphertext, which the signature covers: a signed message with an
 *   attachment is fetched whole first (`fetchAttachment` then needs no
 *   second download).
 * - It stops only on `close()`, or when the server refuses the token (close
 *   code 4401, e.g. after `session_revoked`): then `closed` resolves with an
 *   `AuthenticationError` and it does not reconnect.
 *
 * @example
 * const sub = client.subscribe({
 *   afterId: lastSeenId,                     // omit for live messages only
 *   onMessage: async (m) => { if (m.readable) show(m.sender.username, m.text, m.attachmentInfo) },
 *   onStateChange: (state) => setBanner(state === 'reconnecting' ? 'reconnecting…' : ''),
 * });
 * await sub.ready;                           // the catch-up is done
 * const file = await message.fetchAttachment(); // attachments are fetched on demand
 * sub.close();
 */
import type { Message, User } from '@securechat/protocol';
import type { Attachment } from './client.ts';
import { AuthenticationError, DecryptionError } from './errors.ts';
import type { DecryptedMessage, MailboxMessage, UnreadableMessage } from './open-message.ts';
import { uncheckedTrust, type MessageTrust } from './trust.ts';

export type SubscriptionState = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** What a live `message` event carries (`attachment` is always null: events omit its ciphertext). */
interface LiveFields {
  /** `inbox` when you are the recipient (also for messages to yourself), `sent` for your own messages sent elsewhere. */
  mailbox: 'inbox' | 'sent';
  /** Name and MIME type when the message has an attachment (its bytes are not in the event). */
  attachmentInfo: { name: string; mime: string } | null;
  /**
   * Fetches the message (`GET /api/messages/{id}/`) and decrypts its
   * attachment: null when it has none. Throws `DecryptionError` when the
   * fetched message cannot be decrypted, and the SDK's usual errors for the request.
   */
  fetchAttachment(): Promise<Required<Attachment> | null>;
}

export type LiveMessage = (DecryptedMessage & LiveFields) | (UnreadableMessage & LiveFields);

/** Events other than `message`, as the server sent them (`pong` is not forwarded). */
export type SubscriptionEvent =
  | { type: 'ready'; last_id: number }
  | {
      type: 'key_rotated';
      key_id: number;
      /** Added here: true when this client holds the private key of `key_id` (after unlocking it if needed). */
      unlocked: boolean;
    }
  | { type: 'session_revoked' }
  | { type: string; [field: string]: unknown };

export interface StateChange {
  state: SubscriptionState;
  /** Reconnection attempts since the connection was last live (1 for the first retry). */
  attempt: number;
  /** With `reconnecting`: how long until the next attempt. */
  delayMs?: number;
  /** With `reconnecting` and `closed`: the WebSocket close code that ended the last connection (1006 for a failed connection). */
  code?: number;
  /** With `closed` after the server refused the token. */
  error?: AuthenticationError;
}

export interface SubscribeOptions {
  /**
   * Catch up first on every message (inbox and sent) with an id greater than
   * this, oldest first. Omit it for live messages only; `0` for everything.
   */
  afterId?: number;
  onMessage(message: LiveMessage): void | Promise<void>;
  onEvent?(event: SubscriptionEvent): void | Promise<void>;
  /** Every change of state: `live` at each `ready`, `reconnecting` with the wait, `closed` once. It starts as `connecting` (not reported). */
  onStateChange?(change: StateChange): void;
  /** Errors thrown by the callbacks above (the subscription carries on). Default: console.error. */
  onError?(error: unknown): void;
  /**
   * Asked when another device made a key version current that this client
   * cannot open yet (a `key_rotated` event): return the password to unlock it,
   * or null. Without it, messages for that version arrive `readable: false`.
   */
  passwordForNewKey?(keyId: number): string | null | Promise<string | null>;
  /** Backoff: the first retry waits up to this (full jitter), doubling per attempt. Default 500 ms. */
  minDelayMs?: number;
  /** Backoff ceiling. Default 30 s. After `4429` (too many connections) the wait is between half of this and this. */
  maxDelayMs?: number;
  /**
   * After this long without a frame from the server, send `{"type":"ping"}`;
   * if nothing arrives within as long again, the connection is taken as dead
   * and replaced. Default 30 s. Browsers cannot see the server's protocol
   * pings; in Node they count as frames, so an idle connection to a healthy
   * server sends no application pings there.
   */
  heartbeatMs?: number;
  /** A WebSocket constructor (default: the global one, else the `ws` package). */
  WebSocket?: WebSocketConstructor;
  /** Source of randomness for the jitter, in [0, 1) (tests). Default Math.random. */
  random?: () => number;
}

export interface Subscription {
  readonly state: SubscriptionState;
  /** The resume cursor: the largest message id received, or `ready.last_id` if larger. 0 before any. */
  readonly lastId: number;
  /** Resolves when the first catch-up is done (the first `ready`); rejects if the subscription closes before. */
  readonly ready: Promise<void>;
  /** Resolves once closed: null after `close()`, an `AuthenticationError` when the server refused the token. */
  readonly closed: Promise<AuthenticationError | null>;
  /** Stops for good: closes the socket and cancels any pending reconnection. */
  close(): void;
}

/** What the subscription needs from its client. */
export interface SubscriptionHost {
  baseUrl: string;
  token(): string | null;
  /** Opens and checks a message as `read` would (it may fetch it whole to check its signature). */
  open(message: Message): Promise<MailboxMessage>;
  /** Checks who wrote it, without decrypting (for a message that could not be opened). */
  check(message: Message): Promise<MessageTrust>;
  read(id: number): Promise<MailboxMessage>;
  /** Makes sure the private key of `keyId` is held, asking for the password if needed; true when it is. */
  ensureKey(keyId: number, password: (() => Promise<string | null>) | null): Promise<boolean>;
}

/** The part of the WebSocket API used here: the browser's and `ws`'s both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;
/** Close codes from API.md B 9. */
const UNAUTHORIZED = 4401;
const TOO_MANY = 4429;
/** Ours, when a connection stopped answering. */
const DEAD = 4000;

export function subscribe(host: SubscriptionHost, options: SubscribeOptions): Subscription {
  return new LiveSubscription(host, options);
}

class LiveSubscription implements Subscription {
  readonly ready: Promise<void>;
  readonly closed: Promise<AuthenticationError | null>;
  readonly #host: SubscriptionHost;
  readonly #options: SubscribeOptions;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #heartbeat: number;
  readonly #random: () => number;
  #state: SubscriptionState = 'connecting';
  /** Resume cursor; null until known (no afterId and no `ready` yet). */
  #cursor: number | null;
  #attempt = 0;
  #socket: WebSocketLike | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  #pingSent = false;
  /** Events are handled one after another, in the order they arrived. */
  #queue: Promise<void> = Promise.resolve();
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;
  #resolveClosed!: (value: AuthenticationError | null) => void;

  constructor(host: SubscriptionHost, options: SubscribeOptions) {
    this.#host = host;
    this.#options = options;
    this.#minDelay = options.minDelayMs ?? 500;
    this.#maxDelay = Math.max(options.maxDelayMs ?? 30_000, this.#minDelay);
    this.#heartbeat = options.heartbeatMs ?? 30_000;
    this.#random = options.random ?? Math.random;
    const afterId = options.afterId;
    if (afterId !== undefined && !(Number.isSafeInteger(afterId) && afterId >= 0)) throw new RangeError('afterId must be a whole number ≥ 0.');
    this.#cursor = afterId ?? null;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // only an error for those who wait for it
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    void this.#connect();
  }

  get state(): SubscriptionState {
    return this.#state;
  }

  get lastId(): number {
    return this.#cursor ?? 0;
  }

  close(): void {
    this.#finish(null, 1000);
  }

  // ── connection lifecycle ───────────────────────────────────────────────

  async #connect(): Promise<void> {
    let Socket: WebSocketConstructor;
    try {
      Socket = this.#options.WebSocket ?? (await defaultWebSocket());
    } catch (error) {
      this.#report(error);
      return this.#finish(null, 1006);
    }
    if (this.#state === 'closed') return;
    const token = this.#host.token();
    if (!token) return this.#finish(new AuthenticationError(401, 'Not logged in: there is no token to subscribe with.'), UNAUTHORIZED);

    let socket: WebSocketLike;
    try {
      socket = new Socket(webSocketUrl(this.#host.baseUrl));
    } catch (error) {
      // A malformed URL, or a browser refusing ws:// from an https:// page: retrying will not help.
      this.#report(error);
      return this.#finish(null, 1006);
    }
    this.#socket = socket;
    this.#armHeartbeat(); // also bounds a handshake that never completes
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      const auth: Record<string, unknown> = { type: 'auth', token };
      if (this.#cursor !== null) auth.after_id = this.#cursor;
      socket.send(JSON.stringify(auth));
      this.#armHeartbeat();
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      this.#armHeartbeat();
      this.#frame(event.data);
    };
    socket.onerror = () => {}; // a close event follows with the code
    // Node's `ws` shows the server's protocol pings (browsers answer them unseen): they prove the connection alive too.
    const emitter = socket as Partial<{ on(event: 'ping', listener: () => void): void }>;
    if (typeof emitter.on === 'function') emitter.on('ping', () => this.#socket === socket && this.#armHeartbeat());
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#lost(event.code);
    };
  }

  /** The connection ended: reconnect after a backoff, unless the server refused the token. */
  #lost(code: number): void {
    this.#clearHeartbeat();
    if (this.#state === 'closed') return;
    if (code === UNAUTHORIZED) {
      return this.#finish(new AuthenticationError(401, 'The server refused the session token (revoked, logged out or expired): log in again.'), code);
    }
    this.#attempt += 1;
    const ceiling = Math.min(this.#maxDelay, this.#minDelay * 2 ** (this.#attempt - 1));
    // Full jitter; after 4429 (too many connections) between half the ceiling and the ceiling.
    const delayMs = code === TOO_MANY ? Math.round(this.#maxDelay * (0.5 + this.#random() / 2)) : Math.round(ceiling * this.#random());
    this.#setState({ state: 'reconnecting', attempt: this.#attempt, delayMs, code });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#connect();
    }, delayMs);
  }

  #finish(error: AuthenticationError | null, code: number): void {
    if (this.#state === 'closed') return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#clearHeartbeat();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) closeQuietly(socket, 1000);
    this.#setState({ state: 'closed', attempt: this.#attempt, code, ...(error ? { error } : {}) });
    this.#rejectReady(error ?? new Error('The subscription was closed before it was ready.'));
    // Resolved after the events already received have been handled.
    void this.#queue.then(() => this.#resolveClosed(error));
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.#call(() => this.#options.onStateChange?.(change));
  }

  // ── heartbeat ──────────────────────────────────────────────────────────

  #armHeartbeat(): void {
    this.#clearHeartbeat();
    this.#pingSent = false;
    this.#heartbeatTimer = setTimeout(() => this.#silence(), this.#heartbeat);
  }

  #silence(): void {
    const socket = this.#socket;
    if (!socket) return;
    if (this.#pingSent || socket.readyState !== OPEN) {
      // Nothing since our ping (or the handshake never finished): replace the connection.
      this.#socket = null;
      closeQuietly(socket, DEAD);
      return this.#lost(DEAD);
    }
    this.#pingSent = true;
    socket.send('{"type":"ping"}');
    this.#heartbeatTimer = setTimeout(() => this.#silence(), this.#heartbeat);
  }

  #clearHeartbeat(): void {
    if (this.#heartbeatTimer) clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
  }

  // ── frames ─────────────────────────────────────────────────────────────

  /** Decides synchronously (in arrival order) what to do with a frame; the work is queued. */
  #frame(data: unknown): void {
    if (typeof data !== 'string') return; // the contract has text frames only
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof event.type !== 'string') return;
    switch (event.type) {
      case 'message': {
        const message = event.message as Message;
        const id = message?.id;
        if (isId(id)) {
          // Ids arrive in increasing order, so anything not above the cursor was delivered already
          // (a resend of what was in flight when the previous connection closed).
          if (this.#cursor !== null && id <= this.#cursor) return;
          this.#cursor = id;
        }
        const mailbox = event.mailbox === 'sent' ? 'sent' : 'inbox';
        return this.#enqueue(async () => this.#options.onMessage(await this.#openLive(message, mailbox)));
      }
      case 'ready': {
        const lastId = event.last_id;
        if (isId(lastId) || lastId === 0) this.#cursor = Math.max(this.#cursor ?? 0, lastId as number);
        this.#attempt = 0;
        this.#setState({ state: 'live', attempt: 0 });
        return this.#enqueue(async () => {
          this.#resolveReady();
          await this.#options.onEvent?.(event as SubscriptionEvent);
        });
      }
      case 'pong':
        return;
      case 'key_rotated': {
        const keyId = event.key_id;
        return this.#enqueue(async () => {
          const unlocked = isId(keyId) ? await this.#ensureKey(keyId) : false;
          await this.#options.onEvent?.({ ...event, type: 'key_rotated', key_id: keyId as number, unlocked });
        });
      }
      default:
        return this.#enqueue(async () => this.#options.onEvent?.(event as SubscriptionEvent));
    }
  }

  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue.then(async () => {
      try {
        await work();
      } catch (error) {
        this.#report(error);
      }
    });
  }

  async #ensureKey(keyId: number): Promise<boolean> {
    const ask = this.#options.passwordForNewKey;
    try {
      return await this.#host.ensureKey(keyId, ask ? async () => ask(keyId) : null);
    } catch (error) {
      this.#report(error);
      return false;
    }
  }

  /** Opens a message event like the inbox does; the attachment ciphertext is not in events. */
  async #openLive(message: Message, mailbox: 'inbox' | 'sent'): Promise<LiveMessage> {
    const isObject = typeof message === 'object' && message !== null;
    let opened: MailboxMessage;
    try {
      opened = await this.#host.open(isObject ? { ...message, encrypted_attachment: '' } : message);
    } catch (error) {
      // Keys locked (or cleared by a logout meanwhile), or the full message could not be fetched: still delivered, as unreadable.
      const reason = error instanceof DecryptionError ? error.message : 'it could not be opened';
      const trust = await this.#host.check(message).catch(() => uncheckedTrust(message, reason));
      opened = unreadable(message, reason, trust);
    }
    const id = opened.id;
    const info =
      isObject && message.has_attachment === true
        ? { name: typeof message.attachment_name === 'string' ? message.attachment_name : '', mime: typeof message.attachment_mime === 'string' ? message.attachment_mime : '' }
        : null;
    const host = this.#host;
    // A signed message with an attachment was fetched whole to check its signature: its attachment is decrypted already.
    const decrypted = opened.attachment;
    return {
      ...opened,
      attachment: null,
      raw: message,
      mailbox,
      attachmentInfo: info,
      async fetchAttachment() {
        if (!info || id === 0) return null;
        if (decrypted) return decrypted;
        const full = await host.read(id);
        if (!full.readable) throw new DecryptionError(`Message ${id} cannot be decrypted: ${full.reason}.`);
        return full.attachment;
      },
    } as LiveMessage;
  }

  /** Callbacks must not break the subscription. */
  #call(callback: () => unknown): void {
    try {
      const result = callback();
      if (result instanceof Promise) result.catch((error) => this.#report(error));
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    try {
      if (this.#options.onError) this.#options.onError(error);
      else console.error('securechat subscription:', error);
    } catch {
      // an onError that throws has nowhere left to report to
    }
  }
}

/** `http(s)://host/prefix` → `ws(s)://host/prefix/api/ws/`. */
export function webSocketUrl(baseUrl: string): string {
  const url = new URL(baseUrl.replace(/\/+$/, '') + '/api/ws/');
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** The browser's WebSocket, or in Node the `ws` package (loaded only then, so bundles for browsers never need it). */
async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === 'function') return global as WebSocketConstructor;
  const ws = await import('ws');
  return ws.WebSocket as unknown as WebSocketConstructor;
}

function closeQuietly(socket: WebSocketLike, code: number): void {
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.onerror = () => {};
  try {
    socket.close(code);
  } catch {
    // already closing
  }
}

function unreadable(message: Message, reason: string, trust: MessageTrust): UnreadableMessage {
  const m = (typeof message === 'object' && message !== null ? message : {}) as Partial<Message>;
  const user = (u: unknown): User => (typeof u === 'object' && u !== null && isId((u as User).id) && typeof (u as User).username === 'string' ? (u as User) : { id: 0, username: '' });
  return {
    id: isId(m.id) ? m.id : 0, sender: user(m.sender), recipient: user(m.recipient), sentAt: typeof m.sent_at === 'string' ? m.sent_at : '', raw: message,
    ...trust, readable: false, reason, text: null, attachment: null,
  };
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}
