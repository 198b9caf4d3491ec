/** Runs the real `securechat` executable (bin/securechat.js, which runs the compiled dist/cli/main.js) as a child process, for CLI tests. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertBuilt } from '../../server/test/compiled.ts';

const BIN = fileURLToPath(new URL('../bin/securechat.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], stdin: string, env: Record<string, string>): Promise<Run> {
  assertBuilt('protocol', 'client');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

export interface RunningCli {
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once `predicate` holds for the output so far (checked on every chunk); rejects after `timeoutMs`. */
  until(predicate: (out: { stdout: string; stderr: string }) => boolean, timeoutMs?: number): Promise<void>;
  signal(name: NodeJS.Signals): void;
  /** Resolves with the exit code (or the signal's name). */
  exit: Promise<number | string>;
}

/** Starts the `securechat` executable and leaves it running (for `watch`); stdin gets `stdin`, then is closed. */
export function startCli(args: string[], stdin: string, env: Record<string, string>): RunningCli {
  assertBuilt('protocol', 'client');
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  const checks = new Set<() => void>();
  const check = () => checks.forEach((run) => run());
  child.stdout.on('data', (d) => ((stdout += d), check()));
  child.stderr.on('data', (d) => ((stderr += d), check()));
  const exit = new Promise<number | string>((resolve) => child.on('close', (code, signal) => (check(), resolve(code ?? signal ?? -1))));
  child.stdin.end(stdin);
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    until(predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          checks.delete(run);
        };
        const run = () => {
          if (predicate({ stdout, stderr })) done(), resolve();
          else if (child.exitCode !== null) done(), reject(new Error(`securechat exited (${child.exitCode}) first.\nstdout: ${stdout}\nstderr: ${stderr}`));
        };
        const timer = setTimeout(() => (done(), reject(new Error(`Timed out.\nstdout: ${stdout}\nstderr: ${stderr}`))), timeoutMs);
        checks.add(run);
        run();
      });
    },
    signal: (name) => void child.kill(name),
    exit,
  };
}
