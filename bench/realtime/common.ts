/** What every realtime scenario shares: its options, a fresh server and a generator around it, formatting. */
import type { AttackResult, Goal } from '../lib/attack-report.ts';
import { startAttackServer, type AttackServer } from '../lib/attack-server.ts';
import { startGenerator, type Generator } from '../lib/realtime-generator.ts';

export interface RealtimeOptions {
  /** the shortened run of `npm run bench -- --quick` */
  quick: boolean;
  log(line: string): void;
  /** req/s of run.ts's send-text scenario in the same run, shown beside this run's own no-socket baseline */
  sendTextRps?: number;
}

export type RealtimeScenario = (options: RealtimeOptions) => Promise<AttackResult[]>;

/** Server-mode sends come from this many users, none of them connected (so no `sent` copies). */
export const SENDERS = 8;
/** The text of every send, as run.ts's send-text. */
export const TEXT = 'x'.repeat(256);
/** Open files beyond the sockets (database, pipes, the HTTP side). */
export const SPARE_FDS = 1_024;

/**
 * Runs `body` with a fresh server (rate limits off, LOG_LEVEL=warn) and a
 * generator process, each allowed `sockets` + SPARE_FDS open files; both are
 * stopped however `body` ends.
 */
export async function withServerAndGenerator<T>(sockets: number, body: (server: AttackServer, generator: Generator) => Promise<T>): Promise<T> {
  const server = await startAttackServer({}, { fdLimit: sockets + SPARE_FDS });
  try {
    const generator = await startGenerator(sockets + SPARE_FDS);
    try {
      return await body(server, generator);
    } finally {
      await generator.stop();
    }
  } finally {
    await server.stop();
  }
}

/** A number for a table: '–' for NaN, null (NaN through JSON) or undefined. */
export function num(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `{ "close 4429": 3 }` → "close 4429 ×3"; '' for none. */
export function counts(map: Record<string, number>): string {
  return Object.entries(map)
    .map(([key, n]) => `${key} ×${n}`)
    .join(', ');
}

/** Goal: `measured` is exactly 0. */
export function zero(what: string, measured: number, detail = ''): Goal {
  return { what, target: '0', measured: `${measured}${detail ? ` (${detail})` : ''}`, met: measured === 0 };
}

export type { AttackResult, Goal };
