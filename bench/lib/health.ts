/** bench/health-probe.ts in its own process, and what it measured. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** /healthz latencies (ms) seen while a probe ran; a poll with no answer within 10 s counts as 10 s and a failure. */
export interface HealthStats {
  slowestMs: number;
  p50Ms: number;
  p99Ms: number;
  polls: number;
  failures: number;
  /** polls of 100 ms or more: when they started (ms after the probe's first poll) and how long they took (at most 100 listed) */
  slow?: { atMs: number; ms: number }[];
}

export interface HealthProbe {
  /** Ends the probe; resolves with its statistics. */
  stop(): Promise<HealthStats>;
}

/** Starts polling `url`/healthz every 20 ms from another process; resolves once a few polls are done. */
export async function startHealthProbe(url: string): Promise<HealthProbe> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/health-probe.ts', url], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  while (!output.includes('ready')) {
    if (child.exitCode !== null) throw new Error(`health probe exited (${child.exitCode})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // a few polls before the load
  return {
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin!.end();
        await exited;
      }
      return JSON.parse(output.slice(output.indexOf('{'))) as HealthStats;
    },
  };
}
