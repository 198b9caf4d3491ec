/**
 * `GET /api/events/` (API B 9): the realtime stream as Server-Sent Events,
 * written by hand on the raw response, for curl and tools. Header
 * authentication only (401 JSON otherwise, before anything is streamed);
 * resume with `Last-Event-ID` or `?after_id=`.
 *
 * Each event is `event: <type>`, `id: <message id>` (message events only)
 * and `data: <the WebSocket event's JSON>`, then a blank line. A comment
 * line every heartbeat keeps proxies and the server's own 60 s idle timeout
 * from closing a quiet stream.
 *
 * @example
 * curl -N http://127.0.0.1:8000/api/events/?after_id=0 -H "X-Auth-Token: $TOKEN"
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SECURITY_HEADERS } from '../http/security-headers.ts';
import { CLOSE, EventStream, type OutgoingEvent, type StreamContext, type StreamSession, type Transport } from './event-stream.ts';
import type { ConnectionHub, HubConnection } from './hub.ts';

const HEADERS = {
  ...SECURITY_HEADERS,
  'content-type': 'text/event-stream; charset=utf-8',
  // nginx: do not buffer this response (docs/realtime.md).
  'x-accel-buffering': 'no',
};
const COMMENT = ': keep-alive\n\n';

export class SseConnection implements HubConnection, Transport {
  readonly #context: StreamContext;
  readonly #hub: ConnectionHub;
  readonly #request: IncomingMessage;
  readonly #response: ServerResponse;
  #stream: EventStream | null = null;
  #closed = false;
  /** Last time the queue emptied, shrank or drained: a reader stuck for deadAfterMs is dropped. */
  #progressAt = Date.now();
  #queuedAtLastBeat = 0;
  readonly #waiting = new Set<() => void>();
  readonly gone: Promise<void>;
  #markGone!: () => void;

  constructor(context: StreamContext, hub: ConnectionHub, request: IncomingMessage, response: ServerResponse) {
    this.#context = context;
    this.#hub = hub;
    this.#request = request;
    this.#response = response;
    this.gone = new Promise((resolve) => (this.#markGone = resolve));
  }

  /** Starts streaming: headers, then catch-up, `ready`, live events. */
  async start(session: StreamSession, afterId: number | undefined): Promise<void> {
    this.#response.once('close', () => this.#onClosed());
    if (this.#response.destroyed || this.#request.socket.destroyed) return this.#onClosed(); // gone before we began
    this.#response.on('drain', () => (this.#progressAt = Date.now()));
    this.#response.writeHead(200, HEADERS);
    this.#response.write(': SecureChat events\n\n');
    this.#stream = new EventStream(this.#context, session, this);
    await this.#stream.start(afterId);
  }

  // Transport.

  get queuedBytes(): number {
    return this.#response.writableLength;
  }

  send(event: OutgoingEvent, whenWritten?: () => void): void {
    if (this.#closed || this.#response.destroyed) {
      whenWritten?.();
      return;
    }
    const chunk = event.id === undefined ? `event: ${event.type}\ndata: ${event.json}\n\n` : `event: ${event.type}\nid: ${event.id}\ndata: ${event.json}\n\n`;
    if (!whenWritten) {
      this.#response.write(chunk);
      return;
    }
    this.#waiting.add(whenWritten);
    this.#response.write(chunk, () => {
      if (this.#waiting.delete(whenWritten)) whenWritten();
    });
  }

  close(code: number, _reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream?.detach();
    this.#hub.remove(this);
    // A reader too slow for what is queued, or an error: cut it. Otherwise end cleanly after what is queued.
    if (code === CLOSE.tooSlow || code === 1011) this.#response.destroy();
    else this.#response.end();
    this.#releaseWaiting();
  }

  // HubConnection.

  heartbeat(now: number): void {
    if (this.#closed) return;
    // (socket.bytesWritten counts queued bytes too, so progress is read from the queue itself.)
    const queued = this.#response.writableLength;
    if (queued === 0 || queued < this.#queuedAtLastBeat) this.#progressAt = now;
    else if (now - this.#progressAt > this.#context.options.deadAfterMs) return this.destroy();
    this.#queuedAtLastBeat = queued;
    this.#response.write(COMMENT);
    void this.#stream?.checkSession().catch((error: unknown) => this.#context.log.error({ err: error }, 'realtime session check failed'));
  }

  shutdown(): void {
    this.close(CLOSE.goingAway, 'The server is shutting down.');
  }

  destroy(): void {
    this.#stream?.detach();
    this.#hub.remove(this);
    this.#closed = true;
    this.#response.destroy();
    this.#releaseWaiting();
  }

  #onClosed(): void {
    this.#closed = true;
    this.#stream?.detach();
    this.#hub.remove(this);
    this.#releaseWaiting();
    this.#markGone();
  }

  #releaseWaiting(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const resolve of waiting) resolve();
  }
}
