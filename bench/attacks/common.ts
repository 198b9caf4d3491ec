/** What every attack scenario shares: its options, a fresh server around it, small statistics. */
import type { AttackResult } from '../lib/attack-report.ts';
import { startAttackServer, type AttackServer } from '../lib/attack-server.ts';

export interface AttackOptions {
  /** the shortened run of `npm run bench -- --quick` */
  quick: boolean;
  log(line: string): void;
}

export type Attack = (options: AttackOptions) => Promise<AttackResult[]>;

/** Runs `body` against a fresh server that is stopped (and its database removed) however `body` ends. */
export async function withServer<T>(env: Record<string, string>, body: (server: AttackServer) => Promise<T>): Promise<T> {
  const server = await startAttackServer(env);
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The q-quantile (0–1) of some numbers; NaN for none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const seconds = (ms: number | null) => (ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`);
