/**
 * Tests run the workspace packages from their TypeScript sources. Each
 * package exports `source` → src/index.ts next to `default` →
 * dist/index.js (what node runs: npm start, the securechat bin, and the
 * processes tests spawn). Vitest resolves through Vite's conditions: the
 * SSR ones in its node environment, the client ones in a browser-like one;
 * both get `source` in front of Vite's defaults.
 *
 * @example
 * export default defineProject({ ...sourceConditions, test: { name: 'server' } });
 */
import { defaultClientConditions, defaultServerConditions } from 'vite';

export const sourceConditions = {
  resolve: { conditions: ['source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
};
