/** Fixtures for the realtime tests: a listening server, a WebSocket client that records frames, an SSE client. */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { buildApp } from '../src/app.ts';
import type { App } from '../src/http/context.ts';
import type { RealtimeOptions } from '../src/realtime/index.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { testConfig, testDatabase } from './helpers.ts';

export interface LiveServer {
  app: App;
  store: Store;
  /** http://127.0.0.1:port */
  url: string;
  /** ws://127.0.0.1:port */
  wsUrl: string;
  close(): Promise<void>;
}

/**
 * A real listening server; `file: true` puts the database in a temporary file (the writer-thread path). With
 * SECURECHAT_TEST_STORE=postgres, a PostgreSQL schema of its own instead, file or not (test-database.ts).
 */
export async function startLiveServer(
  options: { env?: Record<string, string>; realtime?: Partial<RealtimeOptions>; file?: boolean } = {},
): Promise<LiveServer> {
  const dir = options.file ? mkdtempSync(join(tmpdir(), 'securechat-rt-')) : null;
  const database = await testDatabase(options.env?.DATABASE_URL ?? (dir ? `sqlite:${join(dir, 'db.sqlite')}` : undefined));
  const config = testConfig({ ...options.env, DATABASE_URL: database.url });
  const store = await openStore(config.databaseUrl);
  const app = await buildApp({ config, store, realtime: options.realtime });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  let closed = false;
  return {
    app,
    store,
    url: `http://127.0.0.1:${address.port}`,
    wsUrl: `ws://127.0.0.1:${address.port}`,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await store.close();
      await database.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Frame {
  type: string;
  [key: string]: any;
}

/** A WebSocket client that records every frame and the close. */
export class WsClient {
  readonly socket: WebSocket;
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<() => void> = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    this.socket.on('error', () => {});
    this.socket.on('message', (data) => {
      this.raw.push(String(data));
      this.frames.push(JSON.parse(String(data)));
      this.#wake();
    });
    this.socket.on('close', () => this.#wake());
  }

  static async open(server: LiveServer, path = '/api/ws/', headers: Record<string, string> = {}): Promise<WsClient> {
    const client = new WsClient(server.wsUrl + path, headers);
    await client.opened;
    return client;
  }

  send(value: unknown): void {
    this.socket.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Waits until `predicate(frames)` holds; fails after `timeoutMs` (a hang guard, not a measurement) or if the socket closes first. */
  async until(predicate: (frames: Frame[]) => boolean, timeoutMs = 20_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`closed while waiting; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; ${this.frames.length} frames: ${JSON.stringify(this.frames.slice(-3))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames;
  }

  /** The frame list once a `ready` has come. */
  ready(): Promise<Frame[]> {
    return this.until((frames) => frames.some((f) => f.type === 'ready'));
  }

  messages(): Frame[] {
    return this.frames.filter((f) => f.type === 'message');
  }

  close(): void {
    this.socket.close();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

export interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** An SSE client on node:http that parses the stream into events (and counts comment lines). */
export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  status = 0;
  headers: IncomingMessage['headers'] = {};
  body = '';
  readonly ended: Promise<void>;
  readonly responded: Promise<void>;
  #buffer = '';
  #request;
  #response: IncomingMessage | null = null;
  #waiters: Array<() => void> = [];
  #done = false;

  constructor(url: string, headers: Record<string, string> = {}) {
    let markEnded!: () => void;
    let markResponded!: () => void;
    this.ended = new Promise((resolve) => (markEnded = resolve));
    this.responded = new Promise((resolve) => (markResponded = resolve));
    this.#request = httpRequest(url, { headers }, (response) => {
      this.#response = response;
      this.status = response.statusCode ?? 0;
      this.headers = response.headers;
      markResponded();
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (this.status !== 200) {
          this.body += chunk;
          return;
        }
        this.#buffer += chunk;
        this.#parse();
        this.#wake();
      });
      const end = () => {
        this.#done = true;
        markEnded();
        this.#wake();
      };
      response.on('end', end);
      response.on('close', end);
      response.on('error', end);
    });
    this.#request.on('error', () => {
      this.#done = true;
      markResponded();
      markEnded();
      this.#wake();
    });
    this.#request.end();
  }

  get done(): boolean {
    return this.#done;
  }

  async until(predicate: (events: SseEvent[]) => boolean, timeoutMs = 20_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (this.#done) throw new Error(`stream ended while waiting; events: ${JSON.stringify(this.events.map((e) => e.event))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; ${this.events.length} events`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }

  close(): void {
    this.#request.destroy();
  }

  /** Stops reading (the socket's buffers fill up), as a stuck reader would. */
  pause(): void {
    this.#response?.pause();
  }

  resume(): void {
    this.#response?.resume();
  }

  #parse(): void {
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const event: Partial<SseEvent> & { dataLines: string[] } = { dataLines: [] };
      let comment = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comment = true;
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('id: ')) event.id = line.slice(4);
        else if (line.startsWith('data: ')) event.dataLines.push(line.slice(6));
        else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
      }
      if (comment && event.dataLines.length === 0) {
        this.comments += 1;
        continue;
      }
      this.events.push({ event: event.event!, id: event.id, data: JSON.parse(event.dataLines.join('\n')) });
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Polls `condition` until it holds (a hang guard of `timeoutMs`, not a measurement). */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
