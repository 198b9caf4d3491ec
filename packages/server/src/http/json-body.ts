/**
 * The only body parser: JSON. An empty body is "no body" (so bodiless POSTs
 * such as logout work from any client); other content types get 415.
 *
 * Top-level strings must be well-formed Unicode: a lone surrogate would be
 * silently replaced by U+FFFD when encoded as UTF-8, changing a password or
 * a message without telling its author.
 */
import { ValidationError } from '../domain/errors.ts';
import type { App } from './context.ts';

function assertWellFormedStrings(body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  for (const [field, value] of Object.entries(body)) {
    if (typeof value === 'string' && !value.isWellFormed()) {
      throw ValidationError.field(field, `${field} contains invalid Unicode (a lone surrogate).`);
    }
  }
}

export function useJsonBodies(app: App): void {
  app.removeAllContentTypeParsers();
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    parseJson(request, body as string, (error: Error | null, parsed?: unknown) => {
      if (error) return done(error, undefined);
      try {
        assertWellFormedStrings(parsed);
      } catch (invalid) {
        return done(invalid as Error, undefined);
      }
      done(null, parsed);
    });
  });
}
