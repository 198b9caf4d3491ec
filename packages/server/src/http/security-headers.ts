/**
 * Headers on every answer: browsers must not guess a type other than the one
 * sent, and nothing may be cached — answers carry tokens, key envelopes and
 * mail. Routing errors (errors.ts) and SSE streams (realtime/sse.ts), which
 * are answered outside the hook, send the same ones.
 */
import type { App } from './context.ts';

export const SECURITY_HEADERS = Object.freeze({
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
});

export function useSecurityHeaders(app: App): void {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    done();
  });
}
