/**
 * `GET /api/ws/` (API B 9): one WebSocket per connection, JSON text frames.
 *
 * Authentication comes from the upgrade's `X-Auth-Token` / `Authorization:
 * Bearer` header, or from a first frame `{"type":"auth","token":…,"after_id":N}`
 * within `authTimeoutMs`. Every failure accepts the upgrade and closes with
 * 4401 (browsers cannot read the status of a refused upgrade).
 *
 * Frames the server cannot use close this connection only: binary → 1003,
 * not a JSON object with a string `type` → 4400, larger than the socket's
 * maxPayload → 1009 (by `ws`), invalid UTF-8 → 1007 (by `ws`). Unknown
 * types are ignored, so clients may add some.
 *
 * @example
 * const ws = new WebSocket('ws://127.0.0.1:8000/api/ws/?after_id=41', { headers: { 'X-Auth-Token': token } });
 * ws.on('message', (data) => console.log(JSON.parse(String(data))));   // message…, ready, live…
 */
import type { FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { hashToken } from '../crypto/secrets.ts';
import { AppError } from '../domain/errors.ts';
import { tokenOf } from '../http/context.ts';
import { CLOSE, EventStream, PONG, type OutgoingEvent, type StreamContext, type Transport } from './event-stream.ts';
import type { ConnectionHub, HubConnection } from './hub.ts';
import { afterIdOfUrl, parseCursor, tokenInUrl } from './request.ts';

/** Largest frame a client may send (an auth frame is ~150 bytes); larger ones close with 1009. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

const OPEN = 1;

type State = 'awaiting-auth' | 'authenticating' | 'open' | 'closed';

export class WebSocketConnection implements HubConnection, Transport {
  readonly #context: StreamContext;
  readonly #hub: ConnectionHub;
  readonly #socket: WebSocket;
  readonly #request: FastifyRequest;
  #state: State = 'awaiting-auth';
  #stream: EventStream | null = null;
  #afterId: number | undefined;
  #authTimer: NodeJS.Timeout | null = null;
  #lastHeard = Date.now();
  /** Callbacks of paced sends not yet written: run on close so nothing waits forever. */
  readonly #waiting = new Set<() => void>();
  readonly gone: Promise<void>;
  #markGone!: () => void;

  constructor(context: StreamContext, hub: ConnectionHub, socket: WebSocket, request: FastifyRequest) {
    this.#context = context;
    this.#hub = hub;
    this.#socket = socket;
    this.#request = request;
    this.gone = new Promise((resolve) => (this.#markGone = resolve));
    socket.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    socket.on('pong', () => (this.#lastHeard = Date.now()));
    socket.on('close', () => this.#onClosed());
  }

  /** Runs once the upgrade is done: header authentication, or waiting for the auth frame. */
  open(): void {
    if (!this.#hub.add(this)) return this.close(CLOSE.goingAway, 'The server is shutting down.');
    const url = this.#request.url;
    if (tokenInUrl(url)) return this.close(CLOSE.unauthorized, 'A token in the URL is never accepted; use a header or the auth frame.');
    const afterId = afterIdOfUrl(url);
    if (afterId === null) return this.close(CLOSE.badRequest, 'after_id must be a non-negative integer.');
    this.#afterId = afterId;
    const token = tokenOf(this.#request);
    if (token !== undefined) {
      void this.#authenticate(token, afterId);
      return;
    }
    // Each socket waiting for its auth frame costs memory before anyone is known: their number is bounded.
    if (this.#hub.unauthenticated > this.#context.options.maxUnauthenticated) {
      return this.close(CLOSE.tryAgainLater, 'Too many connections are waiting to authenticate; try again later.');
    }
    this.#authTimer = setTimeout(
      () => this.close(CLOSE.unauthorized, 'No auth frame within the time allowed.'),
      this.#context.options.authTimeoutMs,
    ).unref();
  }

  // Transport, for the EventStream.

  get queuedBytes(): number {
    return this.#socket.bufferedAmount;
  }

  send(event: OutgoingEvent, whenWritten?: () => void): void {
    if (this.#socket.readyState !== OPEN) {
      whenWritten?.();
      return;
    }
    if (!whenWritten) {
      this.#socket.send(event.json);
      return;
    }
    this.#waiting.add(whenWritten);
    this.#socket.send(event.json, () => {
      if (this.#waiting.delete(whenWritten)) whenWritten();
    });
  }

  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stopTimer();
    this.#stream?.detach();
    this.#hub.remove(this);
    // A close reason has at most 123 bytes; ours are ASCII sentences below that.
    if (this.#socket.readyState === OPEN) this.#socket.close(code, reason.slice(0, 123));
    else this.#socket.terminate();
    this.#releaseWaiting();
  }

  // HubConnection.

  heartbeat(now: number): void {
    if (this.#state !== 'open') return;
    if (now - this.#lastHeard > this.#context.options.deadAfterMs) {
      this.#stream?.detach();
      this.#socket.terminate();
      return;
    }
    this.#socket.ping();
    void this.#stream?.checkSession().catch((error: unknown) => this.#context.log.error({ err: error }, 'realtime session check failed'));
  }

  shutdown(): void {
    this.#stream?.close(CLOSE.goingAway, 'The server is shutting down.');
    this.close(CLOSE.goingAway, 'The server is shutting down.');
  }

  destroy(): void {
    this.#stream?.detach();
    this.#socket.terminate();
  }

  async #authenticate(token: string, afterId: number | undefined): Promise<void> {
    this.#state = 'authenticating';
    let auth;
    try {
      auth = await this.#context.domain.sessions.authenticate(token);
    } catch (error) {
      if (error instanceof AppError && error.statusCode === 401) return this.close(CLOSE.unauthorized, error.message);
      this.#context.log.error({ err: error }, 'realtime authentication failed');
      return this.close(1011, 'Internal error.');
    }
    if (this.#state !== 'authenticating') return; // closed meanwhile
    if (!this.#hub.admit(this, auth.user.id)) return this.close(CLOSE.tooMany, 'Too many realtime connections for this user.');
    this.#state = 'open';
    this.#stream = new EventStream(this.#context, { userId: auth.user.id, sessionId: auth.sessionId, tokenHash: hashToken(token) }, this);
    await this.#stream.start(afterId);
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    this.#lastHeard = Date.now();
    if (this.#state === 'closed') return;
    if (isBinary) return this.close(CLOSE.unsupportedData, 'Frames must be JSON text.');
    let frame: unknown;
    try {
      frame = JSON.parse(String(data));
    } catch {
      return this.close(CLOSE.badRequest, 'Frames must be JSON.');
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame) || typeof (frame as { type?: unknown }).type !== 'string') {
      return this.close(CLOSE.badRequest, 'A frame must be a JSON object with a string "type".');
    }
    const { type } = frame as { type: string };
    if (this.#state === 'awaiting-auth') return this.#onAuthFrame(frame as Record<string, unknown>);
    if (type === 'ping') {
      if (this.#stream) this.#stream.pong();
      else this.send(PONG);
    }
    // Anything else (a second auth frame, types this server does not know) is ignored.
  }

  #onAuthFrame(frame: Record<string, unknown>): void {
    this.#stopTimer();
    if (frame.type !== 'auth' || typeof frame.token !== 'string') {
      return this.close(CLOSE.unauthorized, 'The first frame must be {"type":"auth","token":"…"}.');
    }
    let afterId = this.#afterId;
    if (frame.after_id !== undefined && frame.after_id !== null) {
      const parsed = parseCursor(frame.after_id);
      if (parsed === null) return this.close(CLOSE.badRequest, 'after_id must be a non-negative integer.');
      afterId = parsed;
    }
    void this.#authenticate(frame.token.trim(), afterId);
  }

  #onClosed(): void {
    this.#state = 'closed';
    this.#stopTimer();
    this.#stream?.detach();
    this.#hub.remove(this);
    this.#releaseWaiting();
    this.#markGone();
  }

  #stopTimer(): void {
    if (this.#authTimer) clearTimeout(this.#authTimer);
    this.#authTimer = null;
  }

  #releaseWaiting(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const resolve of waiting) resolve();
  }
}
