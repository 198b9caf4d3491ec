/** The benchmark's table, its JSON record and the committed summary. */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { renderAttacks, type AttackResult } from './attack-report.ts';

export interface Row {
  scenario: string;
  rps?: number;
  p50?: number;
  p90?: number;
  p99?: number;
  errors?: number;
  cpuMsPerRequest?: number;
  /** our req/s ÷ the floor's, where a floor applies */
  vsFloor?: number;
  note?: string;
}

const fmt = (value: number | undefined, digits = 0) => (value === undefined ? '' : value.toFixed(digits));

export function renderTable(rows: Row[], markdown = false): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors', 'CPU ms/req', 'vs floor', 'note'];
  const body = rows.map((r) => [r.scenario, fmt(r.rps), fmt(r.p50, 1), fmt(r.p90, 1), fmt(r.p99, 1), fmt(r.errors), fmt(r.cpuMsPerRequest, 2), r.vsFloor === undefined ? '' : `${(r.vsFloor * 100).toFixed(0)} %`, r.note ?? '']);
  if (markdown) return [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => row[i]!.length)));
  return [header, ...body].map((cells) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export function saveResults(rows: Row[], extra: Record<string, unknown>, quick: boolean): string {
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = new URL(`${stamp}${quick ? '-quick' : ''}.json`, dir);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine: machine(), commit: commit(), quick, rows, ...extra }, null, 2) + '\n');
  return file.pathname;
}

export function writeSummary(rows: Row[], notes: string[], attacks: AttackResult[] = [], realtime: AttackResult[] = []): void {
  const realtimeSection = realtime.length
    ? `
## Realtime scenarios

\`bench/realtime.ts\`, each on a fresh server; the clients (raw WebSockets
with header auth) and the REST senders run in one generator process
(\`bench/realtime-worker.ts\`), autocannon in another, /healthz is polled
every 20 ms from a third. RSS and /healthz as in the attack table, over the
scenario's measured phase.

${renderAttacks(realtime, true, 'scenario')}
`
    : '';
  const attackSection = attacks.length
    ? `
## Attack scenarios

Each on a fresh server (\`bench/attacks.ts\`): peak RSS sampled every 50 ms,
growth over the idle RSS just before the attack, /healthz latency from a
separate process polling every 20 ms.

${renderAttacks(attacks, true)}
`
    : '';
  const text = `# Benchmark results

Written by \`npm run bench\` (full run). Ratios compare our server with the
floor server (\`bench/floor-server.ts\`: the per-message cryptography alone, no
auth, no database) measured in the same run on the same machine.

- date: ${new Date().toISOString()}
- machine: ${machine()}
- commit: ${commit()}

${renderTable(rows, true)}

${notes.map((n) => `- ${n}`).join('\n')}
${attackSection}${realtimeSection}`;
  const file = new URL('../RESULTS.md', import.meta.url);
  writeFileSync(file, `${text}\n${keptSections(file)}`);
}

/** Marks where RESULTS.md's hand-written sections start (single measurements, analyses): a full run rewrites what is above it only. */
const KEPT_MARKER = '<!-- Sections below are written by hand and kept by npm run bench. -->';

function keptSections(file: URL): string {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(KEPT_MARKER);
  return at === -1 ? `${KEPT_MARKER}\n` : old.slice(at);
}
