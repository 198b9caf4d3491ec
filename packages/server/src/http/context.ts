/**
 * What every route module receives, and the per-request authentication.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Accounts } from '../domain/accounts.ts';
import type { Directory } from '../domain/directory.ts';
import type { Mail } from '../domain/mail.ts';
import type { Authenticated, Sessions } from '../domain/sessions.ts';
import type { Store } from '../store/ports.ts';
import type { FanOut } from '../realtime/fan-out.ts';
import { NotFound } from '../domain/errors.ts';

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface Domain {
  accounts: Accounts;
  directory: Directory;
  sessions: Sessions;
  mail: Mail;
  store: Store;
  /** Realtime events (B 9): the domain publishes after commits, connections subscribe. */
  fanOut: FanOut;
}

/** onRequest hook that limits a route's calls; see app.ts. */
export type RateLimitHook = (request: FastifyRequest) => Promise<void>;

/** The routes whose bodies may exceed the 64 KiB default: their limits, and the hook that reserves their memory (body-budget.ts). */
export interface LargeBodyOptions {
  reserveMemory: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  sendBodyBytes: number;
  passwordChangeBodyBytes: number;
}

export interface RouteOptions {
  domain: Domain;
  /** Applied to login, register and rotate; a no-op when limits are off. */
  authRateLimit: RateLimitHook;
  largeBodies: LargeBodyOptions;
  /** Limits clients may ask about (GET /api/limits/). */
  limits: { maxAttachmentBytes: number };
  /** What this instance is serving without (GET /readyz): e.g. Redis unreachable. */
  degradations: () => Array<{ component: string; detail: string }>;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: Authenticated | null;
  }
}

/** The token from `X-Auth-Token`, or from `Authorization: Bearer`. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-auth-token'];
  if (typeof header === 'string' && header !== '') return header.trim();
  const authorization = request.headers.authorization;
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1];
}

/**
 * Makes every route registered on `app` (an encapsulated plugin scope)
 * require a valid token; runs before the body is read.
 */
export function requireAuth(app: App, sessions: Sessions): void {
  app.addHook('onRequest', async (request) => {
    request.auth = await sessions.authenticate(tokenOf(request));
  });
}

/** The authenticated caller; only valid inside a `requireAuth` scope. */
export function caller(request: FastifyRequest): Authenticated {
  if (!request.auth) throw new Error('route is missing requireAuth');
  return request.auth;
}

export const authSecurity: Array<Record<string, string[]>> = [{ tokenHeader: [] }, { bearer: [] }];

/** A path id: a positive integer, else the resource is simply not found (404). */
export function parseId(raw: string, notFoundDetail: string): number {
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw new NotFound(notFoundDetail);
  return id;
}
