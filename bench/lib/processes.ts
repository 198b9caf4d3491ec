/** Child processes for the benchmark, and what /proc says about them. */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ
/** The server as npm start runs it: compiled by npm run build (npm run bench builds first). */
export const SERVER_MAIN = 'packages/server/dist/main.js';

export interface Service {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The soft and hard limits on open files of this process (from /proc). */
export function fileLimits(): { soft: number; hard: number } {
  const line = /Max open files\s+(\S+)\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  const parse = (value: string | undefined) => (value === undefined || value === 'unlimited' ? Infinity : Number(value));
  return { soft: parse(line?.[1]), hard: parse(line?.[2]) };
}

/**
 * `node <script>` (`node --import tsx <script>` for a .ts one: the bench's
 * own tools), with its open-file limit raised to `fdLimit` (through
 * `sh -c 'ulimit -n'`, then exec: the pid stays node's) when this process's
 * soft limit is lower. Fails if the hard limit is.
 */
export function spawnNode(script: string, args: string[], options: { env?: NodeJS.ProcessEnv; stdio: StdioOptions; fdLimit?: number }): ChildProcess {
  if (!existsSync(resolve(ROOT, script))) throw new Error(`${script} does not exist${script.includes('/dist/') ? ': run npm run build' : ''}`);
  const node = [process.execPath, ...(script.endsWith('.ts') ? ['--import', 'tsx'] : []), script, ...args];
  const { env = process.env, stdio, fdLimit } = options;
  if (fdLimit === undefined || fileLimits().soft >= fdLimit) return spawn(node[0]!, node.slice(1), { cwd: ROOT, env, stdio });
  const { hard } = fileLimits();
  if (hard < fdLimit) throw new Error(`${script} needs ${fdLimit} open files, but the hard limit (ulimit -Hn) is ${hard}`);
  return spawn('/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec "$@"`, 'sh', ...node], { cwd: ROOT, env, stdio });
}

/**
 * Starts `<script>` (see spawnNode) on a free port and waits until it
 * answers HTTP (the server may log nothing at LOG_LEVEL=warn).
 */
export async function startService(script: string, env: Record<string, string>, { fdLimit }: { fdLimit?: number } = {}): Promise<Service> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnNode(script, [], { env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'], ...(fdLimit ? { fdLimit } : {}) });
  let errors = '';
  child.stderr!.on('data', (chunk) => (errors += chunk));
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`${script} exited (${child.exitCode}):\n${errors}`);
    if (attempt > 300) throw new Error(`${script} did not answer on ${url}`);
    try {
      await fetch(url);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** user + system CPU time of a process, in milliseconds. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Bytes a process has caused to be written to storage (/proc/<pid>/io, write_bytes), its threads included. */
export function writtenBytes(pid: number): number {
  const match = /^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return Number(match![1]);
}

export function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/** Runs one autocannon load in its own process. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load-worker.ts', JSON.stringify(spec)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load worker exited ${code}`))));
  });
}
