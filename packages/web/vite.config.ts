import preact from '@preact/preset-vite';
import { defaultClientConditions, defineConfig } from 'vite';
import { bundleReport } from './scripts/bundle-report.ts';
import { commonPasswords } from './scripts/common-passwords-plugin.ts';

/** Where `vite` / `vite preview` send /api (HTTP and the WebSocket) while developing. */
const apiTarget = process.env.SECURECHAT_API_URL ?? 'http://127.0.0.1:8123';
const proxy = { '/api': { target: apiTarget, ws: true } };

export default defineConfig({
  plugins: [preact(), commonPasswords(), bundleReport()],
  // `source`: workspace packages (the SDK, the protocol) are bundled from their TypeScript sources.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    target: 'es2022',
    // The polyfill would be inline code, which the server's CSP (script-src 'self') refuses.
    modulePreload: { polyfill: false },
    // No data: URLs in the CSS: the CSP allows images from 'self' and blob: only.
    assetsInlineLimit: 0,
    rolldownOptions: {
      output: {
        // The lazily loaded password list gets a name that says what it is (else "dist", after its package folder).
        chunkFileNames: (chunk) => `assets/${chunk.moduleIds.some((id) => id.includes('common-passwords')) ? 'common-passwords' : chunk.name}-[hash].js`,
      },
    },
  },
  server: { proxy },
  preview: { proxy },
});
