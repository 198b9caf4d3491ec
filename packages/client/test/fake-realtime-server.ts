/**
 * A scripted stand-in for the server's realtime endpoint (API.md B 9), for
 * deterministic tests of reconnection, backoff, resume and dedup: the test
 * decides every frame and every close. It also answers the two HTTP calls a
 * subscription makes (`GET /api/keys/`, `GET /api/messages/{id}/`).
 *
 * @example
 * const fake = await startFakeRealtimeServer();
 * const conn = await fake.nextConnection();
 * expect(await conn.auth).toEqual({ type: 'auth', token: 't', after_id: 0 });
 * conn.send({ type: 'ready', last_id: 0 });
 * conn.close(1001);
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Envelope, Message } from '@securechat/protocol';

export interface FakeConnection {
  /** The upgrade request's URL (path and query) and headers. */
  url: string;
  headers: IncomingMessage['headers'];
  /** The first frame, parsed. */
  auth: Promise<Record<string, unknown>>;
  /** Every frame the client sent, parsed (non-JSON as the raw string). */
  frames: unknown[];
  send(event: unknown): void;
  sendRaw(data: string | Buffer): void;
  close(code: number, reason?: string): void;
  /** Drops the TCP connection without a close frame (the client sees 1006). */
  terminate(): void;
  /** Sends a protocol-level ping (the client's WebSocket answers it by itself). */
  ping(): void;
  /** Resolves with the client's close code. */
  closed: Promise<number>;
}

export interface FakeRealtimeServer {
  url: string;
  /** Envelopes `GET /api/keys/` answers with (newest first). */
  envelopes: Envelope[];
  /** Messages `GET /api/messages/{id}/` answers with, by id. */
  messages: Map<number, Message>;
  /** Resolves with the next WebSocket connection (already made or yet to come), in order. */
  nextConnection(): Promise<FakeConnection>;
  /** How many WebSocket connections were made so far. */
  connectionCount(): number;
  /** Paths of the HTTP requests seen. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeRealtimeServer(): Promise<FakeRealtimeServer> {
  const envelopes: Envelope[] = [];
  const messages = new Map<number, Message>();
  const requests: string[] = [];
  const pending: FakeConnection[] = [];
  const waiting: ((connection: FakeConnection) => void)[] = [];
  const sockets = new Set<WebSocket>();
  let count = 0;

  const http = createServer((req, res) => {
    requests.push(req.url ?? '');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const messageId = /^\/api\/messages\/(\d+)\/?$/.exec(path)?.[1];
    if (path === '/api/keys/') return json(200, envelopes);
    if (messageId && messages.has(Number(messageId))) return json(200, messages.get(Number(messageId)));
    json(404, { detail: 'Not found.' });
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/api/ws/') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      count += 1;
      sockets.add(ws);
      const frames: unknown[] = [];
      let gotAuth!: (frame: Record<string, unknown>) => void;
      const auth = new Promise<Record<string, unknown>>((resolve) => (gotAuth = resolve));
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data) => {
        let frame: unknown;
        try {
          frame = JSON.parse(String(data));
        } catch {
          frame = String(data);
        }
        frames.push(frame);
        if (frames.length === 1) gotAuth(frame as Record<string, unknown>);
      });
      const connection: FakeConnection = {
        url: req.url ?? '',
        headers: req.headers,
        auth,
        frames,
        send: (event) => ws.send(JSON.stringify(event)),
        sendRaw: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
        terminate: () => ws.terminate(),
        ping: () => ws.ping(),
        closed,
      };
      const waiter = waiting.shift();
      if (waiter) waiter(connection);
      else pending.push(connection);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    envelopes,
    messages,
    requests,
    nextConnection: () => {
      const ready = pending.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    connectionCount: () => count,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
