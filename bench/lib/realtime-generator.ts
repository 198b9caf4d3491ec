/** bench/realtime-worker.ts in its own process, and calls into it (bench/lib/realtime-protocol.ts). */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnNode } from './processes.ts';
import type { Op, Ops } from './realtime-protocol.ts';

export interface Generator {
  /** Calls `op` in the generator; rejects after `timeoutMs` or if the process exits. */
  call<K extends Op>(op: K, args: Ops[K]['args'], timeoutMs?: number): Promise<Ops[K]['result']>;
  pid: number;
  /** Ends the process: its stdin closes (it closes its sockets and exits), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/** Starts the generator with room for `fdLimit` open files. */
export async function startGenerator(fdLimit: number): Promise<Generator> {
  const child: ChildProcess = spawnNode('bench/realtime-worker.ts', [], { stdio: ['pipe', 'pipe', 'inherit'], fdLimit });
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let exited = false;
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const gone = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      for (const { reject } of waiting.values()) reject(new Error(`realtime generator exited (${signal ?? code})`));
      waiting.clear();
      resolve();
    }),
  );
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as { ready?: true; id?: number; result?: unknown; error?: string };
    if (message.ready) return started();
    const entry = waiting.get(message.id!);
    if (!entry) return;
    waiting.delete(message.id!);
    if (message.error !== undefined) entry.reject(new Error(`realtime generator: ${message.error}`));
    else entry.resolve(message.result);
  });
  const stop = async () => {
    if (exited) return;
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };
  await Promise.race([ready, gone.then(() => Promise.reject(new Error('realtime generator exited before it was ready')))]).catch(async (error) => {
    await stop();
    throw error;
  });
  return {
    pid: child.pid!,
    stop,
    call: <K extends Op>(op: K, args: Ops[K]['args'], timeoutMs = 300_000) =>
      new Promise<Ops[K]['result']>((resolve, reject) => {
        if (exited) return reject(new Error('realtime generator has exited'));
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`realtime generator: ${op} took over ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as Ops[K]['result']);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.stdin!.write(JSON.stringify({ id, op, args }) + '\n');
      }),
  };
}
