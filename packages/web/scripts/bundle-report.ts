/**
 * After `vite build`: prints the SHA-256 of index.html and of every emitted
 * JavaScript file, in `sha256sum` format, so anyone can compare what a server
 * sends with what this source builds (`cd dist && sha256sum -c`), and the
 * gzip size of the JavaScript: what the first page load needs (the entry and
 * its static imports) and what is loaded lazily (e.g. the common-password list).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

/** The budget for the app's own JavaScript, gzip. */
const INITIAL_JS_BUDGET_BYTES = 120 * 1024;

interface ChunkFacts {
  fileName: string;
  initial: boolean;
}

export function bundleReport(): Plugin {
  let outDir = 'dist';
  let chunks: ChunkFacts[] = [];
  return {
    name: 'securechat-bundle-report',
    apply: 'build',
    enforce: 'post',
    writeBundle(options, bundle) {
      outDir = options.dir ?? outDir;
      const byName = new Map(Object.values(bundle).flatMap((item) => (item.type === 'chunk' ? [[item.fileName, item] as const] : [])));
      const initial = new Set<string>();
      const visit = (fileName: string) => {
        if (initial.has(fileName)) return;
        initial.add(fileName);
        for (const imported of byName.get(fileName)?.imports ?? []) visit(imported);
      };
      for (const chunk of byName.values()) if (chunk.isEntry) visit(chunk.fileName);
      chunks = [...byName.keys()].sort().map((fileName) => ({ fileName, initial: initial.has(fileName) }));
    },
    closeBundle() {
      const lines: string[] = [];
      let initialGzip = 0;
      let lazyGzip = 0;
      for (const { fileName, initial } of chunks) {
        const bytes = readFileSync(join(outDir, fileName));
        const gzip = gzipSync(bytes, { level: 9 }).length;
        if (initial) initialGzip += gzip;
        else lazyGzip += gzip;
        lines.push(`${sha256(bytes)}  ${fileName}    ${kib(gzip)} gzip, ${initial ? 'first load' : 'loaded lazily'}`);
      }
      lines.unshift(`${sha256(readFileSync(join(outDir, 'index.html')))}  index.html`);
      const verdict = initialGzip <= INITIAL_JS_BUDGET_BYTES ? 'within' : 'OVER';
      console.log(
        [
          '',
          'SecureChat web bundle — SHA-256 (compare with: cd packages/web/dist && sha256sum index.html assets/*.js)',
          ...lines.map((line) => `  ${line}`),
          `JavaScript, gzip: ${kib(initialGzip)} on first load (${verdict} the ${kib(INITIAL_JS_BUDGET_BYTES)} budget), ` +
            `${kib(lazyGzip)} lazily loaded, ${kib(initialGzip + lazyGzip)} in all.`,
          '',
        ].join('\n'),
      );
    },
  };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
