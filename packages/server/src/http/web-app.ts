/**
 * The browser client (packages/web, built by Vite) on the API's own origin:
 * hashed assets under /assets/ cached for a year, index.html for `/` and any
 * other page path (the app routes itself), always revalidated.
 *
 * Every answer from here carries the strict Content-Security-Policy below
 * (@fastify/helmet, registered in this scope only, so the API's hot paths
 * pay nothing for it): scripts and styles only from this origin, images also
 * from `blob:` (decrypted previews), no framing, no plugins, no inline code.
 *
 * @example
 * await app.register(webApp, { root: '/srv/securechat/packages/web/dist' });
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from './context.ts';
import { notFoundHandler } from './errors.ts';

export const CONTENT_SECURITY_POLICY = Object.freeze({
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'blob:'],
  'connect-src': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
});

const HASHED_ASSET_CACHE = 'public, max-age=31536000, immutable';
const PAGE_CACHE = 'no-cache';

/** Paths of the API, operations and assets: an unknown one is a JSON 404, never the app's page. */
const NOT_A_PAGE = /^\/(?:api(?:\/|$)|healthz|readyz|metrics|assets\/)/;

export interface WebAppOptions {
  /** The Vite build's output directory (holding index.html and assets/). */
  root: string;
}

export async function webApp(app: App, { root }: WebAppOptions): Promise<void> {
  const built = existsSync(join(root, 'index.html'));
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { ...CONTENT_SECURITY_POLICY } },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  });
  if (!built) {
    app.log.warn({ root }, 'web client not built: run `npm run build` to serve it at /');
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(404).send({ detail: 'The web client is not built on this server. Run `npm run build` (npm ci runs it too), then restart the server.' }),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    index: false,
    cacheControl: false,
    // Replaces the no-store that every answer starts with (security-headers.ts).
    setHeaders: (reply, path) => reply.header('cache-control', path.startsWith(join(root, 'assets')) ? HASHED_ASSET_CACHE : PAGE_CACHE),
  });
  const page = (request: FastifyRequest, reply: FastifyReply) => {
    if (NOT_A_PAGE.test(request.url)) return notFoundHandler(request, reply);
    return reply.header('cache-control', PAGE_CACHE).sendFile('index.html');
  };
  app.get('/', { schema: { hide: true } }, page);
  app.get('/*', { schema: { hide: true } }, page);
}
