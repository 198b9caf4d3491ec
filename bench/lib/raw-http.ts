/**
 * Raw HTTP/1.1 over TCP to 127.0.0.1, for what an HTTP client will not do:
 * announce a body and hold it, drip bytes, never read the answer. Every
 * socket records when it closed and the status the server sent, if any.
 */
import { connect, type Socket } from 'node:net';

const HOST = '127.0.0.1';
const UPLOAD_SLICE = 2 ** 20;

/** The port of a http://127.0.0.1:<port> URL; attacks go nowhere else. */
export function portOf(url: string): number {
  const { hostname, port } = new URL(url);
  if (hostname !== HOST) throw new Error(`attacks only target ${HOST}, not ${hostname}`);
  return Number(port);
}

export function requestHead(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${HOST}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Resolves once `socket` can take more data or has closed, leaving no listener behind. */
function drainedOrClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done).off('close', done);
      resolve();
    };
    socket.once('drain', done).once('close', done);
  });
}

/** A connection whose fate is recorded (times in ms since it was opened). */
export class TrackedSocket {
  readonly socket: Socket;
  readonly openedAt = performance.now();
  status: number | null = null;
  answeredMs: number | null = null;
  closedMs: number | null = null;
  /** closed by the server (or the network), not by `destroy()` */
  closedByServer = false;
  error: string | null = null;
  readonly closed: Promise<void>;
  #firstBytes = '';
  #dropped = false;

  /** `read: false` pauses the socket at once: the answer is never read, the server meets backpressure. */
  constructor(port: number, { read = true }: { read?: boolean } = {}) {
    this.socket = connect({ host: HOST, port });
    this.socket.on('error', (error: NodeJS.ErrnoException) => (this.error ??= error.code ?? error.message));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.once('close', () => {
      this.closedMs = this.#elapsed();
      this.closedByServer = !this.#dropped;
    });
    if (read) this.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    else this.socket.pause();
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /**
   * Writes `data` 1 MiB at a time, waiting for the kernel to take each, and
   * stops early once the server has answered or closed (as a client that
   * reads while it uploads would).
   */
  async sendUntilAnswered(data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length; offset += UPLOAD_SLICE) {
      if (this.status !== null || !this.open || this.socket.destroyed) return;
      const flushed = this.socket.write(data.subarray(offset, offset + UPLOAD_SLICE));
      if (!flushed) await drainedOrClosed(this.socket);
    }
  }

  /** Resolves when a status line arrived or the socket closed, or after `timeoutMs`. */
  async answered(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.status === null && this.closedMs === null && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  get open(): boolean {
    return this.closedMs === null;
  }

  destroy(): void {
    if (this.closedMs === null) this.#dropped = true;
    this.socket.destroy();
  }

  #elapsed(): number {
    return performance.now() - this.openedAt;
  }

  #onData(chunk: Buffer): void {
    if (this.status !== null) return;
    this.#firstBytes += chunk.toString('latin1', 0, Math.min(chunk.length, 64));
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(this.#firstBytes);
    if (match) {
      this.status = Number(match[1]);
      this.answeredMs = this.#elapsed();
    }
  }
}

/** What `postWhole` saw. */
export interface WholePost {
  socket: TrackedSocket;
  /** ms from connecting to the status line, not counting the benchmark's pause before the last bytes */
  answeredMs: number | null;
  /** the status line came while the body's last bytes were still held back */
  beforeBodyEnd: boolean;
}

const HELD_BACK_BYTES = 64 * 1024;

/**
 * Sends a whole request (head + body with Content-Length) and waits for the
 * status line. The body's last 64 KiB are held back for `pauseMs`: a server
 * that answers from the headers (or the start of the body) does so within
 * the pause, one that needs the whole body cannot. Kernel buffers on
 * loopback are large enough to swallow a 30 MB body, so when the client
 * finished writing says nothing about what the server read; this does. The
 * connection is dropped once the answer came (stopping the upload), or
 * `timeoutMs` after the start.
 */
export async function postWhole(port: number, path: string, headers: Record<string, string>, body: Buffer, timeoutMs: number, pauseMs = 250): Promise<WholePost> {
  const socket = new TrackedSocket(port);
  const giveUp = setTimeout(() => socket.destroy(), timeoutMs);
  socket.send(requestHead('POST', path, { ...headers, 'Content-Length': body.length }));
  const cut = Math.max(0, body.length - HELD_BACK_BYTES);
  await socket.sendUntilAnswered(body.subarray(0, cut));
  const pauseStart = performance.now();
  await socket.answered(pauseMs);
  const beforeBodyEnd = socket.status !== null;
  const paused = beforeBodyEnd ? 0 : performance.now() - pauseStart;
  await socket.sendUntilAnswered(body.subarray(cut));
  await socket.answered(timeoutMs);
  clearTimeout(giveUp);
  socket.destroy();
  await socket.closed;
  return { socket, answeredMs: socket.answeredMs === null ? null : socket.answeredMs - paused, beforeBodyEnd };
}

/** Announces `announced` bytes of body, sends `part` of them and holds the connection open. */
export function holdBody(port: number, path: string, headers: Record<string, string>, announced: number, part: Buffer): TrackedSocket {
  const socket = new TrackedSocket(port);
  socket.send(requestHead('POST', path, { ...headers, 'Content-Length': announced }));
  socket.send(part);
  return socket;
}

/** Sends a GET and never reads the answer. */
export function nonReader(port: number, path: string, headers: Record<string, string>): TrackedSocket {
  const socket = new TrackedSocket(port, { read: false });
  socket.send(requestHead('GET', path, headers));
  return socket;
}

/** Connections that, once a second, each write one more byte of what they send. */
export class Dripper {
  readonly sockets: TrackedSocket[] = [];
  readonly #timer: NodeJS.Timeout;

  /** `openings[i]` is written at once; then `drip` is written to every open socket one byte a second. */
  constructor(port: number, openings: string[], drip: (second: number) => string) {
    for (const opening of openings) {
      const socket = new TrackedSocket(port);
      socket.send(opening);
      this.sockets.push(socket);
    }
    let second = 0;
    this.#timer = setInterval(() => {
      const byte = drip(second++).slice(0, 1);
      for (const socket of this.sockets) if (socket.open && !socket.socket.destroyed) socket.socket.write(byte);
    }, 1_000);
  }

  stop(): Promise<void> {
    clearInterval(this.#timer);
    for (const socket of this.sockets) socket.destroy();
    return Promise.all(this.sockets.map((socket) => socket.closed)).then(() => {});
  }
}

/** "413×18, reset (EPIPE)×2"-style counts of what a set of sockets saw: a status, else the client-side error, else nothing. */
export function statusCounts(sockets: Array<{ status: number | null; error: string | null }>): string {
  const counts = new Map<string, number>();
  for (const { status, error } of sockets) {
    const key = status !== null ? String(status) : error !== null ? `error ${error}` : 'no answer';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([status, n]) => `${status}×${n}`).join(', ');
}
