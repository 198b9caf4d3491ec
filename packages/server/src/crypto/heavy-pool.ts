/**
 * CPU-heavy cryptography (RSA key generation, PBKDF2, Argon2) runs on a small
 * pool of worker threads, never on the event loop. Two rules keep it from
 * slowing everyone else's requests down:
 *
 * - at most `cores - 1` threads (at least 1), so one core is always left for
 *   answering requests; further operations queue for a free thread;
 * - each thread runs at the lowest scheduling priority (nice 19, on Linux),
 *   so when a core is contended the event loop wins it. Libuv's shared thread
 *   pool could not do this: its threads also serve file I/O and DNS.
 *
 * A registration or login under load therefore waits longer, by design,
 * while sends and reads keep their latency.
 *
 * @example
 * const pair = await runHeavy('rsaKeyPair', { modulusLength: 2048 });
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface HeavyOperations {
  rsaKeyPair: { args: { modulusLength: number }; result: { publicKey: string; privateKey: string } };
  pbkdf2: { args: { password: Buffer; salt: Buffer; iterations: number; keyLength: number }; result: Uint8Array };
  argon2Hash: { args: { password: string; options: object }; result: string };
  argon2Verify: { args: { hash: string; password: string }; result: boolean };
}

type Operation = keyof HeavyOperations;

interface Task {
  id: number;
  op: Operation;
  args: unknown;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

const WORKER_URL = new URL('./heavy-worker.mjs', import.meta.url);
const size = Math.max(1, availableParallelism() - 1);
const idle: Worker[] = [];
const busy = new Map<Worker, Task>();
const waiting: Task[] = [];
let started = 0;
let nextId = 1;

export function runHeavy<K extends Operation>(op: K, args: HeavyOperations[K]['args']): Promise<HeavyOperations[K]['result']> {
  return new Promise((resolve, reject) => {
    waiting.push({ id: nextId++, op, args, resolve: resolve as Task['resolve'], reject });
    dispatch();
  });
}

function dispatch(): void {
  while (waiting.length > 0) {
    const worker = idle.pop() ?? (started < size ? startWorker() : undefined);
    if (!worker) return;
    const task = waiting.shift()!;
    busy.set(worker, task);
    worker.ref();
    worker.postMessage({ id: task.id, op: task.op, args: task.args });
  }
}

function startWorker(): Worker {
  started += 1;
  const worker = new Worker(WORKER_URL);
  worker.on('message', ({ result, error }: Reply) => {
    const task = busy.get(worker);
    busy.delete(worker);
    idle.push(worker);
    worker.unref(); // an idle pool thread must not keep the process alive
    if (error !== undefined) task?.reject(new Error(error));
    else task?.resolve(result);
    dispatch();
  });
  worker.on('error', (error) => retire(worker, error));
  worker.on('exit', (code) => retire(worker, new Error(`heavy-crypto thread exited with code ${code}`)));
  return worker;
}

/** A thread that died fails its current task; a new thread takes its place on demand. */
function retire(worker: Worker, error: Error): void {
  const index = idle.indexOf(worker);
  if (index >= 0) idle.splice(index, 1);
  const task = busy.get(worker);
  if (!busy.delete(worker) && index < 0) return; // already retired
  started -= 1;
  task?.reject(error);
  dispatch();
}
