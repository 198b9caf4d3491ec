/**
 * A request answered before its body was read (401, 413, 503, 408): the
 * rest of the body is read and dropped for up to LINGER_MS, then the
 * connection is closed if the body still has not ended.
 *
 * Closing at once while the client is still sending makes the server's TCP
 * stack answer the arriving bytes with a reset, and a client that gets the
 * reset before it reads the answer never sees the 413 it was sent
 * (RFC 9112 §9.6, "tear-down"). Lingering costs a little bandwidth, no
 * memory: the bytes are dropped as they arrive.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const LINGER_MS = 2_000;

export function lingerThenClose(request: IncomingMessage, response: ServerResponse): void {
  const socket = request.socket;
  // In-process requests (app.inject) have a stand-in socket with nothing to close.
  if (typeof socket?.destroy !== 'function') return;
  response.once('finish', () => {
    if (request.complete) return;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
    request.once('end', () => clearTimeout(timer));
    request.once('close', () => clearTimeout(timer));
    request.resume();
  });
}
