/**
 * What signatures (API.md B 11) cost the SDK, with no server: the work the
 * SDK adds to a send and to opening a page of 50 messages, beside what
 * encrypting and decrypting cost anyway, and the once-per-contact work.
 * Measured twice with the same code (bench/lib/sdk-signature-costs.ts):
 *
 * - in Node, in this process (WebCrypto runs on libuv's thread pool);
 * - in headless Chromium (Debian's, at CHROMIUM_PATH or /usr/bin/chromium,
 *   driven by playwright-core with the launch flags of the browser tests):
 *   esbuild bundles the measuring code with the SDK's sources into one
 *   script, served from 127.0.0.1 with COOP/COEP headers — a secure context
 *   for WebCrypto, and cross-origin isolated so `performance.now()` is not
 *   coarsened to 100 µs.
 *
 * The two run one after the other, not at once, so neither takes the
 * other's core. Each figure is a median (see sdk-signature-costs.ts).
 * A cold chain also costs one `GET /api/users/{username}/keys/` per sender,
 * which is network time and not measured here (the fake host answers at once).
 *
 *   npx tsx bench/sdk-signatures.ts [--quick] [--no-chromium] [--write]
 *
 * `--write` puts the table into bench/RESULTS.md under "Signatures (SDK)"
 * (replacing that section, or appending it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureSdkSignatures, PAGE, VERSIONS, type Measurement } from './lib/sdk-signature-costs.ts';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 10 : 40;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** As packages/web/test/browser.ts launches it; Playwright adds a fresh temporary --user-data-dir. */
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const log = (where: string) => (line: string) => process.stderr.write(`[sdk-signatures] ${where}: ${line}\n`);

/** The measurements in Chromium, and its version; null (saying why) when it cannot run here. */
async function inChromium(): Promise<{ results: Measurement[]; version: string } | null> {
  if (process.argv.includes('--no-chromium')) return null;
  if (!existsSync(CHROMIUM_PATH)) {
    log('chromium')(`not found at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH): skipped`);
    return null;
  }
  const { build } = await import('esbuild'); // tsx's own esbuild
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./lib/sdk-signatures-page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'], // the workspace packages' TypeScript sources, as tests and tsx use them
    write: false,
  });
  const script = bundle.outputFiles[0]!.contents;
  const html = '<!doctype html><meta charset="utf-8"><title>sdk-signatures</title><link rel="icon" href="data:,"><script type="module" src="/bench.js"></script>';
  const server = createServer((request, response) => {
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
    if (request.url === '/') response.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' }).end(html);
    else if (request.url === '/bench.js') response.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' }).end(script);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: LAUNCH_ARGS });
  try {
    const page = await browser.newPage();
    page.on('console', (message) => log('chromium')(message.text()));
    page.on('pageerror', (error) => log('chromium')(`page error: ${error.message}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(`'measureSdkSignatures' in globalThis`);
    if (!(await page.evaluate(`globalThis.crossOriginIsolated`))) log('chromium')('not cross-origin isolated: the clock is coarse (sub-ms figures less precise)');
    // A string, not a function: tsx would compile a function with helpers (__name) that the page does not have.
    const results = (await page.evaluate(`globalThis.measureSdkSignatures({ runs: ${RUNS}, log: (line) => console.log(line) })`)) as Measurement[];
    return { results, version: browser.version() };
  } finally {
    await browser.close();
    server.close();
  }
}

const node = await measureSdkSignatures({ runs: RUNS, log: log('node') });
const chromium = await inChromium();

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const ms = (value: number | undefined) => (value === undefined ? '—' : value < 1 ? value.toFixed(3) : value.toFixed(2));
const byLabel = (results: Measurement[] | undefined, label: string) => results?.find((r) => r.label === label)?.ms;
const table = [
  '| what | Node ms | Chromium ms | note |',
  '| --- | --- | --- | --- |',
  ...node.map(({ label, ms: nodeMs, note }) => `| ${label} | ${ms(nodeMs)} | ${ms(byLabel(chromium?.results, label))} | ${note} |`),
].join('\n');

/** The figures a reader asks first, computed from the table. */
function summary(where: string, results: Measurement[] | undefined): string {
  if (!results) return `- ${where}: not measured`;
  const get = (label: string) => byLabel(results, label)!;
  const sign = get('send: sign a text message');
  const encrypt = get('send: encrypt that text (for comparison)');
  const page = get(`page of ${PAGE}: verify, chain cached`);
  const decrypt = get(`page of ${PAGE}: decrypt (for comparison)`);
  return (
    `- ${where}: signing a text send ${ms(sign)} ms (${Math.round((sign / encrypt) * 100)} % of its encryption); ` +
    `checking a page of ${PAGE} ${ms(page)} ms (${Math.round((page / decrypt) * 100)} % of decrypting it); ` +
    `safety number ${ms(get('safety number'))} ms (${ms(get('safety number, both halves at once (what-if)'))} ms with both halves at once)`
  );
}

const section = `## Signatures (SDK)

Written by \`npx tsx bench/sdk-signatures.ts --write\`: what B 11 costs the
SDK, without a server, in Node and in headless Chromium — the same code
(bench/lib/sdk-signature-costs.ts), bundled with the SDK's sources by esbuild
for the browser and served from 127.0.0.1 (cross-origin isolated, so the
clock is fine-grained). Medians of ${RUNS} samples each after warm-up, an
operation under 2 ms repeated within a sample. Messages carry a
~170-character text, 2048-bit RSA keys; the page is ${PAGE} messages from one
sender whose chain has ${VERSIONS} versions. A cold chain also costs one
\`GET /api/users/{username}/keys/\` per sender (not measured: network).

- date: ${new Date().toISOString()}
- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}${chromium ? `, Chromium ${chromium.version} (headless)` : ', Chromium not measured'}
- commit: ${commit}${quick ? ' (--quick)' : ''}

${table}

${summary('Node', node)}
${summary('Chromium', chromium?.results)}
`;
process.stdout.write(`${section}\n`);

if (process.argv.includes('--write')) {
  const file = new URL('RESULTS.md', import.meta.url);
  const current = readFileSync(file, 'utf8');
  const start = current.indexOf('\n## Signatures (SDK)\n');
  let next: string;
  if (start < 0) next = `${current.trimEnd()}\n\n${section}`;
  else {
    const after = current.indexOf('\n## ', start + 1);
    next = `${current.slice(0, start + 1)}${section}${after < 0 ? '' : `\n${current.slice(after + 1)}`}`;
  }
  writeFileSync(file, next);
  process.stderr.write('[sdk-signatures] bench/RESULTS.md updated\n');
}
