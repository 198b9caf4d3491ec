/**
 * Realtime delivery (API B 9): `GET /api/ws/` (WebSocket) and
 * `GET /api/events/` (Server-Sent Events) over the domain's fan-out.
 * docs/realtime.md explains the protocol and why nothing is lost or repeated.
 *
 * @example
 * await app.register(realtimeRoutes, { ...routeOptions, realtime: realtimeOptions(config) });
 */
import websocket from '@fastify/websocket';
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { Config } from '../config.ts';
import { hashToken } from '../crypto/secrets.ts';
import { AppError, Unauthorized, ValidationError } from '../domain/errors.ts';
import { authSecurity, caller, requireAuth, tokenOf, type App, type RouteOptions } from '../http/context.ts';
import { errorResponses } from '../http/schemas.ts';
import { DEFAULT_REALTIME_OPTIONS, type RealtimeOptions, type StreamContext } from './event-stream.ts';
import { ConnectionHub } from './hub.ts';
import { afterIdOfUrl, parseCursor, tokenInUrl } from './request.ts';
import { SseConnection } from './sse.ts';
import { MAX_CLIENT_FRAME_BYTES, WebSocketConnection } from './websocket.ts';

export { LocalFanOut, NO_FAN_OUT, type FanOut, type FanOutEvent } from './fan-out.ts';
export type { RealtimeOptions } from './event-stream.ts';

export interface RealtimeRouteOptions extends RouteOptions {
  realtime: RealtimeOptions;
}

/** The limits from the configuration, the timings from their defaults; `overrides` lets tests shorten them. */
export function realtimeOptions(config: Config, overrides: Partial<RealtimeOptions> = {}): RealtimeOptions {
  return Object.freeze({
    ...DEFAULT_REALTIME_OPTIONS,
    maxConnectionsPerUser: config.realtimeMaxConnectionsPerUser,
    maxQueuedBytes: config.realtimeMaxQueuedBytes,
    ...overrides,
  });
}

/** Each app's hub, by its HTTP server (shared by every plugin scope): for tests and metrics. */
const hubs = new WeakMap<object, ConnectionHub>();

export function realtimeHubOf(app: { server: object }): ConnectionHub | undefined {
  return hubs.get(app.server);
}

class TooManyConnections extends AppError {
  readonly retryAfterSeconds = 30;
  constructor(max: number) {
    super(429, `At most ${max} realtime connections per user; close one first.`);
  }
}

const TOKEN_IN_URL = 'A token in the URL is never accepted; send it in the X-Auth-Token or Authorization header.';

export async function realtimeRoutes(app: App, options: RealtimeRouteOptions): Promise<void> {
  const { domain, realtime } = options;
  const hub = new ConnectionHub(realtime);
  hubs.set(app.server, hub);
  const context: StreamContext = { domain, options: realtime, log: app.log };

  // Registered in this scope only: the plugin's hooks then run for these routes, not for every request.
  await app.register(websocket, {
    options: { maxPayload: MAX_CLIENT_FRAME_BYTES },
    // Socket errors are the client's doing (a reset, a frame over maxPayload, a bad close code): `ws` has
    // already sent the close code where there is one. Logged at debug, not error, so clients cannot spam the log.
    errorHandler: (error, socket, request) => {
      request.log.debug({ err: error }, 'websocket error');
      socket.terminate();
    },
    // Replaces the plugin's default (close without a code): every connection, SSE too, gets 1001.
    preClose: async () => hub.shutdown(),
  });
  closeStrayUpgrades(app);

  app.route({
    method: 'GET',
    url: '/api/ws/',
    schema: {
      tags: ['realtime'],
      // No querystring schema: whatever the URL holds, an upgrade is accepted and refused with a close code.
      summary: 'Realtime events over a WebSocket (upgrade required; ?after_id=N to catch up first); see API.md B 9',
      response: { ...errorResponses(426) },
    },
    exposeHeadRoute: false,
    handler: async (_request, reply) => {
      reply.header('upgrade', 'websocket');
      throw new AppError(426, 'This endpoint speaks WebSocket: send an upgrade request.');
    },
    wsHandler: (socket, request) => {
      new WebSocketConnection(context, hub, socket, request).open();
    },
  });

  await app.register(async (authed: App) => {
    requireAuth(authed, domain.sessions);
    authed.get('/api/events/', {
      exposeHeadRoute: false,
      schema: {
        tags: ['realtime'],
        summary: 'Realtime events as Server-Sent Events (text/event-stream); see API.md B 9',
        security: authSecurity,
        querystring: Type.Object({ after_id: Type.Optional(Type.String({ description: 'catch up on every message with a larger id first' })) }),
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ description: 'resume: wins over after_id' })) }),
        response: { 200: Type.String({ description: 'text/event-stream' }), ...errorResponses(400, 401, 429) },
      },
      handler: async (request, reply) => {
        if (tokenInUrl(request.url)) throw new Unauthorized(TOKEN_IN_URL);
        const afterId = sseAfterId(request.headers['last-event-id'], request.url);
        const { user, sessionId } = caller(request);
        const connection = new SseConnection(context, hub, request.raw, reply.raw);
        if (!hub.add(connection)) throw new AppError(503, 'The server is shutting down.');
        if (!hub.admit(connection, user.id)) {
          hub.remove(connection);
          throw new TooManyConnections(realtime.maxConnectionsPerUser);
        }
        reply.hijack();
        await connection.start({ userId: user.id, sessionId, tokenHash: hashToken(tokenOf(request)!) }, afterId);
      },
    });
  });
}

/** An upgrade request that does not become a WebSocket is answered like a plain request; its socket is then idle. */
const STRAY_UPGRADE_IDLE_MS = 2_000;

/**
 * With the WebSocket plugin listening for upgrades, an upgrade request to
 * another path or method (`/healthz`, a 404, `POST /api/ws/`) gets its HTTP
 * answer on a socket that Node no longer manages: nothing would ever close
 * it. Every upgrade socket gets a short idle timeout; `ws` turns it off
 * (`setTimeout(0)`) on the sockets that really become WebSockets.
 */
function closeStrayUpgrades(app: App): void {
  // First among the upgrade listeners: `ws` may complete a handshake synchronously inside the plugin's listener.
  app.server.prependListener('upgrade', (_request: IncomingMessage, socket: Duplex) => {
    if (!(socket instanceof Socket)) return;
    socket.setTimeout(STRAY_UPGRADE_IDLE_MS);
    socket.once('timeout', () => socket.destroy());
  });
}

/** `Last-Event-ID` (an EventSource's automatic resume, the more recent cursor) wins over `after_id`. */
function sseAfterId(lastEventId: string | string[] | undefined, url: string): number | undefined {
  if (lastEventId !== undefined && lastEventId !== '') {
    const parsed = typeof lastEventId === 'string' ? parseCursor(lastEventId) : null;
    if (parsed === null) throw ValidationError.field('last-event-id', 'Last-Event-ID must be a non-negative integer.');
    return parsed;
  }
  const afterId = afterIdOfUrl(url);
  if (afterId === null) throw ValidationError.field('after_id', 'after_id must be a non-negative integer.');
  return afterId;
}
